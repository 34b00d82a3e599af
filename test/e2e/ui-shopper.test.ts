import t from 'tap';
import type { Page } from 'playwright-core';
import { startKiosk, screenBasket, docRows, PIN } from './helpers/kiosk.js';
import { lanectl } from '../helpers/lanectl.js';

// A shopper's session at the touch screen, driven only by taps and `lanectl sim`
// (the technician's simulated devices): scan, −1, a code keyed, a name searched,
// produce picked by its picture, an own bag, an unexpected item, help called over
// the alert, a reload, pay, thank you. Then the idle screen going back to welcome.

const COLA = { code: '5449000000996', gtin: '05449000000996', name: 'Cola, 0.33 l can', g: 350 };
const PEN = { code: '4006381333931', gtin: '04006381333931', name: 'Highlighter pen, yellow', g: 12 };
const BUTTER = { gtin: '02100000000029', name: 'Butter, 250 g', g: 256 };
const BANANAS = { gtin: '02100000000258', name: 'Bananas (per kg)' };
const TOMATOES = { gtin: '02100000000272' };

const screen = (page: Page, name: string) => page.locator(`main[data-screen="${name}"]`).waitFor();
const testid = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`);
const row = (page: Page, gtin: string) => page.locator(`[data-testid="basket-line"][data-gtin="${gtin}"]`);

t.test('a shopping session by taps and lanectl sim', async (t) => {
  // a −1 worth up to 1.00 needs no attendant (the cola is 0.99)
  const k = await startKiosk({ services: { basket: { removalFreeUpTo: 100 } } });
  t.teardown(() => k.close());
  const { page, tech } = k;
  page.setDefaultTimeout(20_000);
  const sim = async (...args: string[]): Promise<void> => {
    const r = await lanectl(k.stateDir, ['sim', ...args]);
    if (r.code !== 0) throw new Error(`lanectl sim ${args.join(' ')}: ${r.err}`);
  };
  let bagged = 0;
  const bag = async (g: number): Promise<void> => {
    bagged += g;
    await sim('weight', String(bagged));
  };
  const baggingOk = () => tech.until(() => tech.docs.get('bagging')?.state === 'ok' && tech.docs.get('bagging').inputs > 0, 'the bagging area right');
  const lines = () => tech.basket?.lines ?? [];

  await t.test('scan: the last item stands out with its price, announced once', async (t) => {
    await screen(page, 'welcome');
    await testid(page, 'start').tap();
    await screen(page, 'scan');
    await sim('scan', COLA.code);
    await row(page, COLA.gtin).waitFor();
    t.match(await testid(page, 'last-item').textContent(), /Last scanned.*Cola, 0\.33 l can.*€0\.99/, 'highlighted with its price');
    t.match(await row(page, COLA.gtin).getAttribute('class'), /line-last/, 'its row marked');
    const live = page.locator('#live-status');
    t.equal(await live.getAttribute('aria-live'), 'polite');
    await page.waitForFunction(() => /^Cola, 0\.33 l can, €0\.99\./.test(document.getElementById('live-status')?.textContent ?? ''));
    t.match(await live.textContent(), /^Cola, 0\.33 l can, €0\.99\. Total €0\.99$/, 'announced in the polite region');
    t.equal(await page.locator('#app[aria-live], main[aria-live]').count(), 0, 'the screen itself is not a live region');
    await testid(page, 'line-more').tap();
    await page.locator(`[data-testid="basket-line"][data-gtin="${COLA.gtin}"][data-qty="2"]`).waitFor();
    await page.waitForFunction(() => /^2 × Cola, 0\.33 l can, €1\.98\./.test(document.getElementById('live-status')?.textContent ?? ''));
    t.match(await testid(page, 'last-item').textContent(), /2 × Cola, 0\.33 l can.*€1\.98/, 'the raised line is the last item');
    const top = testid(page, 'topbar-total');
    t.equal(await top.getAttribute('data-items'), '2', 'item count in the top bar');
    t.match(await top.textContent(), /2 items.*€1\.98/, 'running total in the top bar');
    await bag(2 * COLA.g);
    await baggingOk();
  });

  await t.test('−1: one can less, no attendant under the store threshold, the weight check expects it out', async (t) => {
    await testid(page, 'line-less').tap();
    await page.locator(`[data-testid="basket-line"][data-gtin="${COLA.gtin}"][data-qty="1"]`).waitFor();
    const cola = lines().find((l) => l.gtin === COLA.gtin)!;
    t.equal(cola.quantity, 1);
    t.equal(cola.pendingRemoval, undefined, 'not waiting for an attendant');
    t.notOk(
      (tech.docs.get('lane')?.interventions ?? []).some((i: { kind: string }) => i.kind === 'removal'),
      'no removal intervention',
    );
    await tech.until(() => tech.docs.get('bagging')?.outstanding?.some((o: { g: number }) => o.g === -COLA.g), 'the can expected out of the bagging area');
    await bag(-COLA.g);
    await baggingOk();
  });

  await t.test('keyed entry: a wrong check digit is refused, the right code added as keyed', async (t) => {
    await testid(page, 'lookup').tap();
    await screen(page, 'lookup');
    const wrong = PEN.code.slice(0, -1) + '2';
    for (const d of wrong) await testid(page, `digit-${d}`).tap();
    t.equal(await testid(page, 'lookup-code').textContent(), wrong);
    await k.shoot('shop-lookup-code');
    await testid(page, 'lookup-add').tap();
    await testid(page, 'lookup-error').waitFor();
    t.match(await testid(page, 'lookup-error').textContent(), /not right: please check every digit/);
    await testid(page, 'digit-delete').tap();
    await testid(page, 'digit-1').tap();
    await testid(page, 'lookup-add').tap();
    await screen(page, 'scan');
    await row(page, PEN.gtin).waitFor();
    const pen = await tech.until(() => lines().find((l) => l.gtin === PEN.gtin), 'the pen in doc/basket');
    t.equal((pen as { entry?: string }).entry, 'keyed', 'the basket line says it was keyed');
    await bag(PEN.g);
    await baggingOk();
  });

  await t.test('name search: letters typed, the catalog answers with initials for an item without a picture', async (t) => {
    await testid(page, 'lookup').tap();
    await testid(page, 'lookup-tab-name').tap();
    for (const c of 'BUT') await testid(page, `key-${c}`).tap();
    t.equal(await testid(page, 'lookup-query').textContent(), 'BUT');
    const hit = page.locator(`[data-testid="lookup-result"][data-gtin="${BUTTER.gtin}"]`);
    await hit.waitFor();
    t.equal(await hit.locator('[data-testid="pic-initials"]').textContent(), 'Bu', 'its initials as the picture');
    await k.shoot('shop-lookup-name');
    await hit.tap();
    await screen(page, 'scan');
    await row(page, BUTTER.gtin).waitFor();
    t.equal((lines().find((l) => l.gtin === BUTTER.gtin) as { entry?: string }).entry, 'keyed');
    await bag(BUTTER.g);
    await baggingOk();
  });

  await t.test('produce: listed with pictures, picked, weighed', async (t) => {
    await testid(page, 'produce').tap();
    await screen(page, 'weigh');
    const bananas = page.locator(`[data-testid="produce-item"][data-gtin="${BANANAS.gtin}"]`);
    await bananas.waitFor();
    await page.waitForFunction(
      (gtin) => ((document.querySelector(`[data-testid="produce-item"][data-gtin="${gtin}"] img`) as HTMLImageElement | null)?.naturalWidth ?? 0) > 0,
      BANANAS.gtin,
    );
    t.equal(await page.locator(`[data-testid="produce-item"][data-gtin="${TOMATOES.gtin}"] [data-testid="pic-initials"]`).textContent(), 'To');
    await k.shoot('shop-produce-pictures');
    await testid(page, 'produce-search').tap();
    for (const c of 'BAN') await testid(page, `key-${c}`).tap();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="produce-item"]').length === 1);
    await bananas.tap();
    await tech.until(() => tech.basket?.notice?.code === 'weigh', 'the basket asks to weigh');
    await sim('produce', '1234');
    await screen(page, 'scan');
    await row(page, BANANAS.gtin).waitFor();
    t.equal(lines().find((l) => l.gtin === BANANAS.gtin)?.grams, 1234);
    await bag(1234);
    await baggingOk();
  });

  await t.test('own bag: declared, tared by the weight check without an alarm', async (t) => {
    await testid(page, 'own-bag').tap();
    await testid(page, 'bag-hint').waitFor();
    t.match(await testid(page, 'bag-hint').textContent(), /Place your bag in the bagging area/);
    await bag(40);
    await baggingOk();
    t.equal(await testid(page, 'alert').count(), 0, 'no alert');
    t.same(tech.docs.get('lane')?.interventions ?? [], [], 'no intervention');
    await page.locator('[data-testid="own-bags"][data-bags="1"]').waitFor();
    await k.shoot('shop-scan-last-item-own-bag');
    const trace = await lanectl(k.stateDir, ['trace', tech.basket!.txn!]);
    t.equal(trace.code, 0, trace.err);
    t.match(trace.out, /basket#\d+ OwnBagDeclared/, 'the transaction records the bag');
  });

  await t.test('an unexpected item, and help called over its alert; the attendant answers "done"', async (t) => {
    await bag(500);
    const alert = page.locator('[data-testid="alert"][data-kind="unexpected-item"]');
    await alert.waitFor();
    // the top bar's call button stays above the alert
    await testid(page, 'help').tap();
    await page.locator('[data-testid="help"][data-called="true"]').waitFor();
    t.ok(await alert.isVisible(), 'called while the alert covers the screen');
    t.ok(
      (tech.docs.get('lane')?.interventions ?? []).some((i: { kind: string }) => i.kind === 'assistance'),
      'assistance asked in doc/lane',
    );
    t.notOk(await testid(page, 'help').isEnabled(), 'one call at a time');
    await testid(page, 'staff').tap();
    await screen(page, 'pin');
    for (const d of PIN) await testid(page, `pin-${d}`).tap();
    await testid(page, 'pin-ok').tap();
    await screen(page, 'attendant');
    const help = page.locator('[data-testid="intervention"][data-kind="assistance"]');
    await help.waitFor();
    t.equal(await help.locator('[data-testid="approve"], [data-testid="reject"]').count(), 0, 'no approve or reject for a call for help');
    // a destructive staff action asks first
    await page.locator(`[data-testid="basket-line"][data-gtin="${BUTTER.gtin}"] [data-testid="line-void"]`).tap();
    await testid(page, 'confirm-dialog').waitFor();
    t.match(await testid(page, 'confirm-dialog').textContent(), /Void Butter, 250 g/);
    await testid(page, 'confirm-no').tap();
    t.ok(
      lines().some((l) => l.gtin === BUTTER.gtin),
      'nothing voided without the confirmation',
    );
    await help.locator('[data-testid="done"]').tap();
    await help.waitFor({ state: 'detached' });
    await testid(page, 'att-exit').tap();
    await bag(-500);
    await alert.waitFor({ state: 'detached' });
    await baggingOk();
  });

  await t.test('a reload brings the basket back', async (t) => {
    const before = tech.basket!;
    await page.reload();
    await screen(page, 'scan');
    await page.waitForFunction((rev) => document.querySelector('[data-testid="basket"]')?.getAttribute('data-rev') === rev, String(before.rev));
    t.same((await screenBasket(page)).rows, docRows(before), 'every line as before');
    t.equal(await testid(page, 'topbar-total').getAttribute('data-total'), String(before.total));
  });

  await t.test('pay, thank you', async (t) => {
    const total = tech.basket!.total;
    await testid(page, 'pay').tap();
    await screen(page, 'receipt');
    await tech.until(() => tech.basket?.last?.status === 'completed', 'completed in doc/basket');
    t.equal(tech.basket!.last!.total, total);
    t.match(await page.locator('main[data-screen="receipt"]').textContent(), /Thank you!/);
    t.equal(await testid(page, 'topbar-total').count(), 0, 'no running total without a transaction');
  });

  await t.test('produce most used first', async (t) => {
    await testid(page, 'receipt-done').tap();
    await testid(page, 'start').tap();
    await testid(page, 'produce').tap();
    await testid(page, 'produce-item').first().waitFor();
    t.equal(await testid(page, 'produce-item').first().getAttribute('data-gtin'), BANANAS.gtin, 'the bananas bought before come first');
    await testid(page, 'weigh-back').tap();
  });

  await t.test('idle: an empty screen warns, then goes back to welcome; never with a basket', async (t) => {
    // 2 s without a touch, then a warning for 8 s
    await page.goto(`${k.url}${k.url.includes('?') ? '&' : '?'}idle=2&idleWarn=8`);
    await screen(page, 'welcome');
    await testid(page, 'start').tap();
    await screen(page, 'scan');
    t.equal(await page.evaluate('globalThis.laned.idle.armed()'), true, 'watched with an empty basket');
    await testid(page, 'idle-warning').waitFor();
    t.match(await testid(page, 'idle-warning').textContent(), /Are you still there\?/);
    await testid(page, 'idle-stay').tap();
    await testid(page, 'idle-warning').waitFor({ state: 'detached' });
    await screen(page, 'scan');
    await testid(page, 'idle-warning').waitFor();
    await screen(page, 'welcome');
    await testid(page, 'start').tap();
    await sim('scan', COLA.code);
    await row(page, COLA.gtin).waitFor();
    t.equal(await page.evaluate('globalThis.laned.idle.armed()'), false, 'not watched while a basket is open');
  });
});
