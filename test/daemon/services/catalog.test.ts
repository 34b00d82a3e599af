import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { catalog } from '../../../daemon/services/catalog/service.js';
import demo from '../../../daemon/services/catalog/demo-catalog.json' with { type: 'json' };
import { serviceHarness, type ServiceHarness } from '../../helpers/service-harness.js';
import { tempDir } from '../../helpers/daemon.js';

// The catalog's rules on the service alone: an import replaces the whole catalog or
// nothing, every scan is resolved (restricted-circulation labels by their lookup GTIN),
// and the demo catalog is loaded only on a simulated lane that has none.

const CSV = 'gtin;name;price;unit;weightg\n5449000000996;Cola 0.33 l;129;each;350\n2812340000002;Cheese;1990;kg;\n';

const start = async (t: Test, settings: Record<string, unknown> = { demo: false }) => {
  const h = await serviceHarness(catalog, { settings });
  t.teardown(() => h.stop());
  return h;
};
const scanned = (h: ServiceHarness, data: Record<string, unknown>) => h.event('scanner', 'BarcodeScanned', { symbology: 'ean13', ...data });

t.test('an import swaps the whole catalog; a bad file or a strict one with rejects changes nothing', async (t) => {
  const h = await start(t);
  const report = await h.ok('Import', { content: CSV });
  t.match(report, { version: 1, origin: 'inline', rows: 2, imported: 2, rejected: 0 });
  t.match(h.events('CatalogImported')[0]?.data, { version: 1, products: 2, rejected: 0, sha256: /^[0-9a-f]{64}$/ });

  const withBad = `${CSV}5449000000997;Bad check digit;1;each;\n`;
  t.match(await h.command('Import', { content: withBad, strict: true }), {
    ok: false,
    error: /1 of 3 rows rejected and strict is set \(row 4: .*check digit.*\); the catalog is unchanged/,
  });
  t.match(await h.command('Import', { content: 'gtin;name;price\n' }), { ok: false, error: /no valid product/ });
  t.equal(h.events('CatalogImported').length, 1, 'refused imports emit nothing');
  t.match(await h.ok('List', {}), { total: 2, version: 1 });

  const file = join(tempDir(), 'prices.csv');
  writeFileSync(file, 'gtin,name,price\n4006381333931,Pen,249\n');
  t.match(await h.ok('Import', { path: file }), { version: 2, origin: file, imported: 1 });
  t.match(await h.ok('List', {}), { total: 1, products: [{ name: 'Pen' }] }, 'the old products are gone');
  t.match(await h.command('Import', { path: join(file, 'missing') }), { ok: false, error: /cannot read .*missing \(ENOTDIR\)/ });
  t.match(await h.command('Import', {}), { ok: false, error: 'give the file as path or content' });
});

t.test('scans resolve to products, labels by their lookup GTIN, the rest with a reason', async (t) => {
  const h = await start(t);
  await h.ok('Import', { content: CSV });
  const scan = await scanned(h, { raw: '5449000000996', gtin: '05449000000996' });
  t.match(h.events('ScanResolved')[0], {
    corr: scan.id,
    cause: scan.id,
    data: { scan: scan.id, device: 'scanner', gtin: '05449000000996', product: { name: 'Cola 0.33 l', price: 129, weightG: 350 } },
  });
  const rcn = { layout: 'de', prefix: '28', item: '1234', measure: 'weight', value: 250, decimals: 3, grams: 250, lookupGtin: '02812340000002' };
  await scanned(h, { raw: '2812340002505', gtin: '02812340002505', rcn });
  t.match(h.events('ScanResolved')[1]?.data, { gtin: '02812340002505', rcn: { grams: 250 }, product: { name: 'Cheese', unit: 'kg' } });
  await scanned(h, { raw: '4006381333931', gtin: '04006381333931' });
  t.match(h.events('ScanResolved')[2]?.data, { reason: 'no product 04006381333931' });
  t.notOk(h.events('ScanResolved')[2]?.data.product);
  await scanned(h, { symbology: 'code128', raw: 'HELLO' });
  t.match(h.events('ScanResolved')[3]?.data, { code: 'HELLO', reason: 'code128 code is not a GTIN' });
});

t.test('the shopper’s pick resolves as a scan from the UI; produce lists what is weighed', async (t) => {
  const h = await start(t);
  await h.ok('Import', { content: CSV });
  t.match(await h.ok('Produce'), { products: [{ name: 'Cheese', mustWeigh: true }] });
  const picked = await h.ok<{ event: string }>('Pick', { gtin: '2812340000002' });
  t.match(h.events('ScanResolved')[0], { id: picked.event, data: { device: 'ui', product: { name: 'Cheese' } } });
  t.match(await h.command('Pick', { gtin: '123' }), { ok: false, error: '123 is not a GTIN (8, 12, 13 or 14 digits)' });
  t.match(await h.command('Show', { gtin: '4006381333931' }), { ok: false, error: 'no product 04006381333931 in the catalog' });
});

t.test('the demo catalog: loaded once on a simulated lane with an empty catalog', async (t) => {
  const h = await start(t, {});
  t.match(await h.ok('List', {}), { total: demo.products.length, origin: 'demo catalog' });
  await h.ok('Import', { content: CSV });
  await h.stop();
  const again = await serviceHarness(catalog, { stateDir: h.stateDir });
  t.teardown(() => again.stop());
  t.match(await again.ok('List', {}), { total: 2, version: 2 }, 'a restart keeps the imported catalog');
});
