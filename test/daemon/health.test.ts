import t, { type Test } from 'tap';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { healthz, startDaemon, tempDir, writeConfig, sleep, ROOT } from '../helpers/daemon.js';
import { eventually } from '../helpers/wait.js';
import { lanectl } from '../helpers/lanectl.js';
import { statusLine } from '../../daemon/lifecycle/status-line.js';
import type { ServiceStatus } from '../../daemon/runtime/runtime.js';

interface Health {
  status: string;
  reasons: string[];
  statusLine: string;
  devices: Array<{ name: string; state: string }>;
  unsafeShutdowns: { count: number; thisStart: boolean; lastStartedAt?: string };
  watchdog: { enabled: boolean };
  version: string;
}

/** One sample of a Prometheus text exposition: `name{labels} value`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[4]);
  }
  return undefined;
}

t.test('/healthz and /metrics say what a technician and store IT need', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  const d = await startDaemon({ configFile: writeConfig(dir, {}), stateDir });
  t.teardown(() => d.kill('SIGKILL'));

  const h = await healthz<Health>(d);
  t.equal(h.code, 200);
  t.equal(h.body.status, 'ready');
  t.same(h.body.reasons, []);
  t.equal(h.body.devices.length, 9, 'every device listed');
  t.equal(h.body.version, (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version, 'the package version');
  t.same(h.body.unsafeShutdowns, { count: 0, thisStart: false }, 'no unsafe shutdown on a fresh state directory');
  t.equal(h.body.watchdog.enabled, false, 'no watchdog outside systemd');
  t.match(h.body.statusLine, /^ready: 9\/9 devices ok/);

  for (const code of ['4006381333931', '5449000000996']) t.equal((await lanectl(stateDir, ['sim', 'scan', code, '--device', 'scanner'])).code, 0);
  const m = await eventually(async () => {
    const text = await (await fetch(`${d.httpUrl}/metrics`)).text();
    const taken = (sample(text, 'laned_events_in_total', { service: 'catalog' }) ?? 0) >= 2;
    return taken && sample(text, 'laned_outbox_backlog', { source: 'devices' }) === 0 ? text : undefined;
  }, 'the catalog to take both scans and the scanner’s outbox to empty');
  // events in and out, outbox backlog, dead letters, device states, broker clients, event-loop lag, RSS
  t.ok((sample(m, 'laned_events_out_total', { source: 'scanner' }) ?? 0) >= 2, 'events out per source (the scans)');
  t.ok((sample(m, 'laned_events_in_total', { service: 'catalog' }) ?? 0) >= 2, 'events in per consuming service');
  t.equal(sample(m, 'laned_outbox_backlog', { source: 'devices' }), 0, 'outbox backlog per service');
  t.equal(sample(m, 'laned_dead_letters', { service: 'devices' }), 0, 'dead letters per service');
  t.equal(sample(m, 'laned_device_state', { device: 'scanner', kind: 'serial-scanner', state: 'ok' }), 1, 'device states');
  t.ok((sample(m, 'laned_broker_clients') ?? 0) >= 2, 'broker clients');
  t.ok(sample(m, 'laned_nodejs_eventloop_lag_seconds') !== undefined, 'event-loop lag');
  t.ok((sample(m, 'laned_process_resident_memory_bytes') ?? 0) > 10e6, 'RSS');
  t.equal(sample(m, 'laned_health', { status: 'ready' }), 1, 'health status');
  t.equal(sample(m, 'laned_unsafe_shutdowns'), 0, 'unsafe shutdowns');

  // a device goes away: degraded, still 200, the reason names it
  t.equal((await lanectl(stateDir, ['sim', 'unplug', 'scanner'])).code, 0);
  const down = await eventually(async () => {
    const x = await healthz<Health>(d);
    return x.body.status === 'ready' ? undefined : x;
  }, '/healthz to leave ready');
  t.equal(down.code, 200, 'degraded still answers 200 (the lane serves)');
  t.equal(down.body.status, 'degraded');
  t.match(down.body.reasons, ['device scanner: disconnected'], 'the reason names the device');
  const m2 = await (await fetch(`${d.httpUrl}/metrics`)).text();
  t.equal(sample(m2, 'laned_device_state', { device: 'scanner', kind: 'serial-scanner', state: 'disconnected' }), 1, 'device state in /metrics');
  t.equal(sample(m2, 'laned_device_state', { device: 'scanner', kind: 'serial-scanner', state: 'ok' }), undefined, 'only the current state is 1');
  t.equal(sample(m2, 'laned_health', { status: 'degraded' }), 1);
  const st = await lanectl(stateDir, ['status']);
  t.equal(st.code, 1, 'lanectl status exits 1 while degraded');
  t.match(st.out, /lane: degraded \(device scanner: disconnected\)/);
  t.match(st.out, /^devices: scanner disconnected, scanscale ok/m, 'and lists the devices');
  t.equal(await d.kill('SIGTERM'), 0);
});

/** A lane whose `<service>.db` cannot be opened (a directory in its place): not corruption, nothing to move aside. */
async function withUnopenableDb(t: Test, service: string) {
  const stateDir = join(tempDir(), 'state');
  mkdirSync(join(stateDir, `${service}.db`), { recursive: true });
  const d = await startDaemon({ configFile: writeConfig(join(stateDir, '..'), {}), stateDir });
  t.teardown(() => d.kill('SIGKILL'));
  return { d, stateDir };
}

t.test('a service the checkout needs fails at start: failed and 503, says which, and keeps running', async (t) => {
  const { d, stateDir } = await withUnopenableDb(t, 'basket');

  const h = await healthz<Health>(d);
  t.equal(h.code, 503, '/healthz answers 503: the lane cannot sell');
  t.equal(h.body.status, 'failed');
  t.match(h.body.reasons, [/^service basket: .*basket\.db/], 'the reason names the service and its file');
  const all = Number(/\/(\d+) services running/.exec(h.body.statusLine)?.[1]);
  t.match(
    h.body.statusLine,
    new RegExp(`^failed \\(service basket failed\\): 9/9 devices ok, .*${all - 1}/${all} services running`),
    'STATUS= says failed and why',
  );
  const st = await lanectl(stateDir, ['status']);
  t.equal(st.code, 1, 'lanectl status exits 1');
  t.match(st.out, /lane: failed \(service basket: /);
  const m = await (await fetch(`${d.httpUrl}/metrics`)).text();
  t.equal(sample(m, 'laned_health', { status: 'failed' }), 1, 'health status in /metrics');

  // the subject: no exit in 2 s after the failed start (a crash loop would exit at once)
  await sleep(2000);
  t.equal(d.proc.exitCode, null, 'still running: no crash loop for systemd to restart');
  t.equal((await lanectl(stateDir, ['sim', 'scan', '5449000000996'])).code, 0, 'the other parts still take commands');
  t.equal(await d.kill('SIGTERM'), 0, 'and stop cleanly');
});

t.test('a service the lane can sell without fails at start: degraded, 200', async (t) => {
  const { d } = await withUnopenableDb(t, 'journal');
  const h = await healthz<Health>(d);
  t.equal(h.code, 200);
  t.equal(h.body.status, 'degraded');
  t.match(h.body.reasons, [/^service journal: /]);
  t.equal(await d.kill('SIGTERM'), 0);
});

t.test('the unsafe-shutdown counter: a killed run is counted at the next start, a graceful stop is not', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  const cfg = writeConfig(dir, {});
  const first = await startDaemon({ configFile: cfg, stateDir });
  t.ok(existsSync(join(stateDir, 'laned.running')), 'the marker exists while laned runs');
  t.equal(await first.kill('SIGKILL'), 'SIGKILL', 'a power cut, as far as the state directory can tell');

  const second = await startDaemon({ configFile: cfg, stateDir });
  const h = await healthz<Health>(second);
  t.equal(h.body.unsafeShutdowns.count, 1, 'counted');
  t.equal(h.body.unsafeShutdowns.thisStart, true, 'and this start followed it');
  t.match(h.body.unsafeShutdowns.lastStartedAt, /^\d{4}-\d\d-\d\dT/, 'when the unlucky run had started');
  t.match(h.body.statusLine, /, last stop unsafe \(1 in all\)$/, 'STATUS= says so');
  t.match(await (await fetch(`${second.httpUrl}/metrics`)).text(), /^laned_unsafe_shutdowns 1$/m, '/metrics says so');
  const st = await lanectl(stateDir, ['status']);
  t.match(st.out, /^unsafe shutdowns: 1 \(this start followed one; that run began .+\)$/m, 'lanectl status says so');
  t.match(second.lines.join('\n'), /the previous run did not stop gracefully/, 'and the journal');
  t.equal(await second.kill('SIGTERM'), 0);
  t.notOk(existsSync(join(stateDir, 'laned.running')), 'a graceful stop removes the marker');

  const third = await startDaemon({ configFile: cfg, stateDir });
  t.teardown(() => third.kill('SIGKILL'));
  const h3 = await healthz<Health>(third);
  t.same(
    { count: h3.body.unsafeShutdowns.count, thisStart: h3.body.unsafeShutdowns.thisStart },
    { count: 1, thisStart: false },
    'after a graceful stop: still 1, not this start',
  );
  t.notMatch(h3.body.statusLine, /unsafe/, 'STATUS= no longer mentions it');
  t.equal(await third.kill('SIGTERM'), 0);
});

t.test('the STATUS= line', async (t) => {
  const svc = (name: string, extra: Partial<ServiceStatus> = {}): ServiceStatus => ({
    name,
    state: 'running',
    connected: true,
    outboxBacklog: 0,
    deadLetters: 0,
    applied: 0,
    lastSeq: 0,
    ...extra,
  });
  const services = [
    svc('devices', { devices: ['scanner:ok', 'scale:ok', 'light:disconnected'] }),
    svc('basket', { txn: 'T-42', outboxBacklog: 2 }),
    svc('attendant', { alarms: 1, deadLetters: 3 }),
    svc('journal', { state: 'failed' }),
  ];
  t.equal(
    statusLine({ phase: 'ready', problems: new Map(), services }),
    'ready: 2/3 devices ok, txn T-42 open, 1 alarm, 3/4 services running, backlog 2, 3 dead letters',
    'what a technician needs at a glance: devices, open transaction, alarms',
  );
  t.equal(
    statusLine({
      phase: 'degraded',
      problems: new Map([
        ['store /var/lib/laned/basket.db', 'database ... failed its integrity check'],
        ['device light', 'disconnected'],
      ]),
      services: [svc('devices', { devices: ['light:disconnected'] })],
      unsafe: { count: 4, thisStart: true },
    }),
    'degraded (database basket.db corrupt, moved aside, +1 more): 0/1 devices ok, 0 alarms, 1/1 services running, backlog 0, 0 dead letters, last stop unsafe (4 in all)',
    'the first problem in short, then the count of the rest',
  );
});
