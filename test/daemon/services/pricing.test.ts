import t from 'tap';
import { currencyDigits, priceByWeight, priceScan, toMinor } from '../../../daemon/services/basket/pricing.js';
import type { Product, ScanResolvedData } from '../../../daemon/events/schemas/checkout.js';

const scan = (extra: Partial<ScanResolvedData> = {}): ScanResolvedData => ({
  scan: '01JDSCAN00000000000000000',
  device: 'scanner',
  code: 'x',
  gtin: '02100000000258',
  ...extra,
});
const rcn = (measure: 'price' | 'weight' | 'count', value: number, decimals: number) => ({
  layout: 'de',
  prefix: '28',
  item: '1234',
  measure,
  value,
  decimals,
  lookupGtin: '02812340000002',
  ...(measure === 'weight' ? { grams: value * 10 ** (3 - decimals) } : measure === 'price' ? { price: { minor: value, decimals } } : { count: value }),
});
const cola: Product = { gtin: '05449000000996', name: 'Cola', price: 99, unit: 'each', weightG: 350 };
const cheese: Product = { gtin: '02812340000002', name: 'Cheese', price: 1990, unit: 'kg', tolerancePct: 3 };

t.test('money in integer minor units', async (t) => {
  t.equal(currencyDigits('EUR'), 2);
  t.equal(currencyDigits('JPY'), 0);
  t.equal(toMinor(899, 2, 2), 899);
  t.equal(toMinor(89, 1, 2), 890, 'one decimal on the label');
  t.equal(toMinor(1234, 3, 2), 123, 'more decimals than the currency: rounded');
  t.equal(priceByWeight(1250, 1990), 2488, '1.25 kg at 19.90 = 24.875, half up');
  t.equal(priceByWeight(1234, 189), 233);
});

t.test('lines from scans', async (t) => {
  t.same(priceScan(scan({ gtin: cola.gtin }), cola, 2), {
    ok: true,
    item: { gtin: cola.gtin, name: 'Cola', unit: 'each', unitPrice: 99, scan: '01JDSCAN00000000000000000', quantity: 1, price: 99, bagging: { unitG: 350 } },
  });
  const w = priceScan(scan({ rcn: rcn('weight', 1250, 3) }), cheese, 2);
  t.same(w.ok && [w.item.price, w.item.grams, w.item.label, w.item.bagging], [2488, 1250, 'weight', { unitG: 1250, tolerancePct: 3 }], 'weight label');
  const p = priceScan(scan({ rcn: rcn('price', 899, 2) }), { ...cheese, price: 1499 }, 2);
  t.same(p.ok && [p.item.price, p.item.grams, p.item.label], [899, 600, 'price'], 'price label: the weight is estimated from the price per kg');
  const c = priceScan(scan({ rcn: rcn('count', 6, 0) }), cola, 2);
  t.same(c.ok && [c.item.quantity, c.item.price, c.item.bagging], [6, 594, { unitG: 350 }], 'count label');
  t.same(priceScan(scan(), { ...cheese, gtin: '02100000000258' }, 2), { ok: false, needsWeight: true }, 'sold by weight, nothing weighed yet');
  const b = priceScan(scan(), { ...cheese, gtin: '02100000000258', price: 189 }, 2, 1234);
  t.same(b.ok && [b.item.price, b.item.grams, b.item.bagging], [233, 1234, { unitG: 1234, tolerancePct: 3 }], 'weighed produce');
  const skip = priceScan(scan(), { ...cola, skipBagging: true }, 2);
  t.notOk(skip.ok && 'bagging' in skip.item, 'skip-bagging: no bagging expectation');
  const unknownWeight = priceScan(scan(), { ...cola, weightG: undefined }, 2);
  t.notOk(unknownWeight.ok && 'bagging' in unknownWeight.item, 'no catalog weight: nothing to verify');
  const aged = priceScan(scan(), { ...cola, ageRestricted: 18 }, 2);
  t.equal(aged.ok && aged.item.ageRestricted, 18);
});
