/**
 * Uplink benchmark, numbers only: `npm run build && node dist/test/bench/uplink.js`.
 *
 *  - catch-up: the store's Mosquitto (TLS, ACL) is away while the probe writes a backlog
 *    of 10,000 events; then it comes back: events/s from the first to the last at store IT's
 *    subscriber. Three rounds with the lane idle (no transaction open: full speed), then
 *    rounds with a shopper scanning (at most uplink.catchUpPerSecond) until 200 scans were
 *    made while a backlog was on its way.
 *  - the shopper meanwhile: scan -> the whole doc/basket with the item, on the path and the
 *    lane of the checkout bench (test/bench/checkout.ts), whose target it has (p99 < 15 ms):
 *    the scan published as a scanner's driver publishes it, the lane without devices, plus
 *    the uplink and the probe. p50/p99 of the scans begun between the first and the last
 *    event of a round's backlog at the store, beside 300 with the uplink idle (after one
 *    basket of 50 to warm the lane up).
 *
 * Scans come at a fixed pace whether or not the previous one is in the basket, so a stall of
 * the lane counts for every scan it holds up. As in the checkout bench, items left unbagged
 * open no intervention and a basket is cancelled after 50 scans.
 */
import type { MqttClient } from 'mqtt';
import { request } from '../../daemon/cli/client.js';
import { BasketView, type Basket } from '../../daemon/services/basket/doc.js';
import { sleep } from '../helpers/daemon.js';
import { storeBroker, uplinkConfig } from '../helpers/store-broker.js';
import { until } from '../helpers/lane.js';
import { benchEvents, benchLane, fmt } from './lane.js';

const BACKLOG = Number(process.env.BENCH_UPLINK_N ?? 10_000);
const IDLE_SCANS = 300;
/** Scans wanted while a backlog is on its way: rounds of BACKLOG events until there are as many. */
const BUSY_SCANS = 200;
const MAX_ROUNDS = 10;
/** One scan every PACE_MS. */
const PACE_MS = Number(process.env.BENCH_UPLINK_PACE_MS ?? 50);
/** A basket is cancelled after this many scans, as in the checkout bench. */
const BASKET = 50;

/** The lane's basket as a reader puts it together, and waits for one that `match`es. */
function basketWatch(tech: MqttClient): (match: (b: Basket) => boolean, what: string) => Promise<void> {
  const view = new BasketView();
  let waiters: Array<{ match: (b: Basket) => boolean; resolve: () => void }> = [];
  tech.on('message', (topic, payload) => {
    if (!BasketView.covers(topic.slice(4))) return;
    const b = view.take(topic.slice(4), payload.length ? JSON.parse(payload.toString('utf8')) : undefined);
    if (!b) return;
    const hit = waiters.filter((w) => w.match(b));
    waiters = waiters.filter((w) => !hit.includes(w));
    for (const w of hit) w.resolve();
  });
  return (match, what) => {
    const now = view.basket;
    if (now && match(now)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no doc/basket with ${what} within 30 s`)), 30_000);
      waiters.push({
        match,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  };
}

async function main(): Promise<void> {
  const b = await storeBroker('store-b', ['lane-b']);
  await b.start();
  /** Backlog events at store IT, and when a round's first and last came. */
  const arrived = { n: 0, target: 0, first: 0, last: 0 };
  const it = await b.connect('bench-store-it', { clean: false });
  it.on('message', (topic) => {
    if (!topic.includes('/evt/probe/')) return;
    arrived.n += 1;
    if (!arrived.first) arrived.first = performance.now();
    if (arrived.n === arrived.target) arrived.last = performance.now();
  });
  await it.subscribeAsync('store/store-b/lane/lane-b/evt/#', { qos: 1 });

  const { stateDir, daemon, connect } = await benchLane(
    {
      catalog: { scanners: ['benchscan'] },
      weightcheck: { notBaggedTimeoutMs: 600_000 },
      probe: { enabled: true, count: 0, batch: 200, padBytes: 200 },
    },
    { lane: { id: 'lane-b', storeId: 'store-b' }, uplink: uplinkConfig(b, 'lane-b') },
  );
  const tech = await connect('technician', 'bench-tech');
  const scanner = await connect('service', 'laned-benchscan');
  const event = benchEvents(stateDir);
  // the CLI's request() listens per call
  tech.setMaxListeners(0);
  const basket = basketWatch(tech);
  await tech.subscribeAsync(['doc/basket', 'doc/basket/lines/+'], { qos: 1 });
  const codes = ['5449000000996', '4006381333931'];

  /**
   * Paced scans into fresh baskets of at most BASKET until `more()` says stop (or `max` scans):
   * when each began and how long to its item in doc/basket.
   */
  const scanning = async (more: (n: number) => boolean, max: number): Promise<Array<{ at: number; ms: number }>> => {
    const made: Array<Promise<{ at: number; ms: number }>> = [];
    while (made.length < max && more(made.length)) {
      if ((await request(tech, 'basket', 'Cancel', { reason: 'bench' }).catch(() => undefined)) !== undefined) {
        await basket((x) => x.items === 0, 'the basket cancelled');
      }
      const from = performance.now();
      const inBasket: Array<Promise<{ at: number; ms: number }>> = [];
      for (let k = 1; k <= BASKET && made.length + inBasket.length < max && more(made.length + inBasket.length); k++) {
        await sleep(Math.max(0, from + (k - 1) * PACE_MS - performance.now()));
        const code = codes[k % 2];
        const scan = event('benchscan', 'BarcodeScanned', { raw: code, symbology: 'ean13', gtin: `0${code}` });
        const at = performance.now();
        scanner.publish('evt/benchscan/BarcodeScanned', JSON.stringify(scan), { qos: 1 });
        inBasket.push(basket((x) => x.lines.some((l) => l.scan === scan.id), `scan ${scan.id}`).then(() => ({ at, ms: performance.now() - at })));
      }
      await Promise.all(inBasket);
      made.push(...inBasket);
    }
    return Promise.all(made);
  };
  const status = async (): Promise<{ uplinkBacklog: number; uplink: { sources: Array<{ source: string; head: number }> } }> =>
    (await request(tech, 'uplink', 'Status')) as never;

  // one basket to warm up (the first scans of a fresh lane compile and open what the rest reuse), not counted
  await scanning(() => true, BASKET);
  const idle = (await scanning(() => true, IDLE_SCANS)).map((s) => s.ms);

  /** Events the probe has written so far (its head). */
  let written = 0;
  /** The store broker away while the probe writes a backlog; then back: how long from the first to the last event at store IT. */
  const backlogRound = async (meanwhile: (started: number, target: number) => Promise<void>): Promise<{ secs: number; fromStart: number }> => {
    await b.stop();
    await request(tech, 'probe', 'Emit', { count: BACKLOG });
    written += BACKLOG;
    await until(async () => (await status()).uplink.sources.find((s) => s.source === 'probe')?.head === written, 300_000, 'the backlog written');
    const target = arrived.n + BACKLOG;
    arrived.first = arrived.last = 0;
    arrived.target = target;
    const started = performance.now();
    await b.start();
    await meanwhile(started, target);
    return { secs: (arrived.last - arrived.first) / 1000, fromStart: (arrived.last - started) / 1000 };
  };

  // The lane idle (no transaction open): the backlog goes at full speed.
  await request(tech, 'basket', 'Cancel', { reason: 'bench' }).catch(() => undefined);
  await basket((x) => x.items === 0, 'the basket cancelled');
  const idleCatchUps: Array<{ secs: number; fromStart: number }> = [];
  for (let round = 1; round <= 3; round++) {
    idleCatchUps.push(await backlogRound((started, target) => until(() => arrived.n >= target, 120_000, `the backlog of idle round ${round} at the store`)));
  }

  // A shopper scanning meanwhile: the backlog yields to the scans (uplink.catchUpPerSecond).
  const catchUps: Array<{ secs: number; fromStart: number }> = [];
  const busy: number[] = [];
  // Rounds of one backlog each until the scans made while one is on its way number BUSY_SCANS
  for (let round = 1; round <= MAX_ROUNDS && busy.length < BUSY_SCANS; round++) {
    catchUps.push(
      await backlogRound(async (started, target) => {
        const made = await scanning(() => {
          if (performance.now() - started > 120_000)
            throw new Error(`the backlog of round ${round} not at the store within 120 s (${target - arrived.n} missing)`);
          return arrived.n < target;
        }, 100_000);
        // only the scans begun while events were arriving: before, the uplink was still reconnecting
        busy.push(...made.filter((m) => m.at >= arrived.first && m.at < arrived.last).map((m) => m.ms));
      }),
    );
  }
  const rate = (rounds: Array<{ secs: number; fromStart: number }>): string => {
    const secs = rounds.reduce((a, c) => a + c.secs, 0);
    return (
      `${rounds.length} x ${BACKLOG} events, ${Math.round((rounds.length * BACKLOG) / secs)} events/s from the first to the last at store IT ` +
      `(rounds: ${rounds.map((c) => c.secs.toFixed(2)).join(', ')} s; from the broker's start: ${rounds.map((c) => c.fromStart.toFixed(2)).join(', ')} s)`
    );
  };
  console.log(`uplink catch-up to Mosquitto (TLS, QoS 1, store IT subscribed), the lane idle:      ${rate(idleCatchUps)}`);
  console.log(`uplink catch-up to Mosquitto (TLS, QoS 1, store IT subscribed), a shopper scanning: ${rate(catchUps)} (uplink.catchUpPerSecond 1000)`);
  console.log(`scan -> doc/basket, one every ${PACE_MS} ms, uplink idle:        ${fmt(idle)}   (target p99 < 15 ms)`);
  console.log(`scan -> doc/basket, one every ${PACE_MS} ms, while catching up:  ${fmt(busy)}   (target p99 < 15 ms)`);
  tech.end(true);
  scanner.end(true);
  it.end(true);
  await daemon.kill('SIGTERM');
  await b.stop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
