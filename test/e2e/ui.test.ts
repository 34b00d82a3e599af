import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { startKiosk, screenBasket, docRows, PIN, type Kiosk, type Basket } from './helpers/kiosk.js';

// The touch UI in Debian's chromium (touch enabled) against
// the real daemon (child process, simulated devices). One shopper's story, then
// a daemon killed and restarted under the screen. Screenshots of every screen at
// both panel sizes go to test/e2e/screenshots/ (gitignored).

const COLA = { code: '5449000000996', gtin: '05449000000996', name: 'Cola, 0.33 l can', g: 350 };
const PEN = { code: '4006381333931', gtin: '04006381333931', name: 'Highlighter pen, yellow', g: 12 };
const BUTTER = { code: '2100000000029', gtin: '02100000000029', name: 'Butter, 250 g', g: 256 };
const BANANAS = { gtin: '02100000000258', name: 'Bananas (per kg)' };

const screen = (page: Page, name: string) => page.locator(`main[data-screen="${name}"]`).waitFor();
const testid = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`);

/** The screen's basket equals doc/basket: same revision drawn, same lines in order. */
async function basketMatchesDoc(t: Test, k: Kiosk, what: string): Promise<Basket> {
  const doc = k.tech.basket!;
  if (doc.lines.length) {
    await k.page.waitForFunction((rev) => document.querySelector('[data-testid="basket"]')?.getAttribute('data-rev') === rev, String(doc.rev));
  } else {
    await testid(k.page, 'basket-empty').waitFor();
  }
  const shown = await screenBasket(k.page);
  t.same(shown.rows, docRows(doc), `${what}: the screen lists exactly doc/basket rev ${doc.rev}`);
  if (doc.lines.length) t.equal(await testid(k.page, 'total').getAttribute('data-total'), String(doc.total), `${what}: total ${doc.total}`);
  return doc;
}

t.test('touch UI end to end: shop, alert, remove with approval, weigh, pay, receipt, offline and back, void', async (t) => {
  const k = await startKiosk();
  t.teardown(() => k.close());
  const { page, tech } = k;
  page.setDefaultTimeout(20_000);
  let bagged = 0;
  const bag = async (g: number): Promise<void> => {
    bagged += g;
    await tech.sim('Weight', { grams: bagged });
  };

  await t.test('welcome, online', async (t) => {
    await screen(page, 'welcome');
    await testid(page, 'start').and(page.locator(':enabled')).waitFor();
    t.equal(await testid(page, 'offline-banner').count(), 0, 'no offline banner once connected');
    await k.shoot('01-welcome');
    await testid(page, 'start').tap();
    await screen(page, 'scan');
    await testid(page, 'basket-empty').waitFor();
    await k.shoot('02-scan-empty');
  });

  await t.test('three scans appear as doc/basket has them', async (t) => {
    for (const item of [COLA, PEN, BUTTER]) {
      await tech.sim('Scan', { code: item.code });
      await tech.until(() => tech.basket?.lines.some((l) => l.gtin === item.gtin), `${item.name} in doc/basket`);
      await basketMatchesDoc(t, k, `after scanning ${item.name}`);
      await bag(item.g);
    }
    await tech.until(() => tech.docs.get('bagging')?.state === 'ok', 'all three bagged');
    const shown = await screenBasket(page);
    t.same(
      shown.rows.map((r) => r.name),
      [COLA.name, PEN.name, BUTTER.name],
      'three lines in scan order',
    );
    t.match(await testid(page, 'total').textContent(), /4\.57/, 'total shown in euro');
    t.equal(await testid(page, 'bag-hint').count(), 0, 'nothing left to bag');
    await k.shoot('03-scan-three-items');
  });

  await t.test('an unexpected item in the bagging area: alert appears, clears when it is taken out', async (t) => {
    await tech.sim('Weight', { grams: bagged + 500 });
    const alert = testid(page, 'alert');
    await alert.waitFor();
    t.equal(await alert.getAttribute('data-kind'), 'unexpected-item');
    t.match(await alert.textContent(), /Unexpected item in the bagging area/);
    t.notOk(await testid(page, 'pay').isEnabled(), 'payment waits');
    await k.shoot('04-alert-unexpected-item');
    await tech.sim('Weight', { grams: bagged });
    await alert.waitFor({ state: 'detached' });
    await tech.until(() => (tech.docs.get('lane')?.interventions ?? []).length === 0, 'no intervention open');
    t.equal(await testid(page, 'alert-overlay').count(), 0, 'no alert once the bagging area is right');
    // doc/basket counts the intervention gone a moment after doc/lane
    await tech.until(() => tech.basket?.blocked === 0, 'doc/basket unblocked');
    await page.locator('[data-testid="pay"]:enabled').waitFor();
    t.ok(await testid(page, 'pay').isEnabled(), 'payment possible again');
  });

  await t.test('remove an item: the shopper asks, an attendant approves with the PIN', async (t) => {
    const row = page.locator(`[data-testid="basket-line"][data-gtin="${PEN.gtin}"]`);
    await row.locator('[data-testid="line-less"]').tap(); // its only piece: the shopper confirms
    await testid(page, 'remove-dialog').waitFor();
    t.match(await testid(page, 'remove-dialog').textContent(), /Highlighter pen, yellow/);
    await k.shoot('05-remove-dialog');
    await testid(page, 'remove-yes').tap();
    await tech.until(() => tech.basket?.lines.find((l) => l.gtin === PEN.gtin)?.pendingRemoval === 0, 'removal pending in doc/basket');
    const alert = testid(page, 'alert');
    await page.locator('[data-testid="alert"][data-kind="removal"]').waitFor();
    t.match(await alert.textContent(), /confirm the removal of Highlighter pen, yellow/);
    await row.locator('[data-testid="line-pending"]').waitFor();
    await k.shoot('06-alert-removal');

    await testid(page, 'staff').tap();
    await screen(page, 'pin');
    for (const d of '1111') await testid(page, `pin-${d}`).tap();
    await testid(page, 'pin-ok').tap();
    await testid(page, 'pin-error').waitFor();
    t.match(await testid(page, 'pin-error').textContent(), /Wrong PIN: 2 more tries/, 'a wrong PIN is refused by the attendant service');
    await k.shoot('07-pin-wrong');
    for (const d of PIN) await testid(page, `pin-${d}`).tap();
    t.equal(await testid(page, 'pin-dots').getAttribute('data-count'), String(PIN.length), 'digits masked, counted');
    await testid(page, 'pin-ok').tap();
    await screen(page, 'attendant');
    const item = page.locator('[data-testid="intervention"][data-kind="removal"]');
    await item.waitFor();
    await page.locator('[data-testid="device"][data-name="scanner"][data-state="ok"]').waitFor();
    await page.locator('[data-testid="service"][data-name="basket"][data-state="online"]').waitFor();
    t.equal(await page.locator('[data-testid="lane-state"]').getAttribute('data-state'), 'intervention', 'lane state from doc/lane');
    await k.shoot('08-attendant');
    await item.locator('[data-testid="approve"]').tap();
    await tech.until(() => !tech.basket?.lines.some((l) => l.gtin === PEN.gtin), 'the pen removed from doc/basket');
    await testid(page, 'no-interventions').waitFor();
    await testid(page, 'att-exit').tap();
    await screen(page, 'scan');
    await basketMatchesDoc(t, k, 'after the approved removal');
    await bag(-PEN.g); // the pen leaves the bagging area
    await tech.until(() => tech.docs.get('bagging')?.state === 'ok', 'bagging area right again');
    t.equal(await testid(page, 'alert-overlay').count(), 0, 'no alert left');
  });

  await t.test('call an attendant: a notice while staff is on the way, cleared on the staff screen', async (t) => {
    await testid(page, 'help').tap();
    await page.locator('[data-testid="notice"][data-kind="assistance"]').waitFor();
    t.match(await page.locator('[data-testid="notice"][data-kind="assistance"]').textContent(), /Help is on the way/);
    t.notOk(await testid(page, 'help').isEnabled(), 'one call at a time');
    t.ok(await testid(page, 'pay').isEnabled(), 'a call does not hold the payment');
    await k.shoot('08b-help-called');
    await testid(page, 'staff').tap();
    await screen(page, 'pin');
    for (const d of PIN) await testid(page, `pin-${d}`).tap();
    await testid(page, 'pin-ok').tap();
    await screen(page, 'attendant');
    const item = page.locator('[data-testid="intervention"][data-kind="assistance"]');
    await item.waitFor();
    await item.locator('[data-testid="done"]').tap();
    await testid(page, 'no-interventions').waitFor();
    await testid(page, 'att-exit').tap();
    await screen(page, 'scan');
    await page.locator('[data-testid="notice"][data-kind="assistance"]').waitFor({ state: 'detached' });
    t.ok(await testid(page, 'help').isEnabled(), 'the shopper can call again');
  });

  await t.test('weigh produce: pick the item, place it, live weight, added', async (t) => {
    await testid(page, 'produce').tap();
    await screen(page, 'weigh');
    const pick = page.locator(`[data-testid="produce-item"][data-gtin="${BANANAS.gtin}"]`);
    await pick.waitFor();
    t.ok((await testid(page, 'produce-item').count()) >= 4, 'the demo catalog produce listed');
    await k.shoot('09-weigh-pick');
    await pick.tap();
    await tech.until(() => tech.basket?.notice?.code === 'weigh', 'basket asks to weigh');
    await page.waitForFunction(() =>
      /Place Bananas \(per kg\) on the scale/.test(document.querySelector('[data-testid="weigh-instruction"]')?.textContent ?? ''),
    );
    await k.shoot('10-weigh-place');
    await tech.sim('Produce', { grams: 1234 });
    await tech.until(() => tech.basket?.lines.some((l) => l.gtin === BANANAS.gtin), 'bananas in doc/basket');
    await screen(page, 'scan');
    const doc = await basketMatchesDoc(t, k, 'after weighing');
    const bananas = doc.lines.find((l) => l.gtin === BANANAS.gtin)!;
    t.equal(bananas.grams, 1234);
    t.match(await page.locator(`[data-testid="basket-line"][data-gtin="${BANANAS.gtin}"] .line-detail`).textContent(), /1\.234 kg/, 'weight on the line');
    await bag(1234);
    await tech.until(() => tech.docs.get('bagging')?.state === 'ok', 'bananas bagged');
  });

  await t.test('pay: terminal waiting, cancelled, declined, then approved; receipt', async (t) => {
    const queued = await tech.command('payment', 'SimQueue', { outcomes: ['timeout', 'decline', 'approve'] });
    t.ok(queued.ok, 'simulated terminal outcomes queued');
    const before = tech.basket!;
    await testid(page, 'pay').tap();
    await page.locator('[data-testid="pay-state"][data-state="waiting"]').waitFor();
    t.match(await testid(page, 'pay-total').textContent(), /5\.61/, 'amount due');
    await k.shoot('11-pay-waiting');
    await testid(page, 'pay-cancel').tap();
    await page.locator('[data-testid="pay-state"][data-state="cancelled"]').waitFor();
    await k.shoot('12-pay-cancelled');
    await testid(page, 'pay-again').tap();
    await page.locator('[data-testid="pay-state"][data-state="declined"]').waitFor();
    t.match(await page.locator('.pay-result').textContent(), /Payment declined/);
    await k.shoot('13-pay-declined');
    await testid(page, 'pay-again').tap();
    await screen(page, 'receipt');
    await tech.until(() => tech.basket?.last?.status === 'completed', 'completed in doc/basket');
    const rows = await page.locator('[data-testid="receipt-line"]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.line));
    t.same(
      rows,
      before.lines.map((l) => l.line),
      'the receipt lists the lines paid for',
    );
    t.match(await testid(page, 'receipt-total').textContent(), /5\.61/);
    await testid(page, 'receipt-auth').waitFor();
    t.match(await testid(page, 'receipt-auth').textContent(), /authorisation \d{6}/, 'authorisation code from the journal');
    await k.shoot('14-receipt');
    await testid(page, 'receipt-done').tap();
    await screen(page, 'welcome');
  });

  await t.test('the daemon dies: offline banner; back: the basket restored exactly', async (t) => {
    for (const item of [COLA, BUTTER]) {
      await tech.sim('Scan', { code: item.code });
      await tech.until(() => tech.basket?.lines.some((l) => l.gtin === item.gtin), `${item.name} in doc/basket`);
      await bag(item.g);
    }
    await tech.until(() => tech.docs.get('bagging')?.state === 'ok', 'both bagged');
    await screen(page, 'scan');
    const before = await basketMatchesDoc(t, k, 'before the kill');
    t.equal(before.lines.length, 2);
    await k.kill();
    await testid(page, 'offline-banner').waitFor();
    t.match(await testid(page, 'offline-banner').textContent(), /Connection to the lane lost/);
    t.notOk(await testid(page, 'pay').isEnabled(), 'no payment while offline');
    t.same((await screenBasket(page)).rows, docRows(before), 'the last basket stays on screen, marked offline');
    await k.shoot('15-offline');

    await k.restart();
    await testid(page, 'offline-banner').waitFor({ state: 'detached', timeout: 30_000 });
    await page.waitForFunction(() => (globalThis as { laned?: { state: { synced: boolean } } }).laned?.state.synced === true);
    const after = await basketMatchesDoc(t, k, 'after the restart');
    t.same(docRows(after), docRows(before), 'doc/basket after the restart is the basket before the kill');
    t.same((await screenBasket(page)).rows, docRows(before), 'and the screen shows it');
    await k.shoot('16-restored');

    await testid(page, 'language').tap();
    await page.waitForFunction(() => document.querySelector('[data-testid="pay"]')?.textContent === 'Bezahlen');
    t.equal(await page.locator('html').getAttribute('lang'), 'de');
    t.match(await page.locator('.screen-title').textContent(), /Artikel scannen/);
    await k.shoot('17-scan-german');
    await testid(page, 'language').tap();
    await page.waitForFunction(() => document.querySelector('[data-testid="pay"]')?.textContent === 'Pay');
  });

  await t.test('staff mode by the key switch: void the transaction', async (t) => {
    const txn = tech.basket!.txn;
    const r = await tech.command('sim', 'Input', { device: 'keyswitch', on: true });
    t.ok(r.ok, 'key turned');
    await screen(page, 'attendant');
    t.match(await testid(page, 'att-method').textContent(), /Key switch/, 'staff mode from doc/lane, no PIN');
    t.equal(await testid(page, 'att-exit').count(), 0, 'left by turning the key back');
    await k.shoot('18-attendant-key-switch');
    // the version running and the updater's state (doc/updater); no store link without uplink.url
    await testid(page, 'updater').waitFor();
    t.match(
      await testid(page, 'updater').textContent(),
      /^Software \d+\.\d+\.\d+: (no update|up to date)/,
      'the staff screen shows the software and its update state',
    );
    t.equal(await testid(page, 'uplink').count(), 0, 'no store link line on a lane without an uplink');
    // store IT's message and closure (as the uplink forwards them) on the staff screen
    t.ok((await tech.command('attendant', 'StoreMessage', { text: 'Please restock the bags', by: 'store:it-carol' })).ok);
    t.ok((await tech.command('attendant', 'StoreClose', { reason: 'inventory count', by: 'store:it-carol' })).ok);
    await testid(page, 'store-closed').waitFor();
    t.match(await testid(page, 'store-closed').textContent(), /Closed to new shoppers by the store \(store:it-carol\)inventory count/);
    t.match(await testid(page, 'store-messages').textContent(), /Please restock the bags.*store:it-carol/);
    await k.shoot('18b-attendant-store-message');
    t.ok((await tech.command('attendant', 'StoreOpen', { by: 'store:it-carol' })).ok);
    await testid(page, 'store-closed').waitFor({ state: 'detached' });
    await testid(page, 'void').tap();
    await testid(page, 'confirm-dialog').waitFor();
    await k.shoot('19-void-confirm');
    await testid(page, 'confirm-yes').tap();
    await tech.until(() => tech.basket?.status === 'idle' && tech.basket.last?.txn === txn && tech.basket.last.status === 'cancelled', 'voided in doc/basket');
    await testid(page, 'no-interventions').waitFor();
    await tech.command('sim', 'Input', { device: 'keyswitch', on: false });
    await screen(page, 'welcome');
    await testid(page, 'cancelled-note').waitFor();
    await k.shoot('20-welcome-after-void');
  });

  t.same(k.smallTargets, [], 'every touch target on every screen shot is at least 48x48 px at both panel sizes');
});
