import t, { type Test } from 'tap';
import { join } from 'node:path';
import { Credentials } from '../../broker/credentials.js';
import { startDaemon, tempDir, writeConfig, query, type RunningDaemon } from '../helpers/daemon.js';
import { until } from '../helpers/lane.js';
import { LaneSession, SIM_DEVICES } from '../helpers/session.js';
import type { Json } from '../helpers/json.js';

// Acceptance: `laned` as a child process, SIGKILLed in the middle of a
// transaction and in the middle of a payment; after the restart the transaction
// goes on, every event of it exists exactly once, and the card is charged once.

const COLA = { code: '5449000000996', g: 350 };
const BUTTER = { code: '2100000000029', g: 256 };
const MILK = { code: '2100000000012', g: 1040 };

t.test('SIGKILL mid-transaction and mid-payment', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  const configFile = writeConfig(dir, {
    devices: SIM_DEVICES,
    services: {
      weightcheck: { enabled: true, notBaggedTimeoutMs: 60_000 },
      payment: { enabled: true, terminal: { kind: 'simulated', delayMs: 2500 } },
    },
  });
  // One daemon at a time on the state directory: booted at the start and after each kill.
  let d: RunningDaemon | undefined;
  let lane!: LaneSession;
  const boot = async (): Promise<void> => {
    const since = new Date().toISOString();
    d = await startDaemon({ configFile, stateDir });
    const creds = Credentials.readGenerated(stateDir);
    lane = await LaneSession.open({ attach: { brokerUrl: d.brokerUrl, stateDir, since, password: (role) => creds[role]! } });
  };
  const crashAndRestart = async (t: Test): Promise<void> => {
    await lane.close();
    t.equal(await d!.kill('SIGKILL'), 'SIGKILL', 'killed by SIGKILL');
    await boot();
  };
  t.teardown(async () => {
    await lane?.close();
    await d?.kill('SIGKILL');
  });
  await boot();
  const ledger = (txn: string) =>
    query<{ state: string; charged: number }>(
      join(stateDir, 'payment-terminal.db'),
      'SELECT state, charged FROM sim_ledger WHERE reference = ? ORDER BY created',
      [txn],
    ).catch(() => [] as Array<{ state: string; charged: number }>);

  await t.test('killed in the middle of a transaction: it continues after the restart', async (t) => {
    const l1 = await lane.scanItem(COLA.code);
    const txn = l1.txn!;
    await lane.scanItem(BUTTER.code);
    // No waiting for the consumers: whatever was in flight must be taken up again.
    await crashAndRestart(t);
    await lane.quiesce();
    t.equal(lane.docs.get('basket').txn, txn, 'the basket is still open after the restart');
    await lane.scanItem(MILK.code);
    await lane.bagTo(COLA.g + BUTTER.g + MILK.g);
    await lane.pay();
    const st = lane.streams(txn);
    t.same(
      st.basket.map(([type, d]: Json) => [type, d.line ?? d.payment ?? null]),
      [
        ['TransactionStarted', null],
        ['ItemAddedToBasket', 'L1'],
        ['ItemAddedToBasket', 'L2'],
        ['ItemAddedToBasket', 'L3'],
        ['PaymentRequested', `${txn}-P1`],
        ['TransactionCompleted', `${txn}-P1`],
      ],
      'every basket event once',
    );
    t.same(st.weightcheck, [['WeightVerified', { key: 'w:@WeightHasChanged', lines: ['L1', 'L2', 'L3'], expectedG: 1646, actualG: 1646, clears: [] }]]);
    t.same(
      st.payment.map(([type]) => type),
      ['PaymentStarted', 'PaymentAuthorized'],
    );
    t.same(st.journal, [['ReceiptRecorded', { status: 'completed', total: 99 + 229 + 109, currency: 'EUR', items: 3 }]]);
    t.same(
      (await lane.receipt(txn)).lines.map((l: Json) => l.line),
      ['L1', 'L2', 'L3'],
    );
    t.same(await ledger(txn), [{ state: 'approved', charged: 1 }]);
    await lane.leave();
  });

  await t.test('killed while the terminal is taking the card: finished once after the restart', async (t) => {
    const l1 = await lane.scanItem(COLA.code);
    const txn = l1.txn!;
    await lane.bagTo(COLA.g);
    const { payment } = await lane.ok('basket', 'Pay');
    await lane.waitFor((e) => e.type === 'PaymentStarted' && e.data.payment === payment, 'payment started');
    await until(async () => (await ledger(txn)).length === 1, 20_000, 'the terminal has the payment');
    t.same(await ledger(txn), [{ state: 'pending', charged: 0 }], 'killed while the card is being read');
    await crashAndRestart(t);
    await lane.waitFor((e) => e.type === 'TransactionCompleted' && e.txn === txn, 'completed after the restart');
    await lane.quiesce();
    t.same(await ledger(txn), [{ state: 'approved', charged: 1 }], 'charged exactly once');
    t.same(
      lane.streams(txn).payment.map(([type, d]: Json) => [type, d.payment]),
      [
        ['PaymentStarted', payment],
        ['PaymentAuthorized', payment],
      ],
    );
    t.equal(
      lane.count((e) => e.type === 'TransactionCompleted' && e.txn === txn),
      1,
    );
    const rows = await query<{ state: string; tries: number }>(join(stateDir, 'payment.db'), 'SELECT state, tries FROM payments WHERE payment = ?', [payment]);
    t.same(rows, [{ state: 'authorized', tries: 2 }], 'asked twice with the same idempotency key');
    await lane.leave();
  });

  await t.test('killed just after the terminal approved: no second charge', async (t) => {
    const l1 = await lane.scanItem(BUTTER.code);
    const txn = l1.txn!;
    await lane.bagTo(BUTTER.g);
    const { payment } = await lane.ok('basket', 'Pay');
    await until(async () => (await ledger(txn))[0]?.state === 'approved', 20_000, 'the terminal approved');
    await crashAndRestart(t);
    await lane.waitFor((e) => e.type === 'TransactionCompleted' && e.txn === txn, 'completed after the restart');
    await lane.quiesce();
    t.same(await ledger(txn), [{ state: 'approved', charged: 1 }], 'charged exactly once');
    t.equal(
      lane.count((e) => e.type === 'PaymentAuthorized' && e.data.payment === payment),
      1,
      'authorized once',
    );
    t.equal(
      lane.count((e) => e.type === 'TransactionCompleted' && e.txn === txn),
      1,
      'completed once',
    );
    t.equal(
      lane.count((e) => e.type === 'ReceiptRecorded' && e.txn === txn),
      1,
      'one receipt',
    );
  });
});
