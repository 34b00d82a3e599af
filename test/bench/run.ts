// npm run bench: prints numbers, never pass/fail. Targets (2-core x86) are printed beside them.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { freePort, startDaemon, tempDir, writeConfig, query, sleep } from '../helpers/daemon.js';
import { Credentials } from '../../broker/credentials.js';
import { uiLatency } from './ui-latency.js';

const hasMosquitto = (() => {
  try {
    execFileSync('mosquitto', ['-h'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    return (err as { status?: number }).status !== undefined && (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
})();

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function startMosquitto(): Promise<{ proc: ChildProcess; url: string; stop(): Promise<void> }> {
  const dir = tempDir('laned-mosq-');
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location ${dir}/\nmax_queued_messages 100000\nautosave_interval 1\n`,
  );
  const proc = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  await sleep(400);
  return { proc, url: `mqtt://127.0.0.1:${port}`, stop: async () => void proc.kill('SIGTERM') };
}

/** QoS 1, durable sessions on both ends: one publisher, one subscriber, N messages. */
async function brokerThroughput(url: string, auth: { username?: string; password?: string }, n: number): Promise<number> {
  const tag = Math.random().toString(36).slice(2, 8);
  const sub = mqtt.connect(url, { clientId: `bench-sub-${tag}`, clean: false, ...auth, reconnectPeriod: 0 });
  await new Promise<void>((r) => sub.once('connect', () => sub.subscribe('cmd/bench/Load', { qos: 1 }, () => r())));
  const pub = mqtt.connect(url, { clientId: `bench-pub-${tag}`, clean: false, ...auth, reconnectPeriod: 0 });
  await new Promise<void>((r) => pub.once('connect', () => r()));
  const payload = JSON.stringify({ id: 'x'.repeat(26), args: { pad: 'y'.repeat(200) } });
  let got = 0;
  const done = new Promise<void>((r) =>
    sub.on('message', () => {
      got += 1;
      if (got === n) r();
    }),
  );
  const t0 = process.hrtime.bigint();
  let inflight = 0;
  for (let i = 0; i < n; i++) {
    while (inflight >= 500) await sleep(0);
    inflight += 1;
    pub.publish('cmd/bench/Load', payload, { qos: 1 }, () => (inflight -= 1));
  }
  await done;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  pub.end(true);
  sub.end(true);
  return n / secs;
}

interface E2E {
  eventsPerSec: number;
  p50ms: number;
  p99ms: number;
  n: number;
}

/** probe -> outbox -> broker -> inbox -> probe-sink, two `laned --only` processes. */
async function endToEnd(stateDir: string, n: number, settings: { batch: number; intervalMs: number }): Promise<E2E> {
  const config = writeConfig(join(stateDir, '..'), { services: { probe: { enabled: true, count: n, ...settings }, 'probe-sink': { enabled: true } } });
  const sink = await startDaemon({ configFile: config, stateDir, args: ['--only', 'probe-sink'] });
  const producer = await startDaemon({ configFile: config, stateDir, args: ['--only', 'probe'] });
  const file = join(stateDir, 'probe-sink.db');
  for (let i = 0; i < 1200; i++) {
    const c = await query<{ c: number }>(file, 'SELECT count(*) AS c FROM probe_tally').catch(() => [{ c: 0 }]);
    if (c[0].c >= n) break;
    await sleep(100);
  }
  await producer.kill('SIGTERM');
  await sink.kill('SIGTERM');
  const rows = await query<{ latency_us: number }>(file, 'SELECT latency_us FROM probe_tally WHERE latency_us IS NOT NULL ORDER BY ord');
  const events = await query<{ payload: string }>(join(stateDir, 'probe.db'), 'SELECT payload FROM outbox WHERE seq IN (1, ?)', [n]);
  const first = BigInt((JSON.parse(events[0].payload) as { at: { mono: string } }).at.mono);
  const last = BigInt((JSON.parse(events[events.length - 1].payload) as { at: { mono: string } }).at.mono);
  const lat = rows.map((r) => r.latency_us / 1000).sort((a, b) => a - b);
  const lastLatencyNs = BigInt(Math.round(rows[rows.length - 1].latency_us * 1000));
  const secs = Number(last - first + lastLatencyNs) / 1e9;
  return { eventsPerSec: rows.length / secs, p50ms: pct(lat, 50), p99ms: pct(lat, 99), n: rows.length };
}

function seedRuntime(stateDir: string, url: string): void {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, 'runtime.json'), JSON.stringify({ pid: 0, broker: url }));
}

const fmt = (x: number, d = 0): string => x.toFixed(d);

async function main(): Promise<void> {
  const results: string[] = [];
  const line = (s: string): void => {
    results.push(s);
    console.log(s);
  };
  console.log(`laned bench on ${process.arch}, node ${process.version}, mosquitto ${hasMosquitto ? 'found' : 'not installed (no comparison)'}\n`);

  // Start to ready and idle RSS: the default simulated lane.
  {
    const dir = tempDir('laned-bench-');
    const t0 = process.hrtime.bigint();
    const d = await startDaemon({ configFile: writeConfig(dir, {}), stateDir: join(dir, 'state') });
    const startMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const own = Number(/in (\d+) ms/.exec(d.lines.find((l) => /laned (ready|degraded) in/.test(l)) ?? '')?.[1] ?? NaN);
    await sleep(5000);
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${d.proc.pid}/status`, 'utf8'))?.[1]);
    await d.kill('SIGTERM');
    line(`start to ready (spawn to READY line): ${fmt(startMs)} ms (daemon's own: ${own} ms)   target < 1500 ms`);
    line(`idle RSS, simulated lane after 5 s: ${fmt(rssKb / 1024, 1)} MB   target < 90 MB`);
  }

  // Broker QoS 1 throughput with durable sessions.
  {
    const dir = tempDir('laned-bench-');
    const stateDir = join(dir, 'state');
    const d = await startDaemon({ configFile: writeConfig(dir, { devices: {}, broker: { maxOfflineQueue: 100000 } }), stateDir });
    const pw = Credentials.readGenerated(stateDir).technician!;
    const ours = await brokerThroughput(d.brokerUrl, { username: 'technician', password: pw }, 20000);
    await d.kill('SIGTERM');
    let cmp = '';
    if (hasMosquitto) {
      const m = await startMosquitto();
      const theirs = await brokerThroughput(m.url, {}, 20000);
      await m.stop();
      cmp = `   mosquitto: ${fmt(theirs)} msg/s   ratio laned/mosquitto ${fmt(ours / theirs, 2)}`;
    }
    line(`broker QoS 1 durable sessions, 20000 x 250 B: laned ${fmt(ours)} msg/s${cmp}`);
  }

  // Outbox -> broker -> inbox, durable end to end.
  for (const [label, settings, n] of [
    ['max rate', { batch: 20, intervalMs: 0 }, 5000],
    ['at 2,000 ev/s (20 per transaction every 10 ms)', { batch: 20, intervalMs: 10 }, 10000],
    ['paced, one event per transaction', { batch: 1, intervalMs: 1 }, 3000],
  ] as const) {
    const dir = tempDir('laned-bench-');
    const stateDir = join(dir, 'state');
    const d = await startDaemon({ configFile: writeConfig(dir, { devices: {} }), stateDir });
    const ours = await endToEnd(stateDir, n, settings);
    await d.kill('SIGTERM');
    let cmp = '';
    if (hasMosquitto) {
      const m = await startMosquitto();
      const dir2 = tempDir('laned-bench-');
      seedRuntime(join(dir2, 'state'), m.url);
      const theirs = await endToEnd(join(dir2, 'state'), n, settings);
      await m.stop();
      cmp = `   via mosquitto: ${fmt(theirs.eventsPerSec)} ev/s p50 ${fmt(theirs.p50ms, 1)} p99 ${fmt(theirs.p99ms, 1)} ms   ratio ${fmt(ours.eventsPerSec / theirs.eventsPerSec, 2)}`;
    }
    line(
      `outbox->broker->inbox ${label} (${ours.n} events): ${fmt(ours.eventsPerSec)} ev/s p50 ${fmt(ours.p50ms, 1)} ms p99 ${fmt(ours.p99ms, 1)} ms${cmp}   target >= 2000 ev/s, p99 < 20 ms`,
    );
  }
  // Drivers.
  {
    // in a process of its own: cpuUsage() is per process
    const out = execFileSync(process.execPath, [fileURLToPath(new URL('./drivers.js', import.meta.url))], { encoding: 'utf8' });
    const { nau, codesPerSec } = JSON.parse(out.trim().split('\n').pop()!) as { nau: { percent: number; samples: number }; codesPerSec: number };
    line(
      `NAU7802 pipeline at 320 SPS (real driver on the fake I2C bus, a process of its own): ${fmt(nau.percent, 2)} % of one core at ${fmt(nau.samples / 10, 0)} samples/s   target < 5 %`,
    );
    line(`scanner framer + decoder: ${fmt(codesPerSec)} codes/s`);
  }
  // Touch UI: scan -> line in the DOM, in Debian's chromium (test/bench/ui-latency.ts).
  line(await uiLatency());
  console.log('\nsummary:\n' + results.map((r) => `  ${r}`).join('\n'));
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.stack);
    process.exit(1);
  },
);
