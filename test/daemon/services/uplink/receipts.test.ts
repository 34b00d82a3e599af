/**
 * Completed receipts for the store's ERP on `…/receipt/<receiptId>`: the whole
 * receipt as the journal recorded it (lines, total, payments, ids, times), one per
 * completed transaction, none for a cancelled one. A receipt completed while the
 * store broker is away, with the lane killed (SIGKILL) and started again meanwhile,
 * reaches the store once it is back: it travels from the journal's log like the
 * events. A receipt changed by an event heard after the close goes again as its next
 * revision. Every arrival of a receipt id carries the same receipt.
 */
import t from 'tap';
import type { MqttClient } from 'mqtt';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Credentials } from '../../../../broker/credentials.js';
import { LaneReceipt } from '../../../../daemon/services/uplink/contract.js';
import { until } from '../../../helpers/lane.js';
import { LaneSession, SIM_DEVICES } from '../../../helpers/session.js';
import { storeBroker } from '../../../helpers/store-broker.js';
import { startLaneFor } from './fixture.js';

const COLA = { code: '5449000000996', g: 350 };
const PEN = { code: '4006381333931', g: 12 };
const checkReceipt = TypeCompiler.Compile(LaneReceipt);

t.test('completed receipts reach the store on their own topic', async (t) => {
  const b = await storeBroker('store-5', ['lane-4']);
  await b.start();
  t.teardown(() => b.stop());
  const prefix = 'store/store-5/lane/lane-4';
  // the ERP: a durable subscriber of the lane's receipts, across restarts of the store broker
  const erp: MqttClient = await b.connect('store-erp', { clean: false });
  t.teardown(() => erp.end(true));
  const arrivals: Array<{ topic: string; receipt: LaneReceipt }> = [];
  erp.on('message', (topic, payload) => arrivals.push({ topic, receipt: JSON.parse(payload.toString('utf8')) as LaneReceipt }));
  await erp.subscribeAsync(`${prefix}/receipt/+`, { qos: 1 });
  const storeEvents: string[] = [];
  const events: MqttClient = await b.connect('store-events');
  t.teardown(() => events.end(true));
  events.on('message', (_topic, payload) => storeEvents.push((JSON.parse(payload.toString('utf8')) as { id: string }).id));
  await events.subscribeAsync(`${prefix}/evt/+/+`, { qos: 1 });

  const lane = await startLaneFor(b, 'lane-4', {
    probe: false,
    config: { devices: SIM_DEVICES },
    services: { payment: { enabled: true, terminal: { kind: 'simulated', delayMs: 50 } } },
  });
  t.teardown(() => lane.kill('SIGKILL'));
  let session: LaneSession | undefined;
  const attach = async (since: string): Promise<LaneSession> => {
    const creds = Credentials.readGenerated(lane.stateDir);
    session = await LaneSession.open({ attach: { brokerUrl: lane.d.brokerUrl, stateDir: lane.stateDir, since, password: (role) => creds[role]! } });
    return session;
  };
  t.teardown(() => session?.close());
  let s = await attach('');
  await until(async () => ((await lane.status()) as { uplink: { connected: boolean } }).uplink.connected, 30_000, 'the uplink connected');

  /** One sale, paid; its ReceiptRecorded event. */
  const sale = async (item: { code: string; g: number }, count: number): Promise<{ txn: string; recorded: { id: string; time: string } }> => {
    let txn = '';
    for (let i = 0; i < count; i++) {
      txn = (await s.scanItem(item.code)).txn!;
      await s.bag(item.g);
    }
    const paid = await s.pay();
    t.equal(paid.outcome.type, 'PaymentAuthorized', `${txn} paid`);
    const recorded = s.events.find((e) => e.type === 'ReceiptRecorded' && e.txn === txn)!;
    await s.leave();
    return { txn, recorded: { id: recorded.id, time: recorded.time } };
  };
  const receiptsOf = (id: string): LaneReceipt[] => arrivals.filter((a) => a.topic === `${prefix}/receipt/${id}`).map((a) => a.receipt);

  // 1: a sale of two cans
  const first = await sale(COLA, 2);
  await until(() => receiptsOf(first.recorded.id).length > 0, 30_000, `the receipt of ${first.txn} at the store`);
  const r1 = receiptsOf(first.recorded.id)[0];
  t.ok(checkReceipt.Check(r1), `the receipt matches its schema: ${JSON.stringify([...checkReceipt.Errors(r1)].slice(0, 2))}`);
  t.match(r1, {
    receiptId: first.recorded.id,
    storeId: 'store-5',
    laneId: 'lane-4',
    txn: first.txn,
    status: 'completed',
    started: String,
    closed: String,
    recorded: first.recorded.time,
    currency: 'EUR',
    total: 198,
    lines: [
      { line: 'L1', gtin: COLA.code.padStart(14, '0'), name: 'Cola, 0.33 l can', quantity: 1, unitPrice: 99, price: 99 },
      { line: 'L2', gtin: COLA.code.padStart(14, '0'), quantity: 1, price: 99 },
    ],
    payments: [{ amount: 198, outcome: 'authorized', authCode: /^[0-9]{6}$/ }],
  });
  t.equal(r1.lines.length, 2, 'both lines');

  // 2: an event of the transaction that reaches the journal after the close changes the
  // receipt: a call for an attendant still open when the shopper paid is cleared by the
  // close itself ('transaction-ended'). The store gets the receipt again as revision 2,
  // naming the one it replaces; its newest revision is the complete receipt.
  const callTxn = (await s.scanItem(PEN.code)).txn!;
  await s.bag(PEN.g);
  const call = (await s.ok('attendant', 'Call', {}, { as: 'ui' })) as { intervention: string };
  const called = await s.pay();
  t.equal(called.outcome.type, 'PaymentAuthorized', `${callTxn} paid with the call open`);
  const callRecorded = s.events.find((e) => e.type === 'ReceiptRecorded' && e.txn === callTxn)!;
  await s.waitFor((e) => e.source === 'attendant' && e.type === 'InterventionCleared' && e.txn === callTxn, `the call in ${callTxn} cleared by the close`);
  await s.quiesce();
  const amendments = s.events.filter((e) => e.type === 'ReceiptAmended' && e.txn === callTxn);
  await s.leave();
  await until(() => receiptsOf(callRecorded.id).length > 0, 30_000, `the receipt of ${callTxn} at the store`);
  const rev1 = receiptsOf(callRecorded.id)[0];
  t.match(rev1, { txn: callTxn, revision: 1, total: 129 });
  const clearedAt = (r: LaneReceipt) => r.interventions.find((i) => i.intervention === call.intervention)?.resolution;
  // The journal hears the basket's close and the attendant's clearing from two sources; in
  // the rare order where the clearing is heard first, the receipt is complete at the close.
  if (amendments.length > 0) {
    t.equal(amendments.length, 1, 'the late clearing amended the receipt once');
    const amendmentId = amendments[0]!.id;
    await until(() => receiptsOf(amendmentId).length > 0, 30_000, `the amended receipt of ${callTxn} at the store`);
    const rev2 = receiptsOf(amendmentId)[0];
    t.ok(checkReceipt.Check(rev2), 'the amended receipt matches its schema');
    t.match(rev2, { txn: callTxn, revision: 2, supersedes: callRecorded.id, total: 129 });
    t.equal(clearedAt(rev2), 'transaction-ended', 'the newest revision shows the call cleared by the close');
  } else {
    t.comment('the clearing was heard before the close: one revision');
    t.equal(clearedAt(rev1), 'transaction-ended', 'the receipt shows the call cleared by the close');
  }
  const callIds = [callRecorded.id, ...amendments.map((e) => e.id)];

  // 3: a cancelled transaction has no receipt for the ERP (its ReceiptRecorded still goes as an event)
  const cancelled = (await s.scanItem(PEN.code)).txn!;
  await s.bag(PEN.g);
  await s.ok('basket', 'Cancel', {}, { as: 'technician' });
  await s.waitFor((e) => e.type === 'ReceiptRecorded' && e.txn === cancelled, `the cancelled ${cancelled} recorded`);
  const cancelledId = s.events.find((e) => e.type === 'ReceiptRecorded' && e.txn === cancelled)!.id;
  await s.leave();
  await until(() => storeEvents.includes(cancelledId), 30_000, 'the cancelled ReceiptRecorded event at the store');

  // 4: the store broker away while a sale completes, and the lane killed and started again meanwhile
  await b.stop();
  const second = await sale(PEN, 1);
  const backlog = async (): Promise<number> => ((await lane.status()) as { uplinkBacklog: number }).uplinkBacklog;
  await until(async () => (await backlog()) > 0, 30_000, 'the uplink counts what waits');
  t.equal(receiptsOf(second.recorded.id).length, 0, 'nothing reached the stopped store');
  await s.close();
  session = undefined;
  await lane.kill('SIGKILL');
  const since = new Date().toISOString();
  await lane.restart();
  s = await attach(since);
  await b.start();
  await until(() => receiptsOf(second.recorded.id).length > 0, 60_000, `the receipt of ${second.txn} at the store after the outage`);
  await until(async () => (await backlog()) === 0, 30_000, 'the uplink has nothing left to send');
  const r2 = receiptsOf(second.recorded.id)[0];
  t.ok(checkReceipt.Check(r2), 'the late receipt matches its schema');
  t.match(r2, { txn: second.txn, total: 129, lines: [{ gtin: PEN.code.padStart(14, '0'), price: 129 }], payments: [{ amount: 129, outcome: 'authorized' }] });

  // one receipt id per completed transaction, each arrival of one id the same receipt
  const ids = [...new Set(arrivals.map((a) => a.receipt.receiptId))].sort();
  t.same(ids, [first.recorded.id, ...callIds, second.recorded.id].sort(), 'a receipt for each completed transaction and amendment, none for the cancelled one');
  for (const id of ids) {
    const all = receiptsOf(id).map((r) => JSON.stringify(r));
    t.equal(new Set(all).size, 1, `${id}: ${all.length} arrival(s), all the same receipt`);
  }
});
