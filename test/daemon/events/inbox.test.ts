import t from 'tap';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import type { MqttClient } from 'mqtt';
import { startLane, until, type InProcessLane } from '../../helpers/lane.js';
import { query } from '../../helpers/daemon.js';
import { newEventId } from '../../../daemon/events/envelope.js';

// Drives the inbox of a real service (probe-sink) through the embedded broker with
// hand-made events from a source "fake" whose client this test holds.

let seqAt = 0;
function tick(seq: number, n = seq, extra: Record<string, unknown> = {}): Record<string, unknown> {
  seqAt += 1;
  return {
    id: newEventId(),
    type: 'ProbeTick',
    v: 1,
    source: 'fake',
    seq,
    at: { epoch: 1, mono: String(1_000_000 + seqAt) },
    time: new Date().toISOString(),
    data: { n },
    ...extra,
  };
}

const publish = (c: MqttClient, topic: string, body: unknown): Promise<void> =>
  new Promise((resolve, reject) =>
    c.publish(topic, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 }, (err) => (err ? reject(err) : resolve())),
  );

async function tally(lane: InProcessLane): Promise<Array<{ n: number; applied: number; ord: number }>> {
  return query(join(lane.stateDir, 'probe-sink.db'), "SELECT n, applied, ord FROM probe_tally WHERE source = 'fake' ORDER BY ord");
}

t.test('inbox: order, gaps, duplicates and bad input', async (t) => {
  const lane = await startLane({ events: { gapWaitMs: 100 }, services: { 'probe-sink': { enabled: true, sources: ['fake'] } } });
  t.teardown(() => lane.stop());
  const fake = await lane.connect('service', 'laned-fake');
  const replayAsks: Array<{ from: number; to: number; consumer: string }> = [];
  const log: Record<number, Record<string, unknown>> = {};
  fake.on('message', (topic, payload) => {
    if (topic !== 'cmd/fake/Replay') return;
    const args = (JSON.parse(payload.toString()) as { args: { from: number; to: number; consumer: string } }).args;
    replayAsks.push(args);
    for (let s = args.from; s <= args.to; s++) if (log[s]) void publish(fake, `replay/fake/${args.consumer}`, log[s]);
    void publish(fake, `replay/fake/${args.consumer}/end`, { from: args.from, to: args.to, firstAvailable: 1 });
  });
  await new Promise((r) => fake.subscribe('cmd/fake/Replay', { qos: 1 }, r));

  await t.test('out-of-order events of one source are applied in seq order', async (t) => {
    for (const s of [1, 2, 3, 4, 5]) log[s] = tick(s);
    for (const s of [1, 3, 2, 5, 4]) await publish(fake, 'evt/fake/ProbeTick', log[s]);
    await until(async () => (await tally(lane)).length === 5, 10_000, 'five ticks');
    t.same(
      (await tally(lane)).map((r) => r.n),
      [1, 2, 3, 4, 5],
      'applied in seq order',
    );
  });

  await t.test('a gap asks the source for a replay and is closed', async (t) => {
    for (const s of [6, 7, 8, 9]) log[s] = tick(s);
    await publish(fake, 'evt/fake/ProbeTick', log[6]);
    await publish(fake, 'evt/fake/ProbeTick', log[8]);
    await publish(fake, 'evt/fake/ProbeTick', log[9]);
    await until(async () => (await tally(lane)).length === 9, 10_000, 'gap closed by replay');
    t.same(
      (await tally(lane)).map((r) => r.n),
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    t.same(replayAsks[0], { from: 7, to: 7, consumer: 'probe-sink' }, 'replay asked for exactly the missing seq');
  });

  await t.test('a lost tail is caught from the source head', async (t) => {
    log[10] = tick(10);
    log[11] = tick(11);
    // 10 and 11 "lost" on the way: only the head announcement arrives.
    await publish(fake, 'svc/fake/head', { seq: 11 });
    await until(async () => (await tally(lane)).length === 11, 10_000, 'tail replayed');
    t.same(replayAsks.at(-1), { from: 10, to: 11, consumer: 'probe-sink' });
  });

  await t.test('redelivered events are applied once', async (t) => {
    log[12] = tick(12);
    await publish(fake, 'evt/fake/ProbeTick', log[12]);
    await publish(fake, 'evt/fake/ProbeTick', log[12]);
    await publish(fake, `replay/fake/probe-sink`, log[5]);
    await until(async () => (await tally(lane)).length === 12, 10_000, 'tick 12');
    // the subject is silence: room for a wrongly applied second copy
    await new Promise((r) => setTimeout(r, 200));
    t.same(
      (await tally(lane)).filter((r) => r.applied !== 1),
      [],
      'nothing applied twice',
    );
    t.ok(
      (await lane.daemon.metrics.duplicates.get()).values.some((v) => v.labels.service === 'probe-sink' && v.value >= 2),
      'duplicates counted',
    );
  });

  await t.test('bad input is dead-lettered with its reason, counted, logged once; the rest goes on', async (t) => {
    const before = lane.logs.length;
    const bad: Array<[string, unknown, RegExp]> = [
      ['evt/fake/ProbeTick', '{not json', /not JSON/],
      ['evt/fake/ProbeTick', tick(13, 13, { data: { n: 'thirteen' } }), /data\/n/],
      ['evt/fake/NoSuchEvent', tick(13, 13, { type: 'NoSuchEvent' }), /unknown event type NoSuchEvent/],
      ['evt/fake/ProbeTick', tick(13, 13, { v: 9 }), /unknown version 9 of event type ProbeTick/],
      ['evt/fake/ProbeTick', tick(13, 13, { source: 'other' }), /does not match the envelope/],
    ];
    for (const [topic, body] of bad) await publish(fake, topic, body);
    log[13] = tick(13);
    await publish(fake, 'evt/fake/ProbeTick', log[13]);
    await until(async () => (await tally(lane)).length === 13, 10_000, 'good tick after bad ones');
    const dead = await query<{ reason: string }>(join(lane.stateDir, 'probe-sink.db'), 'SELECT reason FROM dead_letters ORDER BY n');
    t.equal(dead.length, bad.length, 'one dead letter per bad message');
    bad.forEach(([, , re], i) => t.match(dead[i].reason, re, `reason ${i + 1}`));
    const warned = lane.logs.slice(before).filter((l) => String(l.msg).startsWith('rejected event'));
    t.equal(warned.length, bad.length, 'one log line each');
    const rejected = (await lane.daemon.metrics.rejected.get()).values.filter((v) => v.labels.service === 'probe-sink').reduce((a, v) => a + v.value, 0);
    t.equal(rejected, bad.length, 'counted');
    t.equal(lane.daemon.health().status, 'ready', 'daemon keeps running');
  });
});

t.test('a tail the broker lost, with its head announcement, is caught up when the source starts again', async (t) => {
  const config = { events: { gapWaitMs: 100 }, services: { probe: { enabled: true, count: 5 }, 'probe-sink': { enabled: true } } };
  const first = await startLane(config);
  const sinkDb = join(first.stateDir, 'probe-sink.db');
  const sinkTally = () => query<{ n: number }>(sinkDb, "SELECT n FROM probe_tally WHERE source = 'probe' ORDER BY n");
  await until(async () => (await sinkTally()).length === 5, 10_000, 'five ticks applied');
  await first.stop();
  // What a crash of the broker's delayed writes leaves: the consumer never got ticks 4
  // and 5, and the retained svc/probe/head is gone, while the source's log has them as sent.
  await query(sinkDb, "DELETE FROM probe_tally WHERE source = 'probe' AND n > 3", [], { write: true });
  await query(sinkDb, "DELETE FROM inbox_seen WHERE source = 'probe' AND seq > 3", [], { write: true });
  await query(sinkDb, "UPDATE inbox_position SET last_seq = 3 WHERE source = 'probe'", [], { write: true });
  await query(join(first.stateDir, 'broker.db'), "DELETE FROM retained WHERE topic = 'svc/probe/head'", [], { write: true });
  const sent = await query<{ c: number }>(join(first.stateDir, 'probe.db'), "SELECT count(*) AS c FROM outbox WHERE source = 'probe' AND sent = 0");
  t.equal(sent[0].c, 0, 'the source has nothing left to send');

  const second = await startLane(config, first.stateDir);
  t.teardown(() => second.stop());
  await until(async () => (await sinkTally()).length === 5, 10_000, 'the lost tail replayed');
  t.same(
    (await sinkTally()).map((r) => r.n),
    [1, 2, 3, 4, 5],
  );
  t.ok(
    second.logs.some((l) => /asking for replay of 4\.\.5/.test(String(l.msg))),
    'the consumer asked for exactly the lost tail',
  );
});

t.test('events taken in before the previous commit: committed together, one failing event dead-lettered alone', async (t) => {
  const lane = await startLane({
    events: { gapWaitMs: 100, maxAttempts: 3 },
    services: { 'probe-sink': { enabled: true, sources: ['fake'], failTicks: [7] } },
  });
  t.teardown(() => lane.stop());
  const fake = await lane.connect('service', 'laned-fake');
  seqAt = 0;
  const ticks = Array.from({ length: 300 }, (_, i) => tick(i + 1));
  // All 300 at once: the consumer gets the next before it committed the one before.
  await Promise.all(ticks.map((ev) => publish(fake, 'evt/fake/ProbeTick', ev)));
  await until(async () => (await tally(lane)).length === 299, 10_000, '299 ticks applied');
  const applied = await tally(lane);
  t.same(
    applied.map((r) => r.n),
    ticks.map((_, i) => i + 1).filter((n) => n !== 7),
    'every tick but the failing one, in seq order',
  );
  t.same(
    applied.filter((r) => r.applied !== 1),
    [],
    'each once',
  );
  const dead = await query<{ event_id: string; reason: string; attempts: number }>(
    join(lane.stateDir, 'probe-sink.db'),
    'SELECT event_id, reason, attempts FROM dead_letters',
  );
  t.same(
    dead,
    [{ event_id: ticks[6].id, reason: 'failed 3 times: probe-sink is set to refuse tick 7 (failTicks)', attempts: 3 }],
    'the failing tick is a dead letter',
  );
  const tries = lane.logs.filter((l) => /^processing ProbeTick .* failed \(attempt \d of 3\)$/.test(String(l.msg))).map((l) => l.attempt);
  t.same(tries, [1, 2, 3], 'tried exactly maxAttempts times');
  const batches = (await lane.daemon.metrics.inboxBatch.get()).values.filter((v) => v.labels.service === 'probe-sink');
  const count = batches.find((v) => v.metricName === 'laned_inbox_batch_events_count')?.value ?? 0;
  const sum = batches.find((v) => v.metricName === 'laned_inbox_batch_events_sum')?.value ?? 0;
  t.ok(count > 0 && sum / count > 1, `several events per commit (${sum} events in ${count} commits)`);
  t.equal(lane.daemon.health().status, 'ready', 'the daemon keeps running');
});

t.test('a source that lost its database and the broker’s starts a new log: its events are applied, not taken for old ones', async (t) => {
  const config = { events: { gapWaitMs: 100 }, services: { probe: { enabled: true, count: 5 }, 'probe-sink': { enabled: true } } };
  const first = await startLane(config);
  const sinkDb = join(first.stateDir, 'probe-sink.db');
  const sinkTally = () => query<{ n: number; applied: number }>(sinkDb, "SELECT n, applied FROM probe_tally WHERE source = 'probe' ORDER BY n");
  await until(async () => (await sinkTally()).length === 5, 10_000, 'five ticks applied');
  await first.stop();
  const oldLog = (await query<{ log: string }>(join(first.stateDir, 'probe.db'), "SELECT log FROM outbox_log WHERE source = 'probe'"))[0].log;
  // Both the source's database and the broker's (with the retained heads) are gone: the
  // probe starts its log again at seq 1, below the consumer's position 5.
  for (const f of ['probe.db', 'broker.db']) for (const suffix of ['', '-wal', '-shm']) rmSync(join(first.stateDir, f + suffix), { force: true });

  const second = await startLane(config, first.stateDir);
  t.teardown(() => second.stop());
  await until(async () => (await sinkTally()).every((r) => r.applied === 2), 10_000, 'the new log’s five ticks applied');
  t.same(
    (await sinkTally()).map((r) => [r.n, r.applied]),
    [
      [1, 2],
      [2, 2],
      [3, 2],
      [4, 2],
      [5, 2],
    ],
    'each tick of the new log applied once more, none dropped as a redelivery',
  );
  const newLog = (await query<{ log: string }>(join(second.stateDir, 'probe.db'), "SELECT log FROM outbox_log WHERE source = 'probe'"))[0].log;
  t.not(newLog, oldLog, 'the source made a new log id');
  t.same(
    await query(sinkDb, "SELECT last_seq, log FROM inbox_position WHERE source = 'probe'"),
    [{ last_seq: 5, log: newLog }],
    'the position follows the new log',
  );
  t.ok(
    second.logs.some((l) => /probe started a new log \(its database was replaced\): position 5 -> 0/.test(String(l.msg))),
    'the consumer says what happened',
  );
});

t.test('a new log id: position follows it down or up, the old log’s stragglers are dropped, its lost tail is a dead letter', async (t) => {
  const lane = await startLane({ events: { gapWaitMs: 100 }, services: { 'probe-sink': { enabled: true, sources: ['fake'] } } });
  t.teardown(() => lane.stop());
  const fake = await lane.connect('service', 'laned-fake');
  const db = join(lane.stateDir, 'probe-sink.db');
  const position = async () => (await query<{ last_seq: number; log: string }>(db, "SELECT last_seq, log FROM inbox_position WHERE source = 'fake'"))[0];
  for (const s of [1, 2, 3]) await publish(fake, 'evt/fake/ProbeTick', tick(s, 100 + s, { log: 'log-a' }));
  await until(async () => (await tally(lane)).length === 3, 10_000, 'three ticks of log a');
  t.same(await position(), { last_seq: 3, log: 'log-a' }, 'the first log is recorded with the position');

  // log b starts at 1: below the position, applied all the same
  for (const s of [1, 2]) await publish(fake, 'evt/fake/ProbeTick', tick(s, 200 + s, { log: 'log-b' }));
  await until(async () => (await tally(lane)).length === 5, 10_000, 'two ticks of log b');
  t.same(await position(), { last_seq: 2, log: 'log-b' }, 'the position went down to the new log');

  // a late redelivery of the replaced log is dropped
  await publish(fake, 'evt/fake/ProbeTick', tick(4, 104, { log: 'log-a' }));
  // log b's head 4 was announced (the broker keeps it), then log c continues after it at 5:
  // 3..4 of log b never came and never will
  await publish(fake, 'svc/fake/head', { seq: 4 });
  await publish(fake, 'evt/fake/ProbeTick', tick(5, 305, { log: 'log-c' }));
  await until(async () => (await tally(lane)).length === 6, 10_000, 'the first tick of log c');
  t.same(
    (await tally(lane)).map((r) => r.n),
    [101, 102, 103, 201, 202, 305],
    'log a’s straggler dropped; log c applied',
  );
  t.same(await position(), { last_seq: 5, log: 'log-c' });
  const dead = await query<{ reason: string }>(db, 'SELECT reason FROM dead_letters ORDER BY n');
  t.match(dead.map((d) => d.reason).join('\n'), /events 3\.\.4 of fake were lost with its log/, 'the lost tail is a dead letter');
});

t.test('a poisoned head and a forged log restart from the source’s own client are ignored with an alarm', async (t) => {
  const lane = await startLane({ events: { gapWaitMs: 100, outboxRetention: 100 }, services: { 'probe-sink': { enabled: true, sources: ['fake'] } } });
  t.teardown(() => lane.stop());
  const fake = await lane.connect('service', 'laned-fake');
  const asked: unknown[] = [];
  fake.on('message', (topic, payload) => topic === 'cmd/fake/Replay' && asked.push(JSON.parse(payload.toString())));
  await fake.subscribeAsync('cmd/fake/Replay', { qos: 1 });
  const db = join(lane.stateDir, 'probe-sink.db');
  const alarms = async (what: string) =>
    (await lane.daemon.metrics.sourceImplausible.get()).values
      .filter((v) => v.labels.service === 'probe-sink' && v.labels.source === 'fake' && v.labels.what === what)
      .reduce((a, v) => a + v.value, 0);
  for (const s of [1, 2, 3]) await publish(fake, 'evt/fake/ProbeTick', tick(s, 100 + s, { log: 'log-a' }));
  await until(async () => (await tally(lane)).length === 3, 10_000, 'three ticks of log a');

  // a head a trillion ahead: consumers would ask for replays forever
  await publish(fake, 'svc/fake/head', { seq: 1_000_000_000_000 });
  await until(async () => (await alarms('head')) === 1, 10_000, 'the head alarm');
  t.ok(
    lane.logs.some((l) => /head 1000000000000 of fake is 999999999997 ahead of position 3, more than a log keeps \(100\): ignored/.test(String(l.msg))),
    'logged',
  );

  // a new log id with a huge seq: it would move the position to the forger's log
  await publish(fake, 'evt/fake/ProbeTick', tick(999_999_999, 666, { log: 'log-forged' }));
  await until(async () => (await alarms('restart')) === 1, 10_000, 'the restart alarm');
  t.ok(
    lane.logs.some((l) => /new log log-forged of fake starts at seq 999999999, neither 1 nor right after its head 3/.test(String(l.msg))),
    'logged',
  );
  // the alarm is counted on arrival, the dead letter commits after it
  const deadReasons = async () => (await query<{ reason: string }>(db, 'SELECT reason FROM dead_letters ORDER BY n')).map((d) => d.reason).join('\n');
  await until(async () => (await deadReasons()) !== '', 10_000, 'the dead letter');
  t.match(await deadReasons(), /new log log-forged of fake starts at seq 999999999/, 'the forged event is a dead letter, with the reason');

  // the real log goes on where it was
  await publish(fake, 'evt/fake/ProbeTick', tick(4, 104, { log: 'log-a' }));
  await until(async () => (await tally(lane)).length === 4, 10_000, 'tick 4 of log a');
  t.same(
    (await tally(lane)).map((r) => r.n),
    [101, 102, 103, 104],
    'log a applied, the forged tick not',
  );
  t.same(await query(db, "SELECT last_seq, log FROM inbox_position WHERE source = 'fake'"), [{ last_seq: 4, log: 'log-a' }], 'the position stays with log a');
  t.same(asked, [], 'no replay asked for');
  const health = lane.daemon.health();
  t.equal(health.status, 'degraded', 'the lane says something is wrong');
  t.ok(
    health.reasons.some((r) => r === 'service probe-sink ignored: 2 implausible heads or log restarts (see its log)'),
    'health names the service',
  );
});
