import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { chromium } from 'playwright-core';
import { healthz, startDaemon, tempDir, writeConfig, type RunningDaemon } from '../../helpers/daemon.js';
import { eventually } from '../../helpers/wait.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../../e2e/helpers/kiosk.js';

// The state directory on a small tmpfs in a private mount namespace (unshare(1)
// as root: mount(2) needs CAP_SYS_ADMIN), filled from inside that namespace
// (nsenter(1)) while the lane runs: first nearly full (the alarm, before any
// write fails), then full (scans cannot be stored: the lane says failed and the
// shopper is asked to scan again through doc/devices, never left guessing).

const TMPFS_MB = 48;
const ALARM_MB = 6;

interface Health {
  status: string;
  reasons: string[];
  services: Array<{ name: string; state: string; detail?: string; lastSeq: number }>;
  stateDisk?: { freeBytes: number; totalBytes: number; alarm?: string };
}

function run(cmd: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { timeout: 60_000 }, (err, out, errOut) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out, err: errOut })),
  );
}

/** Run a command in the daemon's mount namespace, where the tmpfs is. */
const inLane = (d: RunningDaemon, cmd: string[]) => run('nsenter', ['-t', String(d.proc.pid), '-m', ...cmd]);

t.test('a filling state disk: degraded before the first lost write, failed when writes fail, the shopper asked to scan again', async (t) => {
  t.equal(process.getuid?.(), 0, 'runs as root, as CI does (mount namespaces need CAP_SYS_ADMIN)');
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir);
  const d = await startDaemon({
    configFile: writeConfig(dir, { health: { checkMs: 200, diskMinFreeMB: ALARM_MB } }),
    stateDir,
    wrap: [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      `mount -t tmpfs -o size=${TMPFS_MB}m laned-state "$1" && shift && exec "$@"`,
      'sh',
      stateDir,
    ],
  });
  t.teardown(() => d.kill('SIGKILL'));

  const password = (JSON.parse((await inLane(d, ['cat', join(stateDir, 'credentials.json')])).out) as { technician: string }).technician;
  const asTechnician = ['-h', '127.0.0.1', '-p', String(d.brokerPort), '-u', 'technician', '-P', password, '-q', '1'];
  let n = 0;
  const scan = () =>
    run('mosquitto_pub', [
      ...asTechnician,
      '-t',
      'cmd/sim/Scan',
      '-m',
      JSON.stringify({ id: `fill-${++n}`, args: { code: '4006381333931', device: 'scanner' } }),
    ]);
  // doc/devices as a reader outside the lane sees it (the screen reads the same document)
  const docs: Array<{ lostScans?: { count: number; last?: { device: string; reason: string } } }> = [];
  const sub = spawn('mosquitto_sub', [...asTechnician, '-t', 'doc/devices']);
  t.teardown(() => sub.kill());
  let buf = '';
  sub.stdout.on('data', (b: Buffer) => {
    buf += b.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      docs.push(JSON.parse(buf.slice(0, i)) as (typeof docs)[number]);
      buf = buf.slice(i + 1);
    }
  });

  // the shopper's screen, in a real Chromium on the lane's own origin
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${d.httpUrl}/`);
  await page.waitForFunction(
    () => (globalThis as { laned?: { state: { online: boolean; docs: { devices?: unknown } } } }).laned?.state.docs.devices !== undefined,
  );

  const first = await healthz<Health>(d);
  t.equal(first.body.status, 'ready', `ready on an empty tmpfs: ${first.body.reasons.join('; ')}`);
  t.equal(first.body.stateDisk?.totalBytes, TMPFS_MB * 1024 * 1024, 'the state disk is the tmpfs');

  // nearly full: less than health.diskMinFreeMB left, every write still fits
  const free = first.body.stateDisk!.freeBytes;
  t.equal((await inLane(d, ['fallocate', '-l', String(free - 3 * 1024 * 1024), join(stateDir, 'filler-1')])).code, 0, 'filled to 3 MB free');
  const nearly = await eventually(async () => {
    const h = await healthz<Health>(d);
    return h.body.reasons.some((r) => /^disk .*: nearly full/.test(r)) ? h : undefined;
  }, 'the nearly-full alarm');
  t.equal(nearly.body.status, 'degraded', 'degraded: the lane still sells');
  t.equal(nearly.code, 200);
  t.match(
    nearly.body.reasons.find((r) => r.startsWith('disk ')),
    /nearly full: \d+\.\d MB free of 48\.0 MB \(alarm below 6\.0 MB, health\.diskMinFreeMB\)/,
    'the alarm says how much is left and the key',
  );
  // a scan is stored once the scanner publishes it from its outbox
  const scans = await mqtt.connectAsync(d.brokerUrl, { clientId: 'full-disk-scans', username: 'technician', password, reconnectPeriod: 0 });
  t.teardown(() => scans.end(true));
  await scans.subscribeAsync('evt/scanner/BarcodeScanned', { qos: 1 });
  const stored = new Promise((resolve) => scans.once('message', resolve));
  t.equal((await scan()).code, 0);
  await stored;
  t.notOk(
    docs.some((x) => x.lostScans),
    'the alarm came before any scan was lost',
  );
  t.equal((await healthz<Health>(d)).body.status, 'degraded', 'still degraded, not failed, while writes succeed');

  // full: nothing more fits
  const dd = await inLane(d, ['dd', 'if=/dev/zero', `of=${join(stateDir, 'filler-2')}`, 'bs=64k']);
  t.match(dd.err, /No space left on device/, 'filled to the last block');
  let sent = 0;
  for (; sent < 60 && !docs.some((x) => x.lostScans); sent++) {
    t.equal((await scan()).code, 0);
    await eventually(async () => (docs.some((x) => x.lostScans) ? true : undefined), 'a lost scan', 1500).catch(() => undefined);
  }
  const lost = docs.find((x) => x.lostScans)?.lostScans;
  t.ok(lost, `doc/devices reports the lost scan after ${sent} scans on the full disk`);
  t.equal(lost?.count, 1);
  t.equal(lost?.last?.device, 'scanner', 'names the device');
  t.match(lost?.last?.reason, /SQLITE_FULL|full/, 'and why');

  await page.getByTestId('message').filter({ hasText: 'please scan the item again' }).waitFor({ timeout: 15_000 });
  t.ok(await page.getByTestId('message').filter({ hasText: 'please scan the item again' }).isVisible(), 'the screen asks the shopper to scan again');

  const failed = await eventually(async () => {
    const h = await healthz<Health>(d);
    return h.body.status === 'failed' ? h : undefined;
  }, 'health failed');
  t.equal(failed.code, 503, 'failed answers 503');
  const devices = failed.body.services.find((s) => s.name === 'devices')!;
  t.equal(devices.state, 'write-failing', 'the devices host is not running: its store refuses writes');
  t.match(devices.detail, /devices\.db: \d+ writes? refused since .*(SQLITE_FULL|full)/);
  t.match(failed.body.reasons.join('\n'), /^disk .*: full: 0\.0 MB free/m, 'the disk alarm says full');
  t.match(failed.body.reasons.join('\n'), /^service devices: write-failing: /m);
  const metrics = await (await fetch(`${d.httpUrl}/metrics`)).text();
  t.match(metrics, /laned_scans_lost_total\{device="scanner"\} 1/, 'counted');

  // space again: the lane mends without a restart
  t.equal((await inLane(d, ['rm', join(stateDir, 'filler-1'), join(stateDir, 'filler-2')])).code, 0);
  await eventually(async () => ((await healthz<Health>(d)).body.status === 'ready' ? true : undefined), 'ready again once there is room');
});
