import t from 'tap';
import { join } from 'node:path';
import { Store } from '../../../daemon/store/store.js';
import { Outbox } from '../../../daemon/events/outbox.js';
import { createLogger } from '../../../daemon/core/log.js';
import '../../../daemon/events/schemas/core.js';
import { startLane, until } from '../../helpers/lane.js';
import { tempDir } from '../../helpers/daemon.js';

// The relay hands freshly committed rows to the client from memory and reads the table
// when it must (rows from before a start, more than it keeps in memory): either way the
// broker gets every event once, in seq order.

t.test('relay: a backlog larger than the in-memory cache, with commits going on while it drains', async (t) => {
  const lane = await startLane({ devices: {} });
  t.teardown(() => lane.stop());
  const store = await Store.open(join(tempDir(), 'fake.db'));
  t.teardown(() => store.close());
  const clock = { epoch: 1, now: () => ({ epoch: 1, mono: process.hrtime.bigint().toString() }) };
  const log = createLogger({ level: 'error', destination: { write: () => true } as never });
  // A small cache and few publishes in flight, so that rows the cache had no room for leave
  // gaps in it while the relay drains it a few rows at a time.
  const outbox = new Outbox({ store, source: 'fake', clock, log, retention: 100_000, cacheRows: 10, maxInflight: 3 });
  await outbox.init();
  await store.exec('PRAGMA synchronous=OFF'); // durability is not under test; 2,000 commits are
  let n = 0;
  const emit = (count: number) =>
    store.tx(async (tx) => {
      for (let i = 0; i < count; i++) await outbox.emit(tx, 'ProbeTick', { n: ++n });
    });
  // Before the relay has a client: more rows than it keeps in memory.
  await emit(30);

  const got: number[] = [];
  const sub = await lane.connect('technician', 'test-relay-sub');
  sub.on('message', (_topic, payload) => got.push((JSON.parse(payload.toString()) as { seq: number }).seq));
  await sub.subscribeAsync('evt/fake/#', { qos: 1 });
  outbox.attach(await lane.connect('service', 'laned-fake'));
  // And more while it drains, in bursts of small transactions that outrun it.
  for (let i = 0; i < 594; i++) {
    await emit(5);
    if (i % 10 === 9) await new Promise((r) => setTimeout(r, 1)); // the pacing of the bursts, not a wait
  }
  await until(() => got.length >= 3000, 20_000, '3,000 events at the subscriber');
  // the subject is silence: room for a wrongly repeated event to arrive
  await new Promise((r) => setTimeout(r, 200));
  t.equal(got.length, 3000, 'each once');
  t.same(
    got,
    Array.from({ length: 3000 }, (_, i) => i + 1),
    'in seq order',
  );
  t.equal(await outbox.flush(5000), 0, 'all acknowledged');
  t.same(await store.get('SELECT count(*) AS c FROM outbox WHERE sent = 0'), { c: 0 }, 'and marked sent');
  outbox.detach();
});

t.test('an event over events.maxPayloadBytes is refused at emit: never in the log, its seq not used', async (t) => {
  const store = await Store.open(join(tempDir(), 'fake.db'));
  t.teardown(() => store.close());
  const clock = { epoch: 1, now: () => ({ epoch: 1, mono: process.hrtime.bigint().toString() }) };
  const log = createLogger({ level: 'error', destination: { write: () => true } as never });
  const outbox = new Outbox({ store, source: 'fake', clock, log, retention: 1000, maxPayloadBytes: 1024 });
  await outbox.init();
  await t.rejects(
    store.tx((tx) => outbox.emit(tx, 'ProbeTick', { n: 1, pad: 'x'.repeat(2000) })),
    { message: /^fake: refusing to emit ProbeTick: \d+ bytes over events\.maxPayloadBytes 1024$/ },
    'the error names the source, the type and the limit',
  );
  const ev = await store.tx((tx) => outbox.emit(tx, 'ProbeTick', { n: 2, pad: 'x'.repeat(100) }));
  t.equal(ev.seq, 1, 'the next event takes the seq the refused one did not');
  t.same(await store.all('SELECT seq, type FROM outbox'), [{ seq: 1, type: 'ProbeTick' }], 'only the event within the limit is in the log');
});
