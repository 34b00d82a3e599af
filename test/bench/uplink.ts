/**
 * Uplink benchmark, numbers only: `npm run build && node dist/test/bench/uplink.js`.
 *
 *  - catch-up: the store's Mosquitto (TLS, ACL) is away while the probe writes a backlog
 *    of 10,000 events; then it comes back: events/s until the last is at store IT's subscriber
 *  - the shopper meanwhile: scan (the simulated serial scanner) -> doc/basket, p50/p99 while
 *    the uplink catches up, beside the same with the uplink idle (target p99 < 15 ms)
 *
 * The lane is the simulated one without the scanner's demo scans, configured as the checkout
 * bench's (items never bagged do not open interventions), in baskets of 50 like there.
 */
import type { MqttClient } from 'mqtt';
import { request } from '../../daemon/cli/client.js';
import { newCommand } from '../../daemon/events/command.js';
import { noDelay } from '../../daemon/runtime/mqtt.js';
import { BasketView, type Basket } from '../../daemon/services/basket/doc.js';
import { defaultSimulatedDevices } from '../../drivers/registry.js';
import { startDaemon, tempDir, writeConfig } from '../helpers/daemon.js';
import { technician } from '../helpers/lanectl.js';
import { storeBroker, uplinkConfig } from '../helpers/store-broker.js';
import { until } from '../helpers/lane.js';

const BACKLOG = Number(process.env.BENCH_UPLINK_N ?? 10_000);
const IDLE_SCANS = 300;
/** A basket is cancelled after this many scans, as in the checkout bench. */
const BASKET = 50;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const fmt = (xs: number[]): string =>
  `p50 ${pct(xs, 50).toFixed(2)} ms, p99 ${pct(xs, 99).toFixed(2)} ms, max ${Math.max(...xs).toFixed(2)} ms (n=${xs.length})`;

/** The lane's basket as a reader puts it together, and a wait for one that `match`es. */
function basketWatch(tech: MqttClient): (match: (b: Basket) => boolean, what: string) => Promise<void> {
  const view = new BasketView();
  let waiter: { match: (b: Basket) => boolean; resolve: () => void } | undefined;
  tech.on('message', (topic, payload) => {
    if (!BasketView.covers(topic.slice(4))) return;
    const b = view.take(topic.slice(4), payload.length ? JSON.parse(payload.toString('utf8')) : undefined);
    if (b && waiter?.match(b)) {
      const w = waiter;
      waiter = undefined;
      w.resolve();
    }
  });
  return (match, what) => {
    const now = view.basket;
    if (now && match(now)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no doc/basket with ${what} within 10 s`)), 10_000);
      waiter = {
        match,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });
  };
}

async function main(): Promise<void> {
  const b = await storeBroker('store-b', ['lane-b']);
  await b.start();
  const arrived = { n: 0 };
  const it = await b.connect('bench-store-it', { clean: false });
  it.on('message', (topic) => {
    if (topic.includes('/evt/probe/')) arrived.n += 1;
  });
  await it.subscribeAsync('store/store-b/lane/lane-b/evt/#', { qos: 1 });

  const dir = tempDir('laned-bench-uplink-');
  const stateDir = `${dir}/state`;
  const devices = defaultSimulatedDevices();
  delete devices.scanner.script;
  const daemon = await startDaemon({
    stateDir,
    configFile: writeConfig(dir, {
      lane: { id: 'lane-b', storeId: 'store-b' },
      uplink: uplinkConfig(b, 'lane-b'),
      devices,
      services: { probe: { enabled: true, count: 0, batch: 200, padBytes: 200 }, weightcheck: { notBaggedTimeoutMs: 600_000 } },
    }),
  });
  // Nagle's algorithm (RFC 896) on the bench's own connection would hold a command behind the
  // peer's delayed ACK (up to 40 ms); the lane's clients run without it (daemon/runtime/mqtt.ts)
  const tech = noDelay(await technician(stateDir, daemon.brokerUrl));
  // the CLI's request() listens per call
  tech.setMaxListeners(0);
  const basket = basketWatch(tech);
  await tech.subscribeAsync(['doc/basket', 'doc/basket/lines/+'], { qos: 1 });
  const codes = ['5449000000996', '4006381333931'];
  let scans = 0;
  /** One scan through the simulated scanner until doc/basket has its item; every BASKET scans a new basket. */
  const scanOnce = async (): Promise<number> => {
    if (scans > 0 && scans % BASKET === 0) {
      await request(tech, 'basket', 'Cancel', { reason: 'bench' });
      await basket((x) => x.items === 0, 'the basket cancelled');
    }
    const items = scans % BASKET;
    const cmd = newCommand({ code: codes[scans++ % 2] }, undefined, 'technician');
    const t0 = performance.now();
    tech.publish('cmd/sim/Scan', JSON.stringify(cmd), { qos: 1 });
    await basket((x) => x.items === items + 1, `${items + 1} items`);
    return performance.now() - t0;
  };
  const status = async (): Promise<{ uplinkBacklog: number; uplink: { sources: Array<{ source: string; head: number }> } }> =>
    (await request(tech, 'uplink', 'Status')) as never;

  const idle: number[] = [];
  for (let i = 0; i < IDLE_SCANS; i++) idle.push(await scanOnce());

  await b.stop();
  await request(tech, 'probe', 'Emit', { count: BACKLOG });
  await until(async () => (await status()).uplink.sources.find((s) => s.source === 'probe')?.head === BACKLOG, 300_000, 'the backlog written');
  const before = arrived.n;

  const t0 = performance.now();
  await b.start();
  const busy: number[] = [];
  while (arrived.n - before < BACKLOG) busy.push(await scanOnce());
  const secs = (performance.now() - t0) / 1000;

  console.log(
    `uplink catch-up: ${BACKLOG} events in ${secs.toFixed(2)} s = ${Math.round(BACKLOG / secs)} events/s to Mosquitto (TLS, QoS 1, store IT subscribed)`,
  );
  console.log(`scan -> doc/basket, uplink idle:        ${fmt(idle)}   (target p99 < 15 ms)`);
  console.log(`scan -> doc/basket, while catching up:  ${fmt(busy)}   (target p99 < 15 ms)`);
  tech.end(true);
  it.end(true);
  await daemon.kill('SIGTERM');
  await b.stop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
