import t from 'tap';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/daemon.js';
import { startKiosk, SCREENSHOTS } from './helpers/kiosk.js';
import { LaneDriver, SCREENS } from './helpers/screens.js';
import { LAYOUT_PROBLEMS, AXE_VIOLATIONS, englishPatterns } from './helpers/layout-checks.js';

// Every screen of the touch UI (test/e2e/helpers/screens.ts) at every panel size,
// in English and German, on one lane and one browser: no text overflows or is cut
// off, every control is at least 48x48 px and reachable, axe-core finds nothing,
// and no English text is left on a German screen. Screenshots of the whole matrix
// go to a temporary folder (its path is printed); the pay, declined, thank-you and
// staff screens at 1024x600 in German also to test/e2e/screenshots/layout/, where
// docs/screens/ took its copies from.

export const SIZES = [
  { width: 1024, height: 600 },
  { width: 1280, height: 800 },
  { width: 1920, height: 1080 },
  { width: 1080, height: 1920 },
] as const;
const LANGS = ['en', 'de'] as const;
const KEPT = new Set(['pay-card', 'pay-declined', 'thank-you', 'staff'].map((s) => `${s}-de-1024x600`));

// texts.js sets <html lang>; nothing else in it touches the DOM at import
(globalThis as { document?: unknown }).document ??= { documentElement: {} };
const { TEXTS } = (await import(pathToFileURL(join(ROOT, 'ui-static/js/texts.js')).href)) as { TEXTS: Record<string, Record<string, string>> };

const AXE = join(ROOT, 'node_modules/axe-core/axe.min.js');
const OUT = mkdtempSync(join(tmpdir(), 'laned-ui-screens-'));
const KEEP = join(SCREENSHOTS, 'layout');
mkdirSync(KEEP, { recursive: true });

t.test('every screen at 1024x600, 1280x800, 1920x1080 and 1080x1920, in English and German', { timeout: 600_000 }, async (t) => {
  const k = await startKiosk();
  t.teardown(() => k.close());
  await k.context.addInitScript({ path: AXE });
  const lane = new LaneDriver(k);
  k.page.setDefaultTimeout(20_000);
  await lane.loadCatalog();
  t.comment(`screenshots of every screen: ${OUT}`);
  // where the time goes (printed, never asserted)
  const spent = { reach: 0, shots: 0, layout: 0, axe: 0 };
  const timed = async <T>(part: keyof typeof spent, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      spent[part] += performance.now() - t0;
    }
  };
  t.teardown(() =>
    console.log(
      `# ui-layout: ${Object.entries(spent)
        .map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`)
        .join(', ')}`,
    ),
  );

  // LANED_UI_SCREENS=name,name: only these (while working on them)
  const only = process.env.LANED_UI_SCREENS?.split(',');
  for (const s of SCREENS.filter((x) => !only || only.includes(x.name))) {
    await t.test(s.name, async (t) => {
      await timed('reach', async () => {
        await lane.reset();
        await s.reach(lane);
      });
      for (const lang of LANGS) {
        if ((await k.page.locator('html').getAttribute('lang')) !== lang) {
          await lane.testid('language').tap();
          await k.page.waitForFunction((l) => document.documentElement.lang === l, lang);
          if (s.again) await s.again(lane);
        }
        const english = lang === 'en' ? [] : englishPatterns(TEXTS, lang);
        for (const size of SIZES) {
          const at = `${s.name}-${lang}-${size.width}x${size.height}`;
          await k.page.setViewportSize({ ...size });
          // two frames: layout and paint at the new size
          await k.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
          await timed('shots', async () => {
            await k.page.screenshot({ path: join(OUT, `${at}.png`) });
            if (KEPT.has(at)) await k.page.screenshot({ path: join(KEEP, `${at}.png`) });
          });
          const problems = (await timed('layout', () => k.page.evaluate(`${LAYOUT_PROBLEMS}(${JSON.stringify(english)})`))) as string[];
          t.same(problems, [], `${at}: text fits, controls are large enough and reachable${lang === 'en' ? '' : ', no English'}`);
          const violations = (await timed('axe', () => k.page.evaluate(AXE_VIOLATIONS))) as string[];
          t.same(violations, [], `${at}: axe-core finds no violations`);
        }
      }
      await k.page.setViewportSize({ width: 1280, height: 800 });
    });
  }
});
