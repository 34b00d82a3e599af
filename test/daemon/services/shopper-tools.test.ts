import t from 'tap';
import { LaneSession } from '../../helpers/session.js';

// The services behind the touch UI's shopper tools, through the real broker as the
// `ui` role: codes keyed (PLU, GTIN with its check digit, a price label), the name
// search, produce most used first, removals free up to a value, an own bag.

const COLA = '05449000000996';
const COFFEE = '02100000000050';
const BANANAS = '02100000000258';

t.test('keyed codes, name search, produce order, free removals, own bag', async (t) => {
  const s = await LaneSession.open({ services: { basket: { removalFreeUpTo: 100 } } });
  t.teardown(() => s.close());
  const lines = (): Array<{ line: string; gtin: string; quantity: number; price: number; entry?: string; pendingRemoval?: number }> =>
    s.docs.get('basket')?.lines ?? [];

  await t.test('a keyed code: refused with the reason, or added as a keyed entry', async (t) => {
    const bad: Array<[string, RegExp]> = [
      ['5449000000997', /code 5449000000997: .*check digit 7 is wrong \(GS1 GS §7\.9\.1\)/],
      ['12a4', /only digits can be keyed/],
      ['123', /neither a PLU \(4 or 5 digits\) nor a GTIN/],
      ['9999', /no product with PLU 9999 in the catalog/],
      ['4000000000006', /code 4000000000006: no product 04000000000006/],
    ];
    for (const [code, re] of bad) {
      const r = await s.cmd('catalog', 'Key', { code });
      t.equal(r.ok, false, `${code} refused`);
      t.match(r.error, re, code);
    }
    t.match(await s.ok('catalog', 'Key', { code: '5449000000996' }), { gtin: COLA, name: 'Cola, 0.33 l can' });
    const added = await s.waitFor((e) => e.type === 'ItemAddedToBasket' && e.data.gtin === COLA, 'the keyed cola in the basket');
    t.equal(added.data.entry, 'keyed', 'ItemAddedToBasket says keyed');
    const resolved = s.events.find((e) => e.type === 'ScanResolved' && (e.data as { gtin?: string }).gtin === COLA)! as { data: Record<string, unknown> };
    t.match(resolved.data, { device: 'ui', code: '5449000000996', entry: 'keyed' });
    // a price label keyed decodes as the scanner decodes it (the lane's RCN layout)
    t.match(await s.ok('catalog', 'Key', { code: '2245674008992' }), { name: 'Minced beef from the counter (per kg)' });
    const label = await s.waitFor((e) => e.type === 'ItemAddedToBasket' && e.data.label === 'price', 'the keyed price label in the basket');
    t.equal(label.data.price, 899, 'priced from the label');
    t.equal(label.data.entry, 'keyed');
  });

  await t.test('name search: every word, most used first; PLU keyed', async (t) => {
    const r = await s.ok('catalog', 'Search', { search: 'per kg' });
    t.ok(r.products.length >= 4, 'the items sold per kg');
    t.ok(
      r.products.every((p: { name: string }) => /per kg/.test(p.name)),
      'only names with both words',
    );
    t.same((await s.ok('catalog', 'Search', { search: '100%' })).products, [], 'LIKE wildcards are letters');
    const before = (await s.ok('catalog', 'Produce')).products.map((p: { gtin: string }) => p.gtin);
    t.not(before[0], BANANAS, 'bananas not first before anyone bought them');
    t.match(await s.ok('catalog', 'Key', { code: '4011' }), { gtin: BANANAS, name: 'Bananas (per kg)' });
    await s.waitDoc('basket', (b) => b.notice?.code === 'weigh', 'the basket asks to weigh the bananas');
    const after = (await s.ok('catalog', 'Produce')).products;
    t.equal(after[0].gtin, BANANAS, 'bananas first once bought');
    t.equal(after[0].image, '/img/produce/bananas.svg', 'with their picture');
    t.same(
      (await s.ok('catalog', 'Produce', { search: 'tom' })).products.map((p: { plu: string }) => p.plu),
      ['4664'],
      'produce searched',
    );
  });

  await t.test('removals: worth up to removalFreeUpTo at once, above it an attendant approves', async (t) => {
    const cola = lines().find((l) => l.gtin === COLA)!;
    await s.ok('basket', 'ChangeQuantity', { line: cola.line, quantity: 3 });
    t.match(await s.ok('basket', 'RemoveItem', { line: cola.line, quantity: 2 }), { pending: false }, 'one can (0.99) off at once');
    t.match(await s.ok('basket', 'RemoveItem', { line: cola.line, quantity: 0 }), { pending: true }, 'two cans (1.98) wait for an attendant');
    await s.ok('catalog', 'Key', { code: '2100000000050' });
    await s.waitDoc('basket', (b) => b.lines.some((l: { gtin: string }) => l.gtin === COFFEE), 'coffee in the basket');
    const coffee = lines().find((l) => l.gtin === COFFEE)!;
    t.match(await s.ok('basket', 'RemoveItem', { line: coffee.line }), { pending: true }, 'coffee (8.99) waits for an attendant');
  });

  await t.test('an own bag: declared, tared by the weight check', async (t) => {
    const r = await s.ok('basket', 'DeclareBag');
    t.match(r, { bag: 'B1', minG: 5, maxG: 250 });
    await s.waitDoc('basket', (b) => b.bags === 1, 'doc/basket counts the bag');
    await s.waitFor((e) => e.type === 'OwnBagDeclared' && e.data.bag === 'B1', 'OwnBagDeclared');
    const w = await s.bag(42);
    const verified = s.events.find((e) => e.source === 'weightcheck' && (e.data as { key?: string }).key === `w:${w.id}`)! as {
      type: string;
      data: { bags?: string[] };
    };
    t.equal(verified.type, 'WeightVerified', 'no alarm for the bag');
    t.same(verified.data.bags, ['B1'], 'the verdict names the bag');
  });
});
