import { freePort } from '../../helpers/daemon.js';
/**
 * The touch UI under test: the real daemon as a child process (dist/), Debian's
 * chromium driven by playwright-core with touch enabled, and a technician MQTT
 * client that drives the simulated devices and reads the retained documents
 * the screen must agree with. Waits are on conditions, never on time.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startDaemon, tempDir, writeConfig, ROOT, type RunningDaemon } from '../../helpers/daemon.js';
import { Credentials, hashPassword } from '../../../broker/credentials.js';
import { noDelay } from '../../../daemon/runtime/mqtt.js';
import { BasketView } from '../../../daemon/services/basket/doc.js';
import type { Json } from '../../helpers/json.js';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];
export const PANELS = [
  { width: 1280, height: 800 },
  { width: 1024, height: 600 },
] as const;
export const SCREENSHOTS = join(ROOT, 'test/e2e/screenshots');
export const PIN = '2468';

/** The simulated lane without the scanner's demo script (the test scans). */
export const DEVICES = {
  scanner: { kind: 'serial-scanner', simulate: true, path: '/dev/serial/by-id/usb-laned_sim_scanner-if00', suffix: 'CR', rcnLayout: 'de' },
  scanscale: { kind: 'magellan', simulate: true, path: '/dev/serial/by-id/usb-laned_sim_magellan-if00', rcnLayout: 'de' },
  bagscale: { kind: 'nau7802', simulate: true, division: 2, capacityG: 30000, nominalCountsPerGram: 100, requireCalibration: false },
  light: { kind: 'gpio-output', simulate: true, bcm: 17, initial: 'on' },
  keyswitch: { kind: 'gpio-input', simulate: true, bcm: 22, activeLow: true },
};

export interface Basket {
  rev: number;
  txn: string | null;
  status: string;
  currency: string;
  lines: Array<{ line: string; gtin: string; name: string; quantity: number; price: number; unit: string; grams?: number; pendingRemoval?: number }>;
  total: number;
  items: number;
  lineCount: number;
  pages: number;
  linesRev: number;
  blocked: number;
  payment?: string;
  notice?: { code: string; text: string };
  last?: { txn: string; status: string; total: number };
}

/** A technician at the lane: simulated devices in, retained documents out. */
export class Technician {
  private client: MqttClient | undefined;
  readonly docs = new Map<string, Json>();
  private n = 0;
  private readonly waiters = new Set<() => void>();
  private readonly replies = new Map<string, (r: { ok: boolean; result?: unknown; error?: string }) => void>();

  async connect(brokerUrl: string, password: string): Promise<void> {
    this.client?.end(true);
    this.docs.clear();
    const id = `test-tech-${Math.random().toString(36).slice(2, 8)}`;
    const c = noDelay(mqtt.connect(brokerUrl, { clientId: id, username: 'technician', password, reconnectPeriod: 0, clean: true }));
    this.client = c;
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
    });
    const basketView = new BasketView();
    c.on('message', (topic, payload) => {
      if (topic.startsWith('doc/')) {
        const name = topic.slice(4);
        const doc: unknown = payload.length ? JSON.parse(payload.toString('utf8')) : undefined;
        // doc/basket with its pages of lines: `docs.get('basket')` is the whole basket
        if (BasketView.covers(name)) {
          const basket = basketView.take(name, doc);
          if (basket) this.docs.set('basket', basket);
        } else if (doc === undefined) this.docs.delete(name);
        else this.docs.set(name, doc);
      } else if (topic.startsWith(`reply/${id}/`)) {
        const r = JSON.parse(payload.toString('utf8')) as { id: string; ok: boolean };
        this.replies.get(r.id)?.(r);
        this.replies.delete(r.id);
      }
      for (const w of [...this.waiters]) w();
    });
    // docs on their own subscription; replies too (doc order per publisher holds on this client: see ui-static/js/connection.js)
    await c.subscribeAsync(['doc/#', `reply/${id}/#`], { qos: 1 });
    this.replyPrefix = `reply/${id}/`;
  }

  private replyPrefix = '';

  /** `cmd/<service>/<name>` as the technician; resolves with the reply. */
  command(service: string, name: string, args?: unknown): Promise<{ ok: boolean; result?: Json; error?: string }> {
    const id = `t${++this.n}-${Date.now()}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to cmd/${service}/${name} within 20 s`)), 20_000);
      this.replies.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.client!.publish(
        `cmd/${service}/${name}`,
        JSON.stringify({ id, ...(args === undefined ? {} : { args }), replyTo: `${this.replyPrefix}${id}`, by: 'test' }),
        { qos: 1 },
      );
    });
  }

  async sim(name: 'Scan' | 'Weight' | 'Produce', args: Record<string, unknown>): Promise<void> {
    const r = await this.command('sim', name, args);
    if (!r.ok) throw new Error(`cmd/sim/${name} ${JSON.stringify(args)} refused: ${r.error}`);
  }

  /** Resolves when `cond` holds on the documents (checked on every message). */
  until<T>(cond: () => T | undefined | false, what: string, timeoutMs = 20_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        let v: T | undefined | false;
        try {
          v = cond();
        } catch {
          v = undefined;
        }
        if (v) {
          this.waiters.delete(check);
          clearTimeout(timer);
          resolve(v);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(
            `timed out waiting for ${what}; doc/basket: ${JSON.stringify(this.docs.get('basket'))}; doc/lane: ${JSON.stringify(this.docs.get('lane'))}`,
          ),
        );
      }, timeoutMs);
      if (!check()) this.waiters.add(check);
    });
  }

  get basket(): Basket | undefined {
    return this.docs.get('basket') as Basket | undefined;
  }

  end(): void {
    this.client?.end(true);
  }
}

/** In-page (source text, untouched by the bundler): visible buttons smaller than 48x48 CSS px. */
const SMALL_TARGETS = `[...document.querySelectorAll('button')]
  .map((b) => [b, b.getBoundingClientRect()])
  .filter(([b, r]) => r.width > 0 && r.height > 0 && (r.width < 48 || r.height < 48))
  .map(([b, r]) => (b.dataset.testid || b.textContent) + ' ' + Math.round(r.width) + 'x' + Math.round(r.height))`;

export interface Kiosk {
  dir: string;
  stateDir: string;
  httpPort: number;
  url: string;
  daemon: RunningDaemon;
  tech: Technician;
  context: BrowserContext;
  page: Page;
  /** Start the daemon again on the same state directory and HTTP port. */
  restart(): Promise<void>;
  kill(): Promise<void>;
  /** Screenshot the page at both panel sizes as test/e2e/screenshots/<name>-<w>x<h>.png. */
  shoot(name: string): Promise<void>;
  /** Touch targets under 48x48 px seen by shoot(), described. */
  smallTargets: string[];
  close(): Promise<void>;
}

export interface KioskOptions {
  services?: Record<string, unknown>;
  lang?: string;
}

/** The lane (child process, simulated devices) and a chromium kiosk on its UI. */
export async function startKiosk(opts: KioskOptions = {}): Promise<Kiosk> {
  const dir = tempDir('laned-ui-');
  const stateDir = join(dir, 'state');
  const pinHash = await hashPassword(PIN);
  // A fixed HTTP port, so that the page finds the lane again after a restart. Picked free,
  // it can still be taken by another test before the daemon binds it: then another one.
  let httpPort = 0;
  let configFile = '';
  const startFirst = async (attempt = 1): Promise<RunningDaemon> => {
    httpPort = await freePort();
    configFile = writeConfig(dir, {
      devices: DEVICES,
      http: { port: httpPort },
      services: {
        attendant: { enabled: true, pinHash },
        payment: { enabled: true, terminal: { kind: 'simulated', delayMs: 300 } },
        ...opts.services,
      },
    });
    try {
      return await startDaemon({ configFile, stateDir });
    } catch (err) {
      if (attempt >= 5 || !/EADDRINUSE/.test((err as Error).message)) throw err;
      return startFirst(attempt + 1);
    }
  };
  let daemon = await startFirst();
  const tech = new Technician();
  const techPassword = (): string => Credentials.readGenerated(stateDir).technician!;
  await tech.connect(daemon.brokerUrl, techPassword());
  await tech.until(() => tech.basket, 'the first doc/basket');

  const profile = tempDir('laned-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { ...PANELS[0] },
    hasTouch: true,
    isMobile: false,
    locale: 'en-GB',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const url = `http://127.0.0.1:${httpPort}/${opts.lang ? `?lang=${opts.lang}` : ''}`;
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  await page.goto(url);
  mkdirSync(SCREENSHOTS, { recursive: true });

  const kiosk: Kiosk = {
    dir,
    stateDir,
    httpPort,
    url,
    daemon,
    tech,
    context,
    page,
    smallTargets: [],
    async restart() {
      daemon = await startDaemon({ configFile, stateDir });
      kiosk.daemon = daemon;
      await tech.connect(daemon.brokerUrl, techPassword());
      await tech.until(() => tech.basket, 'doc/basket after the restart');
    },
    async kill() {
      await daemon.kill('SIGKILL');
    },
    async shoot(name) {
      for (const p of PANELS) {
        await page.setViewportSize({ ...p });
        // two frames: layout and paint at the new size
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
        await page.screenshot({ path: join(SCREENSHOTS, `${name}-${p.width}x${p.height}.png`) });
        const small = (await page.evaluate(SMALL_TARGETS)) as string[];
        for (const s of small) kiosk.smallTargets.push(`${name} at ${p.width}x${p.height}: ${s}`);
      }
      await page.setViewportSize({ ...PANELS[0] });
    },
    async close() {
      await context.close().catch(() => undefined);
      tech.end();
      await daemon.kill('SIGTERM');
      if (problems.length) throw new Error(problems.join('\n'));
    },
  };
  return kiosk;
}

/** The basket as the screen shows it, row by row. */
export async function screenBasket(
  page: Page,
): Promise<{ rev: string | null; rows: Array<{ line: string; name: string; qty: number; price: number; gtin: string }> }> {
  return page.evaluate(() => {
    const list = document.querySelector('[data-testid="basket"]');
    const rows = [...document.querySelectorAll<HTMLElement>('[data-testid="basket-line"]')].map((li) => ({
      line: li.dataset.line ?? '',
      gtin: li.dataset.gtin ?? '',
      name: li.querySelector('.line-name')?.textContent ?? '',
      qty: Number(li.dataset.qty),
      price: Number(li.dataset.price),
    }));
    return { rev: list?.getAttribute('data-rev') ?? null, rows };
  });
}

/** What doc/basket says the screen must show. */
export function docRows(b: Basket): Array<{ line: string; name: string; qty: number; price: number; gtin: string }> {
  return b.lines.map((l) => ({ line: l.line, gtin: l.gtin, name: l.name, qty: l.quantity, price: l.price }));
}
