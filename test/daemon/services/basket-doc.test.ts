import t from 'tap';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ItemAddedToBasket } from '../../../daemon/events/schemas/checkout.js';
import '../../../daemon/events/schemas/index.js';
import { dataProblem } from '../../../daemon/events/schema.js';
import { BasketView, linesPerPage, longestLine, MAX_LINES_PER_PAGE, type BasketPage, type BasketSummary } from '../../../daemon/services/basket/doc.js';
import { ROOT } from '../../helpers/daemon.js';
import type { Json } from '../../helpers/json.js';

// The basket's documents stay within events.maxPayloadBytes by construction, and a
// reader shows a basket only when the summary and its pages of lines agree.

t.test('a page of the longest lines the schema allows fits in events.maxPayloadBytes', async (t) => {
  const { pendingRemoval, ...line } = longestLine();
  t.equal(pendingRemoval, 999);
  t.equal(dataProblem('ItemAddedToBasket', 1, line), undefined, 'the longest line is a valid ItemAddedToBasket');
  t.same(Object.keys(line).sort(), Object.keys(ItemAddedToBasket.properties).sort(), 'with every field the schema has');
  for (const max of [65_536, 16_384, 8192, 1_048_576]) {
    const n = linesPerPage(max);
    const page: BasketPage = { txn: '\u0001'.repeat(64), page: 999_999, rev: Number.MAX_SAFE_INTEGER, lines: Array.from({ length: n }, () => longestLine()) };
    const bytes = Buffer.byteLength(JSON.stringify(page));
    t.ok(bytes <= max, `maxPayloadBytes ${max}: ${n} lines per page, ${bytes} bytes at most`);
    t.ok(n >= 1 && n <= MAX_LINES_PER_PAGE);
  }
  t.equal(linesPerPage(65_536), MAX_LINES_PER_PAGE, 'the default limit takes full pages');
});

const summary = (over: Partial<BasketSummary>): BasketSummary => ({
  lane: 'lane-1',
  rev: 1,
  txn: 'T-0001',
  status: 'open',
  currency: 'EUR',
  total: 0,
  items: 0,
  lineCount: 0,
  pages: 0,
  linesRev: 0,
  blocked: 0,
  ...over,
});
const line = (n: number) => ({ line: `L${n}`, gtin: '05449000000996', name: 'Cola', unit: 'each' as const, quantity: 1, unitPrice: 99, price: 99 });
const page = (k: number, rev: number, from: number, to: number, txn = 'T-0001'): BasketPage => ({
  txn,
  page: k,
  rev,
  lines: Array.from({ length: to - from + 1 }, (_, i) => line(from + i)),
});

// The touch UI's copy (ui-static/js/basket-view.js) runs the same script.
const readers: Array<[string, () => Promise<{ take(name: string, doc: unknown): Json }>]> = [
  ['daemon/services/basket/doc.ts', async () => new BasketView()],
  [
    'ui-static/js/basket-view.js',
    async () => {
      const { BasketView: UiView } = (await import(pathToFileURL(join(ROOT, 'ui-static/js/basket-view.js')).href)) as { BasketView: new () => Json };
      return new UiView();
    },
  ],
];

for (const [where, make] of readers) {
  t.test(`${where}: summary and pages put together only when they agree`, async (t) => {
    const v = await make();
    t.equal(v.take('basket/lines/0', page(0, 3, 1, 2)), undefined, 'a page alone is no basket');
    const b = v.take('basket', summary({ rev: 3, pages: 1, linesRev: 3, lineCount: 2 }));
    t.same(
      b?.lines.map((l: { line: string }) => l.line),
      ['L1', 'L2'],
      'summary and page of rev 3',
    );
    t.equal(v.take('basket/lines/1', page(1, 4, 26, 26)), undefined, 'a new page before its summary: the last basket stands');
    const b4 = v.take('basket', summary({ rev: 4, pages: 2, linesRev: 4, lineCount: 3 }));
    t.equal(b4?.lines.length, 3, 'with its summary: three lines');
    t.equal(v.take('basket', summary({ rev: 5, pages: 2, linesRev: 5, lineCount: 2 })), undefined, 'a summary before its page: wait');
    const b5 = v.take('basket/lines/0', page(0, 5, 2, 2));
    t.same(
      b5?.lines.map((l: { line: string }) => l.line),
      ['L2', 'L26'],
      'the page arrives: L1 removed',
    );
    t.equal(v.take('basket', summary({ rev: 6, txn: 'T-0002', pages: 1, linesRev: 6 })), undefined, 'pages of another transaction do not count');
    const idle = v.take('basket', summary({ rev: 7, txn: null, status: 'idle', pages: 0, linesRev: 6 }));
    t.same(idle?.lines, [], 'idle: no lines');
    t.equal(v.take('basket/lines/0', undefined), undefined, 'a removed page changes nothing for an idle basket');
  });
}
