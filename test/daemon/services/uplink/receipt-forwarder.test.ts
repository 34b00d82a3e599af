/**
 * The receipt forwarder on its own, with a journal that answers as told: a receipt
 * of several pages goes to the store whole, a cancelled transaction sends none, a
 * receipt the journal no longer holds is counted and logged as missing (never
 * waited for), and a journal that does not answer is asked again until it does,
 * with one warning, not one per attempt. The event's offset (`done`) moves only
 * once the store acknowledged the receipt, or it was found missing.
 */
import t from 'tap';
import { Writable } from 'node:stream';
import { createLogger } from '../../../../daemon/core/log.js';
import { CommandError } from '../../../../daemon/events/command.js';
import type { ReceiptPage } from '../../../../daemon/services/journal/service.js';
import type { LaneReceipt } from '../../../../daemon/services/uplink/contract.js';
import { ReceiptForwarder } from '../../../../daemon/services/uplink/receipts.js';

type Line = ReceiptPage['lines'][number];
const line = (n: number): Line => ({
  line: `L-${n}`,
  gtin: `0400000000000${n}`,
  name: `Item ${n}`,
  unit: 'each',
  quantity: 1,
  unitPrice: 100 * n,
  price: 100 * n,
});

function page(txn: string, lines: Line[], from: number, lineCount: number): ReceiptPage {
  return {
    txn,
    status: 'completed',
    currency: 'EUR',
    closed: '2026-12-04T10:00:05.000Z',
    lines,
    removed: [],
    total: 600,
    payments: [],
    interventions: [],
    overrides: [],
    page: { from, lineCount, removedCount: 0 },
  } as ReceiptPage;
}

const recorded = (txn: string, status: string): Buffer =>
  Buffer.from(JSON.stringify({ id: `ev-${txn}`, type: 'ReceiptRecorded', txn, time: '2026-12-04T10:00:06.000Z', data: { status } }));

function forwarder(show: (txn: string, from: number) => Promise<ReceiptPage>, publishErr?: Error) {
  const logs: Array<{ level: number; msg: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) logs.push(JSON.parse(l.replace(/^<\d>/, '')) as { level: number; msg: string });
      done();
    },
  });
  const published: LaneReceipt[] = [];
  const counts: string[] = [];
  const asked: Array<{ txn: string; from: number }> = [];
  const f = new ReceiptForwarder({
    ids: { storeId: 'store-1', laneId: 'lane-1' },
    currency: 'EUR',
    log: createLogger({ level: 'debug', destination: sink }),
    show: (txn, from) => {
      asked.push({ txn, from });
      return show(txn, from);
    },
    publish: (receipt, done) => {
      published.push(receipt);
      setImmediate(() => done(publishErr));
    },
    counted: (r) => counts.push(r),
    retryMs: 5,
  });
  // the retry timers are unref'd (they never hold a stopping daemon): the test keeps the process up
  const send = (payload: Buffer) => {
    const up = setInterval(() => undefined, 1000);
    return new Promise<Error | undefined>((resolve) => f.send(payload, resolve)).finally(() => clearInterval(up));
  };
  return { f, logs, published, counts, asked, send };
}

t.test('a receipt of several pages reaches the store whole, once acknowledged', async (t) => {
  const all = [1, 2, 3].map(line);
  const { published, counts, asked, send } = forwarder(async (txn, from) => page(txn, all.slice(from, from + 2), from, 3));
  t.equal(await send(recorded('T-1', 'completed')), undefined, 'done without an error');
  t.same(
    asked.map((a) => a.from),
    [0, 2],
    'asked for the first page, then from the third line',
  );
  t.equal(published.length, 1);
  t.same(
    published[0].lines.map((l) => l.line),
    ['L-1', 'L-2', 'L-3'],
    'every line of both pages',
  );
  t.match(published[0], {
    receiptId: 'ev-T-1',
    revision: 1,
    storeId: 'store-1',
    laneId: 'lane-1',
    txn: 'T-1',
    status: 'completed',
    recorded: '2026-12-04T10:00:06.000Z',
    total: 600,
  });
  t.same(counts, ['sent']);
});

t.test('an amended receipt goes again as the next revision, naming the one it replaces', async (t) => {
  const { published, counts, send } = forwarder(async (txn, from) => page(txn, [line(1)], from, 1));
  const amended = Buffer.from(
    JSON.stringify({
      id: 'ev-T-1b',
      type: 'ReceiptAmended',
      txn: 'T-1',
      time: '2026-12-04T10:00:09.000Z',
      data: { status: 'completed', revision: 2, supersedes: 'ev-T-1' },
    }),
  );
  t.equal(await send(recorded('T-1', 'completed')), undefined);
  t.equal(await send(amended), undefined);
  t.match(published, [
    { receiptId: 'ev-T-1', revision: 1, recorded: '2026-12-04T10:00:06.000Z' },
    { receiptId: 'ev-T-1b', revision: 2, supersedes: 'ev-T-1', txn: 'T-1', recorded: '2026-12-04T10:00:09.000Z' },
  ]);
  t.notOk('supersedes' in published[0], 'the first revision replaces nothing');
  t.same(counts, ['sent', 'sent']);
});

t.test('a cancelled transaction and a malformed event send nothing', async (t) => {
  const { published, asked, send } = forwarder(async (txn, from) => page(txn, [], from, 0));
  t.equal(await send(recorded('T-2', 'cancelled')), undefined);
  t.equal(await send(Buffer.from('{not json')), undefined);
  t.equal(await send(Buffer.from(JSON.stringify({ id: 'x', data: { status: 'completed' } }))), undefined, 'no txn: nothing to ask for');
  t.equal(asked.length, 0, 'the journal was not asked');
  t.equal(published.length, 0);
});

t.test('a receipt the journal no longer holds is counted missing and logged, not waited for', async (t) => {
  const { published, counts, logs, send } = forwarder(async (txn) => {
    throw new CommandError(`no receipt for ${txn}`, 'not-found');
  });
  t.equal(await send(recorded('T-3', 'completed')), undefined, 'done: the offset moves on');
  t.equal(published.length, 0);
  t.same(counts, ['missing']);
  const error = logs.find((l) => l.level === 50);
  t.match(error?.msg, /receipt of T-3 is no longer in the journal/);
});

t.test('a journal that does not answer is asked again until it does, with one warning', async (t) => {
  let failures = 3;
  const { published, counts, logs, asked, send } = forwarder(async (txn, from) => {
    if (failures-- > 0) throw new Error('no reply from journal within 5 s');
    return page(txn, [line(1)], from, 1);
  });
  t.equal(await send(recorded('T-4', 'completed')), undefined);
  t.equal(asked.length, 4, 'three failures, then the answer');
  t.equal(published.length, 1, 'sent once it answered');
  t.same(counts, ['sent']);
  const warnings = logs.filter((l) => l.level === 40);
  t.equal(warnings.length, 1, 'one warning, not one per attempt');
  t.match(warnings[0]?.msg, /receipt of T-4 not read from the journal \(no reply from journal within 5 s\); asked again/);
});

t.test('a receipt the store did not acknowledge leaves its event not done', async (t) => {
  const { counts, send } = forwarder(async (txn, from) => page(txn, [line(1)], from, 1), new Error('connection lost'));
  const err = await send(recorded('T-5', 'completed'));
  t.match(err?.message, /connection lost/);
  t.same(counts, [], 'not counted as sent');
});

t.test('stopping ends the retries', async (t) => {
  const { f, asked, published } = forwarder(async () => {
    throw new Error('journal busy');
  });
  f.send(recorded('T-6', 'completed'), () => undefined);
  await new Promise((r) => setTimeout(r, 30));
  f.stop();
  const n = asked.length;
  t.ok(n >= 1, 'it was asked');
  await new Promise((r) => setTimeout(r, 30));
  t.equal(asked.length, n, 'no more attempts after stop');
  t.equal(published.length, 0);
});
