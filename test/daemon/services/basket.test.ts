import t, { type Test } from 'tap';
import { basket } from '../../../daemon/services/basket/service.js';
import type { Product } from '../../../daemon/events/schemas/checkout.js';
import { serviceHarness, type ServiceHarness } from '../../helpers/service-harness.js';

// The basket's rules on the service alone: pricing of each kind of scan, the blocks an
// open intervention or a waiting removal puts on paying, and the scans it refuses.

const COLA: Product = { gtin: '05449000000996', name: 'Cola 0.33 l', price: 129, unit: 'each', weightG: 350 };
const PEN: Product = { gtin: '04006381333931', name: 'Pen', price: 249, unit: 'each' };
const APPLES: Product = { gtin: '02000000000008', name: 'Apples', price: 299, unit: 'kg', mustWeigh: true };
const BEER: Product = { gtin: '04000000000017', name: 'Beer', price: 99, unit: 'each', ageRestricted: 18 };

let scans = 0;
const scan = (h: ServiceHarness, product?: Product, extra: Record<string, unknown> = {}) =>
  h.event('catalog', 'ScanResolved', {
    scan: `S${++scans}`,
    device: 'scanner',
    code: product?.gtin.slice(1) ?? '1234567890128',
    ...(product ? { gtin: product.gtin, product } : { gtin: '01234567890128', reason: 'no product 01234567890128' }),
    ...extra,
  });

interface Summary {
  txn: string | null;
  status: string;
  total: number;
  items: number;
  lineCount: number;
  blocked: number;
  notice?: { code: string; text: string };
  payment?: string;
  last?: { txn: string; status: string; total: number };
}

const start = async (t: Test, settings: Record<string, unknown> = {}) => {
  const h = await serviceHarness(basket, { settings });
  t.teardown(() => h.stop());
  return h;
};

t.test('an each-priced scan opens a transaction and adds a line; the total follows', async (t) => {
  const h = await start(t);
  t.equal(h.doc<Summary>('basket')?.status, 'idle', 'doc/basket says idle at start');
  await scan(h, COLA);
  await scan(h, PEN);
  const [started] = h.events<{ txn: string }>('TransactionStarted');
  t.equal(started.data.txn, 'T-0001');
  t.same(
    h.events('ItemAddedToBasket').map((e) => [e.data.line, e.data.price, e.data.bagging]),
    [
      ['L1', 129, { unitG: 350 }],
      ['L2', 249, undefined],
    ],
    'lines priced from the catalog; only a product with a weight is expected in the bagging area',
  );
  t.ok(
    h.events('ItemAddedToBasket').every((e) => e.corr === started.id && e.txn === 'T-0001'),
    'every line carries the transaction and its first event',
  );
  const doc = h.doc<Summary>('basket')!;
  t.match(doc, { txn: 'T-0001', status: 'open', total: 378, items: 2, lineCount: 2 });
  const page = h.doc<{ lines: Array<{ line: string }> }>('basket/lines/0');
  t.same(
    page?.lines.map((l) => l.line),
    ['L1', 'L2'],
    'the page of lines goes out with the summary',
  );
});

t.test('produce: waits for the scale, priced by weight rounded half up; a label prices itself', async (t) => {
  const h = await start(t);
  await scan(h, APPLES);
  t.equal(h.events('ItemAddedToBasket').length, 0, 'no line before a weight');
  t.match(h.doc<Summary>('basket')?.notice, { code: 'weigh' });
  await h.event('scanscale', 'ProduceWeighed', { grams: 415, stable: true, unit: 'kg', raw: '0.415' });
  const [line] = h.events<{ price: number; grams: number }>('ItemAddedToBasket');
  t.equal(line.data.grams, 415);
  t.equal(line.data.price, 124, '415 g at 2.99/kg = 124.085 -> 124');
  t.notOk(h.doc<Summary>('basket')?.notice, 'the notice goes once weighed');

  // a weight left on the platter prices the next produce scan at once; the platter emptied forgets it
  await h.event('scanscale', 'ProduceWeighed', { grams: 1000, stable: true, unit: 'kg', raw: '1.000' });
  await scan(h, APPLES);
  t.equal(h.events<{ price: number }>('ItemAddedToBasket')[1]?.data.price, 299, 'a kilogram at 2.99');
  await h.event('scanscale', 'ProduceWeighed', { grams: 500, stable: true, unit: 'kg', raw: '0.500' });
  await h.event('scanscale', 'ScaleStatus', { state: 'zero' });
  await scan(h, APPLES);
  t.equal(h.events('ItemAddedToBasket').length, 2, 'after the platter read zero, the next produce waits for a new weight');

  await scan(h, APPLES, {
    code: '2812347012503',
    rcn: { layout: 'de', prefix: '28', item: '1234', measure: 'price', value: 1250, decimals: 2, price: { minor: 1250, decimals: 2 }, lookupGtin: APPLES.gtin },
  });
  const label = h.events<{ price: number; label: string; grams: number }>('ItemAddedToBasket')[2];
  t.match(label?.data, { price: 1250, label: 'price', grams: 4181 }, 'the label price stands; its weight is worked back from the price per kg');
});

t.test('an unknown item is reported and noted on the screen; it adds no line', async (t) => {
  const h = await start(t);
  await scan(h);
  t.match(h.events('UnknownItemScanned')[0]?.data, { gtin: '01234567890128', reason: 'no product 01234567890128' });
  t.equal(h.events('ItemAddedToBasket').length, 0);
  t.match(h.doc<Summary>('basket'), { status: 'open', total: 0, notice: { code: 'unknown' } });
});

t.test('a blocking intervention stops paying until it clears; a declined payment can be tried again', async (t) => {
  const h = await start(t);
  await scan(h, BEER);
  await scan(h, COLA);
  const txn = 'T-0001';
  await h.event(
    'attendant',
    'InterventionRequired',
    { intervention: 'I-0001', kind: 'age-check', reason: 'Age check', blocking: true, ref: 'x', line: 'L1' },
    { txn },
  );
  t.equal(h.doc<Summary>('basket')?.blocked, 1, 'doc/basket shows the block');
  const refused = await h.command('Pay');
  t.match(refused, { ok: false, error: /waits for an attendant \(1 intervention open\)/ });
  t.equal(h.events('PaymentRequested').length, 0);
  await h.event('attendant', 'InterventionCleared', { intervention: 'I-0001', kind: 'age-check', resolution: 'approved', by: 'attendant' }, { txn });
  const paid = await h.ok<{ payment: string; amount: number }>('Pay');
  t.same(paid, { txn, payment: 'T-0001-P1', amount: 228, currency: 'EUR' });
  t.match(h.events('PaymentRequested')[0]?.data, { payment: 'T-0001-P1', amount: 228, attempt: 1 });

  t.match(await h.command('Pay'), { ok: false, error: /already in progress/ }, 'no second payment while one runs');
  t.match(await h.command('Cancel'), { ok: false, error: /cancel it on the terminal first/ });
  t.match(await h.command('RemoveItem', { line: 'L2' }), { ok: false, error: /is paying; lines cannot change now/ });
  await scan(h, PEN);
  t.match(h.events('ScanRefused')[0]?.data, { reason: 'payment-in-progress' }, 'a scan while paying is refused, not added');
  t.equal(h.events('ItemAddedToBasket').length, 2);

  await h.event('payment', 'PaymentDeclined', { payment: 'T-0001-P1', amount: 228, reason: 'declined' }, { txn });
  t.match(h.doc<Summary>('basket'), { status: 'open', notice: { code: 'declined' } });
  const again = await h.ok<{ payment: string }>('Pay');
  t.equal(again.payment, 'T-0001-P2', 'the second attempt has its own payment id');
  await h.event(
    'payment',
    'PaymentAuthorized',
    { payment: 'T-0001-P2', amount: 228, currency: 'EUR', terminal: 'simulated', authCode: '123456', method: 'card' },
    { txn },
  );
  t.match(h.events('TransactionCompleted')[0]?.data, { total: 228, items: 2, payment: 'T-0001-P2' });
  t.match(h.doc<Summary>('basket'), { txn: null, status: 'idle', last: { txn, status: 'completed', total: 228 } });
  t.notOk(h.doc('basket/lines/0'), 'the closed transaction’s page of lines is removed');
});

t.test('a payment for another amount or another attempt does not complete the transaction', async (t) => {
  const h = await start(t);
  await scan(h, COLA);
  await h.ok('Pay');
  await h.event('payment', 'PaymentAuthorized', { payment: 'T-0001-P9', amount: 129, currency: 'EUR', terminal: 'simulated', authCode: '1', method: 'card' });
  await h.event('payment', 'PaymentAuthorized', { payment: 'T-0001-P1', amount: 100, currency: 'EUR', terminal: 'simulated', authCode: '1', method: 'card' });
  t.equal(h.events('TransactionCompleted').length, 0);
  t.equal(h.doc<Summary>('basket')?.status, 'paying');
  t.ok(
    h.logs.some((l) => l.level === 50 && /authorized 100 but T-0001 totals 129/.test(l.msg)),
    'the short payment is logged as an error for an attendant',
  );
});

t.test('removal: waits for an attendant by default, blocks paying, applies on approval; without approval at once', async (t) => {
  const h = await start(t);
  await scan(h, COLA);
  await scan(h, PEN);
  t.match(await h.ok('RemoveItem', { line: 'L1' }), { line: 'L1', quantity: 0, pending: true });
  t.match(h.events('ItemRemovalRequested')[0]?.data, { line: 'L1', name: COLA.name, quantity: 0 });
  t.match(await h.command('RemoveItem', { line: 'L1' }), { ok: false, error: /already waits for an attendant/ });
  t.match(await h.command('Pay'), { ok: false, error: /has a removal waiting for an attendant/ });
  t.match(await h.command('RemoveItem', { line: 'L7' }), { ok: false, error: /T-0001 has no line L7/ });
  t.match(await h.command('RemoveItem', { line: 'nope' }), { ok: false, error: /args\/line/ }, 'args are checked against the command schema');

  await h.event(
    'attendant',
    'OverrideApplied',
    { intervention: 'I-0001', kind: 'removal', action: 'approve', by: 'anna', method: 'key', line: 'L1' },
    { txn: 'T-0001' },
  );
  t.match(h.events('ItemRemovedFromBasket')[0]?.data, { line: 'L1', reason: 'approved', by: 'anna' });
  t.match(h.doc<Summary>('basket'), { total: 249, lineCount: 1 });

  const free = await start(t, { removalNeedsApproval: false });
  await scan(free, COLA);
  await free.ok('ChangeQuantity', { line: 'L1', quantity: 3 });
  t.match(free.events('QuantityChanged')[0]?.data, { from: 1, quantity: 3, price: 387 });
  t.match(await free.ok('RemoveItem', { line: 'L1', quantity: 1 }), { pending: false });
  t.match(free.events('QuantityChanged')[1]?.data, { from: 3, quantity: 1, price: 129 });
  t.match(await free.command('RemoveItem', { line: 'L1', quantity: 1 }), { ok: false, error: /use ChangeQuantity to raise it/ });
});

t.test('a closed lane refuses scans and starts no transaction; reopened it sells again', async (t) => {
  const h = await start(t);
  await h.event('attendant', 'LaneClosed', { missing: [{ need: 'scanner', devices: ['scanner'], fault: 'scanner: disconnected' }] });
  await scan(h, COLA);
  t.match(h.events('ScanRefused')[0]?.data, { reason: 'lane-closed', detail: /scanner: disconnected/ });
  t.equal(h.events('TransactionStarted').length, 0);
  t.match(await h.command('Pay'), { ok: false, error: /no transaction is open/ });
  await h.event('attendant', 'LaneReopened', {});
  await scan(h, COLA);
  t.equal(h.events('TransactionStarted').length, 1);
});

t.test('closed by store IT: the shopper mid-basket goes on, a new one is refused; reopened it sells again', async (t) => {
  const h = await start(t);
  await scan(h, COLA);
  await h.event('attendant', 'LaneClosed', { missing: [], store: { by: 'store:it-alice', reason: 'inventory count' } });
  await scan(h, PEN);
  t.equal(h.events('ItemAddedToBasket').length, 2, 'the open transaction takes more items');
  t.equal(h.events('ScanRefused').length, 0);
  await h.ok('Cancel');
  await scan(h, COLA);
  t.match(h.events('ScanRefused')[0]?.data, { reason: 'lane-closed', detail: /closed by store:it-alice: inventory count/ });
  t.match(await h.command('DeclareBag'), { ok: false, error: /the lane is closed/ });
  t.equal(h.events('TransactionStarted').length, 1, 'no new transaction');
  await h.event('attendant', 'LaneReopened', { by: 'store:it-alice' });
  await scan(h, COLA);
  t.equal(h.events('TransactionStarted').length, 2);
});

t.test('cancel closes the transaction with its total; the next scan starts the next one', async (t) => {
  const h = await start(t);
  await scan(h, COLA);
  t.same(await h.ok('Cancel', { reason: 'changed my mind' }), { txn: 'T-0001', status: 'cancelled' });
  t.match(h.events('TransactionCancelled')[0]?.data, { total: 129, reason: 'changed my mind' });
  await scan(h, PEN);
  t.equal(h.events<{ txn: string }>('TransactionStarted')[1]?.data.txn, 'T-0002');
});
