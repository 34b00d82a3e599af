import t from 'tap';
import type { Page } from 'playwright-core';
import { startKiosk } from './helpers/kiosk.js';

// The shopper screens in Debian's chromium when a device the lane needs is missing
// (closed for a new shopper, "please wait" mid-transaction), the produce scale's
// reading once the platter is emptied, and the key switch over a locked PIN pad.

const COLA = { code: '5449000000996', gtin: '05449000000996' };

const screen = (page: Page, name: string) => page.locator(`main[data-screen="${name}"]`).waitFor();
const testid = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`);

t.test('touch UI with a device missing, a scale emptied, a PIN pad locked', async (t) => {
  const k = await startKiosk();
  t.teardown(() => k.close());
  const { page, tech } = k;
  page.setDefaultTimeout(20_000);
  const sim = async (name: string, args: Record<string, unknown>): Promise<void> => {
    const r = await tech.command('sim', name, args);
    if (!r.ok) throw new Error(`cmd/sim/${name} refused: ${r.error}`);
  };

  await t.test('the bagging scale unplugged: a new shopper is sent to another lane; back: open', async (t) => {
    await screen(page, 'welcome');
    await testid(page, 'start').waitFor();
    await sim('Unplug', { device: 'bagscale' });
    await tech.until(() => tech.docs.get('lane')?.closed === true, 'doc/lane closed');
    await testid(page, 'lane-closed').waitFor();
    t.match(await testid(page, 'lane-closed').textContent(), /This lane is closed.*Please use another lane\./);
    t.equal(await testid(page, 'start').count(), 0, 'no Start button');
    await k.shoot('40-lane-closed');
    await sim('Replug', { device: 'bagscale' });
    await tech.until(() => tech.docs.get('lane')?.closed === false, 'doc/lane open');
    await testid(page, 'start').waitFor();
    t.equal(await testid(page, 'lane-closed').count(), 0);
  });

  await t.test('mid-transaction: "please wait, help is on the way"; back: the basket again', async (t) => {
    await tech.sim('Scan', { code: COLA.code });
    await tech.until(() => tech.basket?.lines.some((l) => l.gtin === COLA.gtin), 'cola in doc/basket');
    await screen(page, 'scan');
    await sim('Unplug', { device: 'bagscale' });
    const alert = page.locator('[data-testid="alert"][data-kind="device"]');
    await alert.waitFor();
    t.match(await alert.textContent(), /Please wait.*Help is on the way\./);
    t.notMatch(await alert.textContent(), /bag/i, 'nothing asks the shopper to bag');
    await k.shoot('41-lane-closed-wait');
    await sim('Replug', { device: 'bagscale' });
    await alert.waitFor({ state: 'detached' });
    await screen(page, 'scan');
  });

  await t.test('the produce screen: the platter emptied shows an empty scale, not the last weight', async (t) => {
    await testid(page, 'produce').tap();
    await screen(page, 'weigh');
    await sim('Produce', { grams: 800, device: 'scanscale' });
    await page.waitForFunction(() => document.querySelector('[data-testid="scale"]')?.getAttribute('data-stable') === 'true');
    t.equal(await testid(page, 'scale').getAttribute('data-grams'), '800');
    await sim('Produce', { grams: 0, device: 'scanscale' });
    await page.waitForFunction(() => document.querySelector('[data-testid="scale"]')?.getAttribute('data-grams') === '0');
    t.equal(await testid(page, 'scale').getAttribute('data-stable'), 'false');
    t.match(await testid(page, 'scale-state').textContent(), /Nothing on the scale/);
    await k.shoot('42-weigh-emptied');
    await testid(page, 'weigh-back').tap();
    await screen(page, 'scan');
  });

  await t.test('wrong PINs lock the pad and say for how long; the key switch still opens staff mode', async (t) => {
    await testid(page, 'staff').tap();
    await screen(page, 'pin');
    for (const expect of ['Wrong PIN: 2 more tries', 'Wrong PIN: 1 more tries', 'PIN sign-in is locked for']) {
      for (const d of '0000') await testid(page, `pin-${d}`).tap();
      await testid(page, 'pin-ok').tap();
      await page.waitForFunction((e) => (document.querySelector('[data-testid="pin-error"]')?.textContent ?? '').startsWith(e), expect);
    }
    t.match(await testid(page, 'pin-error').textContent(), /PIN sign-in is locked for 5 min: use the key switch\./);
    await k.shoot('43-pin-locked');
    await sim('Input', { device: 'keyswitch', on: true });
    await screen(page, 'attendant');
    await tech.until(() => tech.docs.get('lane')?.attendantMode === true, 'key switch on');
    t.equal(tech.docs.get('lane')?.attendantMode, true, 'the key switch opens staff mode over the locked PIN pad');
    await sim('Input', { device: 'keyswitch', on: false });
    await tech.until(() => tech.docs.get('lane')?.attendantMode === false, 'key switch off');
  });
});
