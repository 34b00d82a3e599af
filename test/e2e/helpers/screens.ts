/**
 * Every screen of the touch UI, each as a name and the steps that drive a
 * running lane to it (taps on the page, cmd/sim/* for the devices, commands as
 * the technician), from the lane's reset state: the welcome screen, no
 * transaction, nothing in the bagging area. The layout test checks each screen
 * at every panel size in every language; add a screen by adding an entry here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT } from '../../helpers/daemon.js';
import { gs1CheckDigit } from '../../../drivers/barcode/gtin.js';
import { PIN, type Kiosk, type Technician } from './kiosk.js';

export interface Item {
  code: string;
  gtin: string;
  name: string;
  g: number;
}

const item = (code: string, name: string, g: number): Item => ({ code, gtin: code.padStart(14, '0'), name, g });

export const COLA = item('5449000000996', 'Cola, 0.33 l can', 350);
export const PEN = item('4006381333931', 'Highlighter pen, yellow', 12);
export const BUTTER = item('2100000000029', 'Butter, 250 g', 256);
export const VODKA = item('2100000000210', 'Vodka, 0.7 l', 1200);
export const BANANAS = { gtin: '02100000000258', name: 'Bananas (per kg)' };
/** A name of the catalog's longest (120 characters): two lines, then an ellipsis. */
const LONG_BODY = '210000000030';
export const LONG = item(
  `${LONG_BODY}${gs1CheckDigit(LONG_BODY)}`,
  'Organic wholegrain spelt and sunflower seed sourdough loaf, stone-baked, sliced, in a resealable family bag, 750 g',
  760,
);
/** A code with a valid check digit that the catalog does not hold: an unknown item. */
const UNKNOWN_BODY = '400638133300';
export const UNKNOWN = `${UNKNOWN_BODY}${gs1CheckDigit(UNKNOWN_BODY)}`;

interface DemoProduct {
  gtin: string;
  name: string;
  weight_g?: number;
}

/** The demo catalog's products (what a simulated lane sells). */
function demoProducts(): DemoProduct[] {
  return (JSON.parse(readFileSync(join(ROOT, 'daemon/services/catalog/demo-catalog.json'), 'utf8')) as { products: DemoProduct[] }).products;
}

/** A running lane and its kiosk, with the steps the screens are reached by. */
export class LaneDriver {
  /** Grams on the bagging scale, as the shopper put them there. */
  bagged = 0;
  private unplugged = new Set<string>();
  private leased = false;

  constructor(readonly k: Kiosk) {}

  get page(): Page {
    return this.k.page;
  }

  get tech(): Technician {
    return this.k.tech;
  }

  /** The demo catalog and one product with a long name (catalog Import replaces the whole catalog). */
  async loadCatalog(): Promise<void> {
    const products = [...demoProducts(), { gtin: LONG.code, name: LONG.name, price: 349, weight_g: LONG.g }];
    const r = await this.tech.command('catalog', 'Import', { content: JSON.stringify({ products }), format: 'json', strict: true });
    if (!r.ok) throw new Error(`catalog Import refused: ${r.error}`);
  }

  testid(id: string) {
    return this.page.locator(`[data-testid="${id}"]`);
  }

  async screen(name: string): Promise<void> {
    await this.page.locator(`main[data-screen="${name}"]`).waitFor();
  }

  async tap(id: string): Promise<void> {
    await this.testid(id).and(this.page.locator(':enabled')).first().tap();
  }

  async sim(name: string, args: Record<string, unknown>): Promise<void> {
    const r = await this.tech.command('sim', name, args);
    if (!r.ok) throw new Error(`cmd/sim/${name} ${JSON.stringify(args)} refused: ${r.error}`);
  }

  async bag(g: number): Promise<void> {
    this.bagged += g;
    await this.sim('Weight', { grams: this.bagged });
  }

  /** Scan `it`, wait for its line, and put it in the bagging area unless told not to. */
  async scan(it: Item, { bag = true } = {}): Promise<void> {
    const before = this.tech.basket?.lines.filter((l) => l.gtin === it.gtin).reduce((n, l) => n + l.quantity, 0) ?? 0;
    await this.sim('Scan', { code: it.code });
    await this.tech.until(
      () => (this.tech.basket?.lines.filter((l) => l.gtin === it.gtin).reduce((n, l) => n + l.quantity, 0) ?? 0) > before,
      `${it.name} in doc/basket`,
    );
    if (bag) await this.bag(it.g);
  }

  async baggedOk(): Promise<void> {
    await this.tech.until(() => this.tech.docs.get('bagging')?.state === 'ok', 'the bagging area as expected');
  }

  /** Shopping with `items` scanned and bagged, on the scan screen. */
  async shopping(items: Item[]): Promise<void> {
    for (const it of items) {
      await this.scan(it);
      await this.baggedOk();
    }
    await this.screen('scan');
    const rev = String(this.tech.basket?.rev ?? '');
    if (items.length) await this.page.locator(`[data-testid="basket"][data-rev="${rev}"]`).waitFor();
  }

  async unplug(device: string): Promise<void> {
    await this.sim('Unplug', { device });
    this.unplugged.add(device);
  }

  /** Pay with the simulated terminal answering `outcome` (timeout: never, until cancelled). */
  async pay(outcome: 'approve' | 'decline' | 'timeout'): Promise<void> {
    const q = await this.tech.command('payment', 'SimQueue', { outcomes: [outcome] });
    if (!q.ok) throw new Error(`SimQueue refused: ${q.error}`);
    await this.tap('pay');
  }

  async signIn(): Promise<void> {
    await this.tap('staff');
    await this.screen('pin');
    for (const d of PIN) await this.tap(`pin-${d}`);
    await this.tap('pin-ok');
    await this.screen('attendant');
  }

  /**
   * The updater's idle lease, asked as the updater asks it (cmd/attendant and
   * cmd/basket UpdateLease): doc/lane says `updating` while it is held.
   */
  async leaseForUpdate(): Promise<void> {
    this.leased = true;
    for (const service of ['basket', 'attendant']) {
      const r = await this.tech.command(service, 'UpdateLease', { seconds: 600 });
      if (!r.ok) throw new Error(`${service} UpdateLease refused: ${r.error}`);
    }
    await this.tech.until(() => this.tech.docs.get('lane')?.updating === true, 'doc/lane updating');
  }

  /** Back to the welcome screen: no transaction, no alert, every device plugged, an empty bagging area, the page reloaded. */
  async reset(): Promise<void> {
    const { tech } = this;
    if (tech.docs.get('lane')?.attendantMode) await this.sim('Input', { device: 'keyswitch', on: false });
    for (const d of this.unplugged) await this.sim('Replug', { device: d });
    this.unplugged.clear();
    if (this.leased) {
      for (const service of ['basket', 'attendant']) {
        const r = await tech.command(service, 'UpdateRelease', {});
        if (!r.ok) throw new Error(`${service} UpdateRelease refused: ${r.error}`);
      }
      this.leased = false;
    }
    if (tech.basket?.status === 'paying') {
      const r = await tech.command('payment', 'Cancel', {});
      if (!r.ok) throw new Error(`payment Cancel refused: ${r.error}`);
      await tech.until(() => tech.basket?.status !== 'paying', 'the payment cancelled');
    }
    if (tech.basket?.txn) {
      const r = await tech.command('basket', 'Cancel', { reason: 'the layout test moves on' });
      if (!r.ok) throw new Error(`basket Cancel refused: ${r.error}`);
    }
    await tech.until(() => tech.basket?.status === 'idle' && !tech.basket.txn, 'no transaction');
    this.bagged = 0;
    await this.sim('Weight', { grams: 0 });
    // the next transaction starts from an empty bagging area only once the scale has said so
    await tech.until(() => {
      const scale = tech.docs.get('devices')?.devices?.find((d: { name: string }) => d.name === 'bagscale');
      const r = scale?.lastReading;
      // no reading yet: nothing was ever put on it
      return scale && (!r || (r.grams === 0 && r.state !== 'unstable'));
    }, 'the bagging scale reads 0 g');
    await tech.until(() => {
      const lane = tech.docs.get('lane');
      return lane && !lane.attendantMode && !lane.closed && !lane.updating && (lane.interventions ?? []).length === 0;
    }, 'doc/lane with nothing open');
    await this.page.goto(this.k.url);
    await this.screen('welcome');
    await this.testid('start').and(this.page.locator(':enabled')).waitFor();
  }
}

export interface ScreenDef {
  name: string;
  /** From the reset lane to this screen; resolves once it shows. */
  reach(lane: LaneDriver): Promise<void>;
  /** A screen that a touch dismisses (the language button is one): shown again after the language is switched. */
  again?(lane: LaneDriver): Promise<void>;
}

/** The idle warning now, staying for an hour: the pause the kiosk would wait for is skipped, not the warning itself. */
async function idleWarning(l: LaneDriver): Promise<void> {
  await l.page.evaluate(() => {
    const idle = (globalThis as unknown as { laned: { idle: { warnSeconds: number; tick(): void } } }).laned.idle;
    idle.warnSeconds = 3600;
    idle.tick();
  });
  await l.testid('idle-warning').waitFor();
}

export const SCREENS: ScreenDef[] = [
  { name: 'welcome', reach: async () => undefined },
  {
    name: 'closed',
    async reach(l) {
      await l.unplug('bagscale');
      await l.testid('lane-closed').waitFor();
    },
  },
  {
    name: 'updating',
    async reach(l) {
      await l.leaseForUpdate();
      await l.screen('updating');
    },
  },
  {
    name: 'idle-warning',
    async reach(l) {
      await l.tap('start');
      await l.testid('basket-empty').waitFor();
      await idleWarning(l);
    },
    again: idleWarning,
  },
  {
    name: 'scan-empty',
    async reach(l) {
      await l.tap('start');
      await l.testid('basket-empty').waitFor();
    },
  },
  {
    name: 'scan-items',
    async reach(l) {
      await l.shopping([COLA, LONG, BUTTER]);
    },
  },
  {
    name: 'scan-many',
    async reach(l) {
      const names = [COLA, PEN, BUTTER, LONG];
      const more = ['2100000000012', '2100000000036', '2100000000043', '2100000000050', '2100000000067', '2100000000074', '2100000000081', '2100000000098'];
      const catalog = new Map(demoProducts().map((p) => [p.gtin, p]));
      for (const code of more) {
        const p = catalog.get(code)!;
        names.push(item(code, p.name, p.weight_g ?? 0));
      }
      await l.shopping([...names, ...names.slice(0, 6)]);
    },
  },
  {
    name: 'scan-notices',
    async reach(l) {
      // three notices beside the basket: help called, an unknown item, produce to weigh
      await l.shopping([COLA]);
      await l.tap('help');
      await l.page.locator('[data-testid="notice"][data-kind="assistance"]').waitFor();
      await l.sim('Scan', { code: UNKNOWN });
      await l.page.locator('[data-testid="notice"][data-kind="unknown-item"]').waitFor();
      await l.tap('produce');
      await l.screen('weigh');
      await l.page.locator(`[data-testid="produce-item"][data-gtin="${BANANAS.gtin}"]`).tap();
      await l.tech.until(() => l.tech.basket?.notice?.code === 'weigh', 'the basket asks to weigh');
      await l.testid('weigh-instruction').waitFor();
      await l.tap('weigh-back');
      await l.page.locator('[data-testid="notice"][data-kind="weigh"]').waitFor();
    },
  },
  {
    name: 'weigh-pick',
    async reach(l) {
      await l.tap('start');
      await l.tap('produce');
      await l.screen('weigh');
      await l.testid('produce-item').first().waitFor();
    },
  },
  {
    name: 'weigh-place',
    async reach(l) {
      await SCREENS.find((s) => s.name === 'weigh-pick')!.reach(l);
      await l.page.locator(`[data-testid="produce-item"][data-gtin="${BANANAS.gtin}"]`).tap();
      await l.tech.until(() => l.tech.basket?.notice?.code === 'weigh', 'the basket asks to weigh');
      await l.page.waitForFunction(() => /Bananas/.test(document.querySelector('[data-testid="weigh-instruction"]')?.textContent ?? ''));
    },
  },
  {
    name: 'alert',
    async reach(l) {
      await l.shopping([COLA, LONG]);
      await l.sim('Weight', { grams: l.bagged + 500 });
      await l.page.locator('[data-testid="alert"][data-kind="unexpected-item"]').waitFor();
    },
  },
  {
    name: 'alerts-several',
    async reach(l) {
      await l.shopping([COLA]);
      await l.scan(VODKA);
      await l.page.locator('[data-testid="alert"][data-kind="age-check"]').waitFor();
      await l.sim('Weight', { grams: l.bagged + 500 });
      await l.testid('alert-more').waitFor();
    },
  },
  {
    name: 'please-wait',
    async reach(l) {
      await l.shopping([COLA]);
      await l.unplug('bagscale');
      await l.page.locator('[data-testid="alert"][data-kind="device"]').waitFor();
    },
  },
  {
    name: 'pay-card',
    async reach(l) {
      await l.shopping([COLA, BUTTER]);
      await l.pay('timeout');
      await l.page.locator('[data-testid="pay-state"][data-state="waiting"]').waitFor();
    },
  },
  {
    name: 'pay-declined',
    async reach(l) {
      await l.shopping([COLA, BUTTER]);
      await l.pay('decline');
      await l.page.locator('[data-testid="pay-state"][data-state="declined"]').waitFor();
    },
  },
  {
    name: 'pay-cancelled',
    async reach(l) {
      await l.shopping([COLA, BUTTER]);
      await l.pay('timeout');
      await l.page.locator('[data-testid="pay-state"][data-state="waiting"]').waitFor();
      await l.tap('pay-cancel');
      await l.page.locator('[data-testid="pay-state"][data-state="cancelled"]').waitFor();
    },
  },
  {
    name: 'thank-you',
    async reach(l) {
      await l.shopping([COLA, LONG, BUTTER]);
      await l.pay('approve');
      await l.screen('receipt');
      await l.testid('receipt-auth').waitFor();
    },
  },
  {
    name: 'staff-pin',
    async reach(l) {
      await l.tap('staff');
      await l.screen('pin');
      for (const d of '12') await l.tap(`pin-${d}`);
    },
  },
  {
    name: 'staff',
    async reach(l) {
      // interventions of several kinds, a basket with a long name
      await l.shopping([COLA, LONG]);
      await l.tap('help');
      await l.page.locator('[data-testid="notice"][data-kind="assistance"]').waitFor();
      await l.scan(VODKA);
      await l.sim('Scan', { code: UNKNOWN });
      await l.tech.until(() => (l.tech.docs.get('lane')?.interventions ?? []).length >= 3, 'three interventions');
      await l.signIn();
      await l.page.locator('[data-testid="intervention"][data-kind="age-check"]').waitFor();
      await l.testid('approve-all').waitFor();
    },
  },
  {
    name: 'lookup-code',
    async reach(l) {
      // a code with a wrong check digit typed: the pad, the code and the refusal
      await l.tap('start');
      await l.tap('lookup');
      await l.screen('lookup');
      for (const d of `${PEN.code.slice(0, -1)}2`) await l.tap(`digit-${d}`);
      await l.tap('lookup-add');
      await l.testid('lookup-error').waitFor();
    },
  },
  {
    name: 'lookup-name',
    async reach(l) {
      await l.tap('start');
      await l.tap('lookup');
      await l.tap('lookup-tab-name');
      for (const c of 'BA') await l.tap(`key-${c}`);
      await l.testid('lookup-result').first().waitFor();
    },
  },
  {
    name: 'weigh-search',
    async reach(l) {
      await SCREENS.find((s) => s.name === 'weigh-pick')!.reach(l);
      await l.tap('produce-search');
      await l.tap('key-A');
      await l.testid('letter-pad').waitFor();
    },
  },
  {
    name: 'own-bag',
    async reach(l) {
      await l.shopping([COLA]);
      await l.tap('own-bag');
      await l.testid('bag-hint').waitFor();
    },
  },
  {
    name: 'staff-void-line',
    async reach(l) {
      await l.shopping([COLA, BUTTER]);
      await l.signIn();
      await l.page.locator(`[data-testid="basket-line"][data-gtin="${BUTTER.gtin}"] [data-testid="line-void"]`).tap();
      await l.testid('confirm-dialog').waitFor();
    },
  },
];
