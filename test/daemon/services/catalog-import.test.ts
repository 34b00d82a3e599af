import t from 'tap';
import { parseCsv, detectSeparator } from '../../../daemon/services/catalog/csv.js';
import { parseCatalog, productFromRow, guessFormat, normalizeGtin, CatalogFileError } from '../../../daemon/services/catalog/import.js';
import { decodeRcn, RCN_LAYOUTS } from '../../../drivers/barcode/rcn.js';
import demo from '../../../daemon/services/catalog/demo-catalog.json' with { type: 'json' };

t.test('CSV: RFC 4180 quoting, CRLF, BOM, separator from the header', async (t) => {
  t.equal(detectSeparator('gtin;name;price\n1;2;3'), ';');
  t.equal(detectSeparator('gtin,name,price'), ',');
  t.equal(detectSeparator('gtin\tname'), '\t');
  const rows = parseCsv('\ufeffa,b,c\r\n1,"x, ""quoted""\nnext line",3\r\n\r\n4,,6');
  t.same(
    rows,
    [
      { line: 1, cells: ['a', 'b', 'c'] },
      { line: 2, cells: ['1', 'x, "quoted"\nnext line', '3'] },
      { line: 5, cells: ['4', '', '6'] },
    ],
    'a quoted newline stays in its cell; line numbers count physical lines; blank lines skipped',
  );
});

t.test('a row to a product: every field checked, with a message naming it', async (t) => {
  t.same(productFromRow({ gtin: '5449000000996', name: ' Cola ', price: '99', weightg: '350' }), {
    gtin: '05449000000996',
    name: 'Cola',
    price: 99,
    unit: 'each',
    weightG: 350,
  });
  t.same(
    productFromRow({ gtin: '2100000000258', name: 'Bananas', price: 189, unit: 'KG' }),
    { gtin: '02100000000258', name: 'Bananas', price: 189, unit: 'kg', mustWeigh: true },
    'kg means weighed unless told otherwise',
  );
  t.same(productFromRow({ gtin: '2812340000002', name: 'Cheese', price: 1990, unit: 'kg', mustweigh: 'no', agerestricted: '', skipbagging: '0' }), {
    gtin: '02812340000002',
    name: 'Cheese',
    price: 1990,
    unit: 'kg',
  });
  t.same(productFromRow({ gtin: '96385074', name: 'EAN-8', price: 1, agerestricted: 18, skipbagging: 'yes' }), {
    gtin: '00000096385074',
    name: 'EAN-8',
    price: 1,
    unit: 'each',
    ageRestricted: 18,
    skipBagging: true,
  });
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ name: 'x', price: 1 }, /gtin is empty/],
    [{ gtin: '12345', name: 'x', price: 1 }, /must be 8, 12, 13 or 14 digits/],
    [{ gtin: '5449000000997', name: 'x', price: 1 }, /check digit is wrong/],
    [{ gtin: '5449000000996', name: '', price: 1 }, /name is empty/],
    [{ gtin: '5449000000996', name: 'x'.repeat(121), price: 1 }, /at most 120/],
    [{ gtin: '5449000000996', name: 'x' }, /price is empty/],
    [{ gtin: '5449000000996', name: 'x', price: '1.29' }, /whole number \(minor units: 1\.29 is 129\)/],
    [{ gtin: '5449000000996', name: 'x', price: '-1' }, /between 0 and/],
    [{ gtin: '5449000000996', name: 'x', price: 'abc' }, /price must be a number/],
    [{ gtin: '5449000000996', name: 'x', price: 1, unit: 'litre' }, /unit must be each or kg/],
    [{ gtin: '5449000000996', name: 'x', price: 1, weightg: '0' }, /weight_g must be above 0/],
    [{ gtin: '5449000000996', name: 'x', price: 1, skipbagging: 'maybe' }, /skip_bagging must be true\/false/],
    [{ gtin: '5449000000996', name: 'x', price: 1, mustweigh: 'yes' }, /must_weigh needs unit kg/],
    [{ gtin: '5449000000996', name: 'x', price: 1, agerestricted: '17.5' }, /age_restricted must be a whole number/],
  ];
  for (const [row, re] of bad) t.throws(() => productFromRow(row), re, re.source);
});

t.test('files: rejected rows reported with their row numbers; unusable files refused whole', async (t) => {
  const csv = 'GTIN,Name,Price,Weight_G\n5449000000996,Cola,99,350\n5449000000996,Cola again,99,350\n5449000000997,Bad,1,\n4006381333931,Pen,129,12\n';
  const p = parseCatalog(csv, 'csv');
  t.same(
    p.products.map((x) => x.name),
    ['Cola', 'Pen'],
  );
  t.same(p.rejected, [
    { row: 3, reason: 'gtin 05449000000996 already in row 2' },
    { row: 4, reason: 'gtin 5449000000997: check digit is wrong (GS1 GS §7.9.1)' },
  ]);
  t.equal(p.rows, 4);
  const json = parseCatalog(
    JSON.stringify({ products: [{ gtin: '5449000000996', name: 'Cola', price: 99, weightG: 350 }, { gtin: 'x' }, 'not an object'] }),
    'json',
  );
  t.same([json.products.length, json.rejected.map((r) => r.row)], [1, [2, 3]], 'camelCase keys too; JSON rows are 1-based indexes');
  t.throws(() => parseCatalog('', 'csv'), CatalogFileError);
  t.throws(() => parseCatalog('code,title\n1,2', 'csv'), /no "gtin" column/);
  t.throws(() => parseCatalog('{"products": 3}', 'json'), /expected an array/);
  t.throws(() => parseCatalog('{nope', 'json'), /not valid JSON/);
  t.equal(guessFormat('  [{"gtin": 1}]'), 'json');
  t.equal(guessFormat('gtin,name'), 'csv');
  t.equal(guessFormat('[', 'file.csv'), 'csv');
  t.equal(normalizeGtin('96385074'), '00000096385074');
  t.equal(normalizeGtin('abc'), undefined);
});

t.test('the demo catalog: valid throughout, with every kind of item a demo lane sells', async (t) => {
  const p = parseCatalog(JSON.stringify(demo), 'json');
  t.same(p.rejected, [], 'no row rejected');
  t.ok(p.products.length >= 24 && p.products.length <= 60, `a few dozen items (${p.products.length})`);
  t.ok(
    p.products.some((x) => x.ageRestricted),
    'an age-restricted item',
  );
  t.ok(
    p.products.some((x) => x.skipBagging),
    'a skip-bagging item',
  );
  t.ok(
    p.products.some((x) => x.mustWeigh),
    'produce sold by weight',
  );
  t.ok(
    p.products.filter((x) => x.weightG !== undefined).every((x) => x.weightG! % 2 === 0),
    'weights the 2 g simulated scale can show',
  );
  const byGtin = new Map(p.products.map((x) => [x.gtin, x]));
  for (const [code, what] of Object.entries(demo.labels)) {
    const r = decodeRcn(code, RCN_LAYOUTS.de);
    t.ok(r?.ok, `${code} decodes (${what})`);
    if (r?.ok) t.ok(byGtin.has(r.rcn.lookupGtin), `${what}: its lookup GTIN ${r.rcn.lookupGtin} is in the catalog`);
  }
  t.ok(byGtin.has('04006381333931') && byGtin.has('05449000000996'), "the simulated scanner's scripted codes are known");
});
