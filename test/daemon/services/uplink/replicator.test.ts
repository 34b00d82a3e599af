/**
 * The replication loop on its own (a real SQLite store, the store link replaced by
 * a recorder): it hands the store link a bounded batch per turn of the event loop,
 * while the store is away it holds a bounded window of events ahead of its offset, and
 * under a rate limit (a shopper's transaction open) it sends no faster than allowed.
 */
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Store } from '../../../../daemon/store/store.js';
import { silentLogger } from '../../../../daemon/core/log.js';
import { MAX_PENDING, RATE_BURST, Replicator, SEND_BATCH } from '../../../../daemon/services/uplink/replicator.js';
import { tempDir } from '../../../helpers/daemon.js';
import { until } from '../../../helpers/lane.js';

async function replicator(t: Test, ready: { now: boolean }, limit: { perSecond?: number } = {}) {
  const store = await Store.open(join(tempDir('laned-replicator-'), 'uplink.db'));
  t.teardown(() => store.close());
  const sent: number[] = [];
  const replays: Array<[number, number]> = [];
  const r = new Replicator({
    store,
    log: silentLogger(),
    retention: 50_000,
    alarmAtPct: 80,
    forwards: () => true,
    ready: () => ready.now,
    rate: () => limit.perSecond,
    send: (_source, _type, payload, done) => {
      sent.push((JSON.parse(payload.toString('utf8')) as { seq: number }).seq);
      setImmediate(() => done());
    },
    askReplay: (_source, from, to) => replays.push([from, to]),
    gap: async () => undefined,
    alarm: async () => undefined,
  });
  await r.init();
  const receive = (seq: number): void => r.receive('probe', seq, { id: `e${seq}`, type: 'Tick' }, Buffer.from(JSON.stringify({ seq })));
  return { r, sent, replays, receive };
}

t.test('a backlog goes out a batch per turn of the event loop, in order', async (t) => {
  const ready = { now: false };
  const { r, sent, receive } = await replicator(t, ready);
  for (let seq = 1; seq <= 1000; seq++) receive(seq);
  t.equal(sent.length, 0, 'nothing sent while the store is away');
  ready.now = true;
  r.resume();
  t.equal(sent.length, SEND_BATCH, `the first turn hands the store link ${SEND_BATCH}, not the whole backlog`);
  await until(() => r.progress()[0]?.offset === 1000, 10_000, 'the backlog acknowledged');
  t.same(
    sent,
    Array.from({ length: 1000 }, (_, i) => i + 1),
    'every event once, in seq order',
  );
});

t.test('while the store is away, events beyond the window are left to a replay', async (t) => {
  const ready = { now: false };
  const { r, sent, replays, receive } = await replicator(t, ready);
  const n = MAX_PENDING + 500;
  for (let seq = 1; seq <= n; seq++) receive(seq);
  t.equal(r.progress()[0]?.head, n, 'the head is known');
  ready.now = true;
  r.resume();
  await until(() => replays.length > 0, 10_000, 'a replay asked');
  t.same(replays[0], [MAX_PENDING + 1, n], 'what was not held is asked of the source');
  t.equal(sent.length, MAX_PENDING, 'what was held went out');
});

t.test('under a rate limit a backlog waits for its turn; without one it goes at once', async (t) => {
  const ready = { now: false };
  // one event a second: nothing more is let through while the test looks
  const limit: { perSecond?: number } = { perSecond: 1 };
  const { r, sent, receive } = await replicator(t, ready, limit);
  for (let seq = 1; seq <= 200; seq++) receive(seq);
  ready.now = true;
  r.resume();
  // many turns of the event loop: without the limit the whole backlog would be out and acknowledged
  for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
  t.equal(sent.length, RATE_BURST, 'the burst the limit allows, and no more');
  t.equal(r.progress()[0]?.offset, RATE_BURST, 'what went out is acknowledged; the rest waits');
  limit.perSecond = undefined;
  r.resume();
  await until(() => r.progress()[0]?.offset === 200, 10_000, 'the backlog acknowledged once the limit is lifted');
  t.same(
    sent,
    Array.from({ length: 200 }, (_, i) => i + 1),
    'every event once, in seq order',
  );
});
