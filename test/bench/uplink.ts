/**
 * Uplink benchmark, numbers only: `npm run build && node dist/test/bench/uplink.js`.
 *
 *  - catch-up: the store's Mosquitto (TLS, ACL) is away while the probe writes a backlog
 *    of 10,000 events; then it comes back: events/s until the last is at store IT's subscriber
 *  - the shopper meanwhile: scan (the simulated serial scanner) -> doc/basket, p50/p99 while
 *    the uplink catches up, beside the same with the uplink idle (target p99 < 15 ms)
 */
import type { MqttClient } from 'mqtt';
import { request } from '../../daemon/cli/client.js';
import { startDaemon, tempDir, writeConfig } from '../helpers/daemon.js';
import { technician } from '../helpers/lanectl.js';
import { storeBroker, uplinkConfig } from '../helpers/store-broker.js';
import { until } from '../helpers/lane.js';

const BACKLOG = Number(process.env.BENCH_UPLINK_N ?? 10_000);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const fmt = (xs: number[]): string =>
  `p50 ${pct(xs, 50).toFixed(2)} ms, p99 ${pct(xs, 99).toFixed(2)} ms, max ${Math.max(...xs).toFixed(2)} ms (n=${xs.length})`;

/** One scan through the simulated scanner until doc/basket shows it (its `rev` moves). */
async function scanOnce(tech: MqttClient, rev: { now: number; waiters: Array<() => void> }, code: string): Promise<number> {
  const before = rev.now;
  const t0 = performance.now();
  const seen = new Promise<void>((resolve) => rev.waiters.push(resolve));
  await request(tech, 'sim', 'Scan', { code });
  while (rev.now === before) await seen;
  return performance.now() - t0;
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
  const daemon = await startDaemon({
    stateDir,
    configFile: writeConfig(dir, {
      lane: { id: 'lane-b', storeId: 'store-b' },
      uplink: uplinkConfig(b, 'lane-b'),
      services: { probe: { enabled: true, count: 0, batch: 200, padBytes: 200 } },
    }),
  });
  const tech = await technician(stateDir, daemon.brokerUrl);
  // the CLI's request() listens per call
  tech.setMaxListeners(0);
  const rev = { now: -1, waiters: [] as Array<() => void> };
  tech.on('message', (topic, payload) => {
    if (topic !== 'doc/basket') return;
    rev.now = (JSON.parse(payload.toString('utf8')) as { rev: number }).rev;
    const w = rev.waiters;
    rev.waiters = [];
    for (const f of w) f();
  });
  await tech.subscribeAsync('doc/basket', { qos: 1 });
  const codes = ['5449000000996', '4006381333931'];
  const status = async (): Promise<{ uplinkBacklog: number; uplink: { sources: Array<{ source: string; head: number }> } }> =>
    (await request(tech, 'uplink', 'Status')) as never;

  const idle: number[] = [];
  for (let i = 0; i < 100; i++) idle.push(await scanOnce(tech, rev, codes[i % 2]));

  await b.stop();
  await request(tech, 'probe', 'Emit', { count: BACKLOG });
  await until(async () => (await status()).uplink.sources.find((s) => s.source === 'probe')?.head === BACKLOG, 300_000, 'the backlog written');
  const before = arrived.n;

  const t0 = performance.now();
  await b.start();
  const busy: number[] = [];
  let i = 0;
  while (arrived.n - before < BACKLOG) busy.push(await scanOnce(tech, rev, codes[i++ % 2]));
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
