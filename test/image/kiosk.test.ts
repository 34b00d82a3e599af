import t, { type Test } from 'tap';
import { spawn, execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { ROOT, startDaemon, tempDir, writeConfig } from '../helpers/daemon.js';
import { until } from '../helpers/lane.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../e2e/helpers/kiosk.js';
import { UiHeartbeat } from '../../daemon/http/ui-heartbeat.js';

// The kiosk's watchdog (image/kiosk/laned-kiosk) with Debian's real Chromium on the
// real daemon's page: the page beats (GET /ui/beat), the watchdog reads
// GET /ui/heartbeat, and a frozen page or a dead browser ends the script with 1,
// which laned-kiosk.service's Restart=always turns into a fresh browser. cage is
// left out here (LANED_KIOSK_COMPOSITOR=): it needs a seat.

t.setTimeout(600_000);
const SCRIPT = join(ROOT, 'image/kiosk/laned-kiosk');

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('UiHeartbeat counts beats and their age on a monotonic clock', async (t) => {
  let now = 1000;
  const hb = new UiHeartbeat(() => now);
  t.same(hb.status(), { beats: 0, ageMs: null, uptimeMs: 0 }, 'no beat yet');
  now += 500;
  t.same(hb.beat(), { beats: 1 });
  now += 2500;
  t.same(hb.status(), { beats: 1, ageMs: 2500, uptimeMs: 3000 });
});

async function lane(t: Test) {
  const dir = tempDir('laned-kiosk-');
  const d = await startDaemon({ configFile: writeConfig(dir, {}), stateDir: join(dir, 'state') });
  t.teardown(() => d.kill('SIGKILL'));
  return { d, port: Number(new URL(d.httpUrl).port), dir };
}

t.test('/ui/beat and /ui/heartbeat answer the board only', async (t) => {
  const { port } = await lane(t);
  t.same(JSON.parse((await get(port, '/ui/heartbeat')).body).beats, 0);
  t.same(JSON.parse((await get(port, '/ui/beat')).body), { beats: 1 });
  const s = JSON.parse((await get(port, '/ui/heartbeat')).body) as { beats: number; ageMs: number };
  t.equal(s.beats, 1);
  t.ok(s.ageMs >= 0 && s.ageMs < 60_000, 'the age of the beat');
  const rebound = await get(port, '/ui/beat', { host: 'attacker.example:8080' });
  t.equal(rebound.status, 403, 'a DNS-rebound page cannot beat for the kiosk');
  t.match(rebound.body, /UI heartbeats need a loopback Host header/);
  t.equal((await get(port, '/ui/heartbeat', { 'sec-fetch-site': 'cross-site' })).status, 403, 'nor a cross-site page read it');
});

/** laned-kiosk with Debian's Chromium headless on the lane's page; resolves its exit code. */
function kiosk(t: Test, port: number, dir: string, more: Record<string, string> = {}) {
  const proc = spawn('bash', [SCRIPT], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      LANED_KIOSK_URL: `http://127.0.0.1:${port}/?kiosk`,
      LANED_KIOSK_COMPOSITOR: '',
      LANED_KIOSK_BROWSER: CHROMIUM,
      LANED_KIOSK_FLAGS: [...CHROMIUM_ARGS, `--user-data-dir=${join(dir, 'profile')}`].join(' '),
      LANED_KIOSK_CHECK_S: '1',
      LANED_KIOSK_STALE_S: '8',
      LANED_KIOSK_GRACE_S: '120',
      ...more,
    },
  });
  let log = '';
  proc.stderr.on('data', (b: Buffer) => (log += b.toString()));
  const exited = new Promise<number | string>((r) => proc.on('exit', (c, s) => r(c ?? s ?? -1)));
  /** The browser's process group: the script starts it as a job of its own (set -m). */
  const browserGroup = (): number | undefined => {
    try {
      const kids = execFileSync('pgrep', ['-P', String(proc.pid)], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map(Number);
      return kids.find((k) => Number(execFileSync('ps', ['-o', 'pgid=', '-p', String(k)], { encoding: 'utf8' }).trim()) === k);
    } catch {
      return undefined;
    }
  };
  t.teardown(() => {
    const g = browserGroup();
    if (g) {
      try {
        process.kill(-g, 'SIGCONT');
        process.kill(-g, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    proc.kill('SIGKILL');
  });
  return { proc, exited, log: () => log, browserGroup };
}

t.test('a frozen page is noticed and the browser restarted', async (t) => {
  const { port, dir } = await lane(t);
  const k = kiosk(t, port, dir);
  await until(async () => (JSON.parse((await get(port, '/ui/heartbeat')).body) as { beats: number }).beats >= 2, 120_000, 'the page in Chromium beats');
  t.ok((JSON.parse((await get(port, '/ui/heartbeat')).body) as { beats: number }).beats >= 2, 'Chromium shows the lane and its page beats');
  const group = k.browserGroup();
  t.ok(group, 'the browser runs in a process group of its own');
  process.kill(-group!, 'SIGSTOP'); // the page (and all of Chromium) stops: no more beats
  const code = await k.exited;
  t.equal(code, 1, 'laned-kiosk exits 1, for Restart=always');
  t.match(k.log(), /the page's last heartbeat was \d+ s ago \(limit 8 s\): restarting the browser/, 'and says why');
});

t.test('a browser that dies is restarted; laned down is waited for, not a restart', async (t) => {
  const { d, port, dir } = await lane(t);
  const k = kiosk(t, port, dir);
  await until(async () => (JSON.parse((await get(port, '/ui/heartbeat')).body) as { beats: number }).beats >= 1, 120_000, 'the page in Chromium beats');
  await d.kill('SIGTERM');
  await until(() => /laned does not answer on 127\.0\.0\.1:\d+/.test(k.log()), 30_000, 'the watchdog notices laned is gone');
  t.equal(k.proc.exitCode, null, 'laned down: the kiosk keeps its browser (the page reconnects by itself)');
  const group = k.browserGroup();
  t.ok(group, 'the browser still runs');
  process.kill(-group!, 'SIGKILL');
  t.equal(await k.exited, 1, 'a dead browser: exit 1, for Restart=always');
  t.match(k.log(), /the browser exited \(\d+\): starting it again/);
});
