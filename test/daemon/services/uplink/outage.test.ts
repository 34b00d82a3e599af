/**
 * Store-and-forward through store broker outages: the store's Mosquitto is stopped
 * and started three times, once in the middle of a burst of 2,000 events and once
 * while the lane itself is killed (SIGKILL) and started again. At the store every
 * event arrives, in seq order per source, and the only repeats are redeliveries
 * carrying the same id.
 */
import t from 'tap';
import { until } from '../../../helpers/lane.js';
import { storeBroker } from '../../../helpers/store-broker.js';
import { audit, recorder, startLaneFor } from './fixture.js';

t.test('outages of the store broker lose nothing', async (t) => {
  const b = await storeBroker('store-3', ['lane-7']);
  await b.start();
  t.teardown(() => b.stop());
  const store = await recorder(b);
  t.teardown(() => store.client.end(true));
  const lane = await startLaneFor(b, 'lane-7');
  t.teardown(() => lane.kill('SIGKILL'));
  const prefix = 'store/store-3/lane/lane-7';
  const ticks = (): number => new Set(store.events.filter((e) => e.source === 'probe').map((e) => e.seq)).size;
  type Progress = { source: string; head: number; offset: number };
  const uplinkView = async (): Promise<{ uplinkBacklog: number; uplink: { sources: Progress[] } }> => (await lane.status()) as never;
  /** The probe's newest seq as the uplink knows it (the probe's own Progress reads its store inside its command: not usable here). */
  const emitted = async (): Promise<number> => (await uplinkView()).uplink.sources.find((s) => s.source === 'probe')?.head ?? 0;
  const unsent = async (): Promise<number> => (await uplinkView()).uplinkBacklog;

  await lane.emit(300);
  await until(() => ticks() === 300, 60_000, '300 ticks at the store');

  // 1: the store broker away while the lane sells on
  await b.stop();
  await lane.emit(300);
  await until(async () => (await emitted()) === 600, 30_000, 'the probe emitted 600');
  await until(async () => (await unsent()) >= 300, 30_000, 'the uplink counts what waits');
  t.equal(ticks(), 300, 'nothing reached the stopped store');
  await b.start();
  await until(() => ticks() === 600, 60_000, '600 ticks at the store');

  // 2: stopped in the middle of a burst of 2,000
  await lane.emit(2000);
  await until(() => ticks() >= 900, 60_000, 'the burst under way');
  await b.stop();
  const during = ticks();
  t.ok(during < 2600, `the store stopped mid-burst (${during} of 2,600 there)`);
  await b.start();
  await until(() => ticks() === 2600, 120_000, '2,600 ticks at the store');

  // 3: the store away, and the lane killed and started again meanwhile
  await b.stop();
  await lane.emit(300);
  await until(async () => (await emitted()) === 2900, 30_000, 'the probe emitted 2,900');
  await lane.kill('SIGKILL');
  await lane.restart();
  await lane.emit(200);
  await until(async () => (await emitted()) === 3100, 30_000, 'the probe emitted 3,100');
  await b.start();
  await until(() => ticks() === 3100, 120_000, '3,100 ticks at the store');
  await until(async () => (await unsent()) === 0, 30_000, 'the uplink has nothing left to send');

  const r = audit(store.events, prefix, 'probe', 3100);
  t.same(r.missing, [], 'every tick at the store');
  t.equal(r.outOfOrder, 0, 'first arrivals in seq order');
  t.equal(r.duplicates, r.sameIdDuplicates, 'every repeat carries the id of the first arrival');
  t.comment(`redeliveries at the store: ${r.duplicates} of ${store.events.filter((e) => e.source === 'probe').length} probe arrivals`);
  for (const source of new Set(store.events.map((e) => e.source))) {
    const all = store.events.filter((e) => e.source === source);
    const top = Math.max(...all.map((e) => e.seq));
    const first = Math.min(...all.map((e) => e.seq));
    const s = audit(store.events, prefix, source, top);
    t.same(
      s.missing.filter((x) => x >= first),
      [],
      `${source}: no seq missing from ${first} to ${top}`,
    );
    t.equal(s.outOfOrder, 0, `${source}: in order`);
    t.equal(s.duplicates, s.sameIdDuplicates, `${source}: repeats carry the same id`);
  }
});
