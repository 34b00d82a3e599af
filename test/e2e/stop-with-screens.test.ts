import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startKiosk } from './helpers/kiosk.js';
import { query } from '../helpers/daemon.js';
import { Credentials } from '../../broker/credentials.js';
import { RUNNING_MARKER, UNSAFE_FILE } from '../../daemon/lifecycle/unsafe-shutdown.js';

// `systemctl stop laned` on a board: the kiosk is always connected (MQTT over
// WebSocket), store tools and technicians watch over TCP, a shopper is mid-basket.
// The stop must end (exit 0, no unsafe shutdown, every outbox flushed), close the
// screen's WebSocket properly and show the offline banner while it runs.

const COLA = { code: '5449000000996', gtin: '05449000000996' };
const TCP_CLIENTS = 20;
/** The bound the lane promises for this stop (TimeoutStopSec is 30 s). */
const STOP_BOUND_MS = 5000;

t.test('SIGTERM with a kiosk page, 20 TCP clients and an open transaction', async (t) => {
  const k = await startKiosk();
  t.teardown(() => k.close());
  const { page, tech, daemon } = k;
  page.setDefaultTimeout(20_000);

  // Every WebSocket close the page sees, with its code (RFC 6455 7.4.1: 1001 going away).
  await k.context.addInitScript(() => {
    const closes: Array<{ code: number; wasClean: boolean }> = [];
    (globalThis as unknown as { wsCloses: typeof closes }).wsCloses = closes;
    const Native = globalThis.WebSocket;
    globalThis.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        this.addEventListener('close', (e) => closes.push({ code: e.code, wasClean: e.wasClean }));
      }
    };
  });
  await page.reload();
  await page.locator('main[data-screen="welcome"]').waitFor();
  await page.locator('[data-testid="offline-banner"]').waitFor({ state: 'detached' });

  // 20 mosquitto_sub clients, each connected once it printed the retained doc/basket
  const password = Credentials.readGenerated(k.stateDir).technician!;
  const subs: ChildProcess[] = [];
  t.teardown(() => {
    for (const s of subs) s.kill('SIGKILL');
  });
  await Promise.all(
    Array.from({ length: TCP_CLIENTS }, (_, i) => {
      const sub = spawn('mosquitto_sub', [
        '-h',
        '127.0.0.1',
        '-p',
        String(daemon.brokerPort),
        '-u',
        'technician',
        '-P',
        password,
        '-i',
        `stop-watch-${i}`,
        '-t',
        'doc/#',
        '-v',
      ]);
      subs.push(sub);
      return new Promise<void>((resolve, reject) => {
        let out = '';
        sub.stdout!.on('data', (b: Buffer) => {
          out += b.toString();
          if (out.includes('doc/basket ')) resolve();
        });
        sub.once('exit', (code) => reject(new Error(`mosquitto_sub ${i} exited with ${code} before it was connected`)));
      });
    }),
  );

  // a shopper mid-basket
  await tech.sim('Scan', { code: COLA.code });
  await tech.until(() => tech.basket?.status === 'open' && tech.basket.lines.some((l) => l.gtin === COLA.gtin), 'the can in doc/basket');
  await page.locator(`[data-testid="basket-line"][data-gtin="${COLA.gtin}"]`).waitFor();
  const health = (await (await fetch(`${daemon.httpUrl}/healthz`)).json()) as { broker: { clients: number } };
  t.ok(health.broker.clients >= TCP_CLIENTS + 2, `the broker has the watchers and the screen's connections: ${health.broker.clients} clients`);

  // the offline banner, reported by the page the moment it is drawn
  let bannerWhileRunning: boolean | undefined;
  await page.exposeBinding('offlineBannerShown', () => {
    bannerWhileRunning ??= daemon.proc.exitCode === null && daemon.proc.signalCode === null;
  });
  await page.evaluate(() => {
    const report = (globalThis as unknown as { offlineBannerShown: () => void }).offlineBannerShown;
    new MutationObserver((_, obs) => {
      if (!document.querySelector('[data-testid="offline-banner"]')) return;
      obs.disconnect();
      report();
    }).observe(document.body, { childList: true, subtree: true });
  });

  const t0 = performance.now();
  const exited = daemon.exited.then((code) => ({ code, ms: performance.now() - t0 }));
  daemon.proc.kill('SIGTERM');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const result = await Promise.race([exited, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), STOP_BOUND_MS)))]);
  clearTimeout(timer);
  if (!result) {
    await daemon.kill('SIGKILL');
    t.fail(`laned still running ${STOP_BOUND_MS} ms after SIGTERM; last lines:\n${daemon.lines.slice(-10).join('\n')}`);
    return;
  }
  t.equal(result.code, 0, 'exit code 0');
  t.ok(result.ms < STOP_BOUND_MS, `stopped in ${Math.round(result.ms)} ms`);

  await page.locator('[data-testid="offline-banner"]').waitFor();
  t.equal(bannerWhileRunning, true, 'the screen showed its offline banner while laned was still stopping');
  const closes = (await page.evaluate(() => (globalThis as unknown as { wsCloses: Array<{ code: number; wasClean: boolean }> }).wsCloses)).slice(0, 2);
  t.same(
    closes,
    [
      { code: 1001, wasClean: true },
      { code: 1001, wasClean: true },
    ],
    "both of the screen's connections (documents, commands) were closed with 1001 going away",
  );
  t.ok(
    daemon.lines.some((l) => /closed 2 WebSocket clients/.test(l)),
    'laned logged closing the screens',
  );

  t.notOk(existsSync(join(k.stateDir, RUNNING_MARKER)), 'the running marker is gone: the next start counts no unsafe shutdown');
  const unsafe = existsSync(join(k.stateDir, UNSAFE_FILE)) ? (JSON.parse(readFileSync(join(k.stateDir, UNSAFE_FILE), 'utf8')) as { count: number }).count : 0;
  t.equal(unsafe, 0, 'no unsafe shutdown counted');
  for (const f of readdirSync(k.stateDir).filter((x) => x.endsWith('.db') && x !== 'broker.db')) {
    const hasOutbox = await query(join(k.stateDir, f), "SELECT name FROM sqlite_master WHERE name = 'outbox'");
    if (!hasOutbox.length) continue;
    const [u] = await query<{ n: number | null }>(join(k.stateDir, f), 'SELECT sum(sent = 0) AS n FROM outbox');
    t.equal(u!.n ?? 0, 0, `${f}: every event acknowledged before the exit`);
  }
  const [open] = await query<{ status: string }>(join(k.stateDir, 'basket.db'), 'SELECT status FROM basket_txns ORDER BY n DESC LIMIT 1');
  t.equal(open!.status, 'open', 'the transaction stays open for the next start');
});
