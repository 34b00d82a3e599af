/**
 * An outage longer than the sources' logs: the store broker stays away while a
 * source emits more than its retention (events.outboxRetention 300 here). The uplink
 * raises its alarm while the log still holds everything unsent, and once the store
 * is back it reports exactly what was lost (UplinkGap from..to) and sends the rest.
 */
import { join } from 'node:path';
import t from 'tap';
import { query } from '../../../helpers/daemon.js';
import { until } from '../../../helpers/lane.js';
import { storeBroker } from '../../../helpers/store-broker.js';
import { recorder, startLaneFor } from './fixture.js';

t.test('a loss is announced before and reported after', async (t) => {
  const b = await storeBroker('store-5', ['lane-2']);
  await b.start();
  t.teardown(() => b.stop());
  const store = await recorder(b);
  t.teardown(() => store.client.end(true));
  const lane = await startLaneFor(b, 'lane-2', { events: { outboxRetention: 300 }, uplink: { alarmAtPct: 50 } });
  t.teardown(() => lane.kill('SIGKILL'));
  const probeDb = join(lane.stateDir, 'probe.db');
  const probeSeqs = (): Set<number> => new Set(store.events.filter((e) => e.source === 'probe').map((e) => e.seq));
  type Src = { source: string; head: number; offset: number; alarmed: boolean };
  const probeView = async (): Promise<Src | undefined> =>
    ((await lane.status()) as { uplink: { sources: Src[] } }).uplink.sources.find((s) => s.source === 'probe');
  const oldest = async (): Promise<number> => (await query<{ m: number }>(probeDb, 'SELECT min(seq) AS m FROM outbox'))[0].m;

  await lane.emit(100);
  await until(() => probeSeqs().size === 100, 60_000, '100 ticks at the store');
  await b.stop();

  await lane.emit(200);
  await until(async () => (await probeView())?.alarmed === true, 30_000, 'the backlog alarm');
  const atAlarm = await probeView();
  t.equal(atAlarm?.offset, 100, 'the uplink’s offset where the store stopped');
  t.ok((await oldest()) <= 101, 'when the alarm fires the log still holds every unsent event');
  t.ok(
    lane.d.lines.some((l) => /"level":50.*not yet at the store, \d+% of its log of 300/.test(l)),
    'the alarm is logged',
  );

  // more than the log keeps: the oldest unsent events leave it
  await lane.emit(1200);
  await until(async () => (await probeView())?.head === 1500, 60_000, 'the probe emitted 1,500');
  await until(async () => (await oldest()) > 101, 60_000, 'the log pruned past the uplink’s offset');
  // a restart forgets what the uplink still held in memory: what the log lost is lost
  await lane.kill('SIGTERM');
  await lane.restart();
  const firstKept = await oldest();
  await b.start();

  await until(() => store.events.some((e) => e.type === 'UplinkGap'), 60_000, 'UplinkGap at the store');
  const gap = store.events.find((e) => e.type === 'UplinkGap')!;
  t.same(gap.data, { source: 'probe', log: gap.data.log, from: 101, to: firstKept - 1, count: firstKept - 101 }, `the gap is exactly 101..${firstKept - 1}`);
  await until(() => probeSeqs().size === 100 + (1500 - firstKept + 1), 60_000, 'everything the log still held at the store');
  const seqs = probeSeqs();
  const inGap = [...seqs].filter((s) => s >= 101 && s < firstKept);
  t.same(inGap, [], 'nothing of the gap arrived (it is reported, not silently skipped)');
  const alarm = store.events.find((e) => e.type === 'UplinkBacklogAlarm');
  t.ok(alarm, 'the alarm reached the store too');
  t.ok(alarm!.seq < gap.seq, 'in the uplink’s own log the alarm comes before the gap');
  t.equal(alarm!.data.from, 101, 'the alarm names the oldest unsent event');
});
