import t from 'tap';
import { hashPassword } from '../../broker/credentials.js';
import { LaneSession, PIN } from '../helpers/session.js';

// Acceptance (issue 4): scripted lane sessions end to end through the broker with the
// simulated devices (scanner, scanner-scale, NAU7802 bagging scale, light, key switch
// run their real drivers on their twins). Each scenario is one transaction; the
// final basket, the receipt and every service's event stream are asserted exactly
// (event ids in data appear as @<Type> of the event they name).

const COLA = { code: '5449000000996', gtin: '05449000000996', name: 'Cola, 0.33 l can', price: 99, g: 350 };
const BUTTER = { code: '2100000000029', gtin: '02100000000029', name: 'Butter, 250 g', price: 229, g: 256 };
const BANANAS = { code: '2100000000258', gtin: '02100000000258', name: 'Bananas (per kg)', price: 189 };
const APPLES = { code: '2100000000265', gtin: '02100000000265', name: 'Apples (per kg)', price: 249 };

const item = (p: { gtin: string; name: string; price: number; g?: number }, line: string, extra: Record<string, unknown> = {}) => ({
  line,
  gtin: p.gtin,
  name: p.name,
  unit: 'each',
  unitPrice: p.price,
  quantity: 1,
  price: p.price,
  scan: '@BarcodeScanned',
  ...(p.g ? { bagging: { unitG: p.g } } : {}),
  ...extra,
});

t.test('lane sessions: shopping, produce, labels, quantities, cancel, duplicates', async (t) => {
  const s = await LaneSession.open({
    services: {
      attendant: { enabled: true, pinHash: await hashPassword(PIN) },
      weightcheck: { enabled: true, notBaggedTimeoutMs: 60_000 },
      payment: { enabled: true, terminal: { kind: 'simulated', delayMs: 100 } },
    },
  });
  t.teardown(() => s.close());
  t.same(s.docs.get('lane'), { state: 'idle', attendantMode: false, txn: null, light: { light: 'on' }, interventions: [] }, 'idle lane, light on');

  await t.test('happy path: two items scanned, bagged, paid', async (t) => {
    const l1 = await s.scanItem(COLA.code);
    const txn = l1.txn!;
    await s.bag(COLA.g);
    await s.scanItem(BUTTER.code);
    await s.bag(BUTTER.g);
    const basket = await s.waitDoc('basket', (d) => d.total === 328, 'basket total 3.28');
    t.same(
      basket.lines.map((l: any) => [l.line, l.name, l.quantity, l.price]),
      [
        ['L1', COLA.name, 1, 99],
        ['L2', BUTTER.name, 1, 229],
      ],
      'doc/basket lists both lines',
    );
    const { outcome } = await s.pay();
    t.equal(outcome.type, 'PaymentAuthorized');
    t.same(s.streams(txn), {
      basket: [
        ['TransactionStarted', { txn, lane: 'lane-1', currency: 'EUR' }],
        ['ItemAddedToBasket', item(COLA, 'L1')],
        ['ItemAddedToBasket', item(BUTTER, 'L2')],
        ['PaymentRequested', { payment: `${txn}-P1`, amount: 328, currency: 'EUR', attempt: 1 }],
        ['TransactionCompleted', { total: 328, currency: 'EUR', items: 2, payment: `${txn}-P1` }],
      ],
      weightcheck: [
        ['WeightVerified', { key: 'w:@WeightHasChanged', lines: ['L1'], expectedG: 350, actualG: 350, clears: [] }],
        ['WeightVerified', { key: 'w:@WeightHasChanged', lines: ['L2'], expectedG: 606, actualG: 606, clears: [] }],
      ],
      payment: [
        ['PaymentStarted', { payment: `${txn}-P1`, amount: 328, currency: 'EUR', terminal: 'simulated', idempotencyKey: '@PaymentRequested' }],
        ['PaymentAuthorized', { payment: `${txn}-P1`, amount: 328, currency: 'EUR', terminal: 'simulated', authCode: '<auth>', method: 'card (simulated)' }],
      ],
      journal: [['ReceiptRecorded', { status: 'completed', total: 328, currency: 'EUR', items: 2 }]],
    });
    t.same(await s.receipt(txn), {
      txn,
      status: 'completed',
      lane: 'lane-1',
      currency: 'EUR',
      started: '<time>',
      closed: '<time>',
      lines: [
        { line: 'L1', gtin: COLA.gtin, name: COLA.name, unit: 'each', quantity: 1, unitPrice: 99, price: 99 },
        { line: 'L2', gtin: BUTTER.gtin, name: BUTTER.name, unit: 'each', quantity: 1, unitPrice: 229, price: 229 },
      ],
      removed: [],
      total: 328,
      payments: [{ payment: `${txn}-P1`, amount: 328, outcome: 'authorized', authCode: '<auth>', method: 'card (simulated)' }],
      interventions: [],
      overrides: [],
    });
    t.same(
      s.docs.get('basket'),
      {
        lane: 'lane-1',
        rev: s.docs.get('basket').rev,
        txn: null,
        status: 'idle',
        currency: 'EUR',
        lines: [],
        total: 0,
        items: 0,
        blocked: 0,
        last: { txn, status: 'completed', total: 328 },
      },
      'final doc/basket: idle, last receipt',
    );
    t.same(s.docs.get('lane').interventions, [], 'no intervention');
    await s.leave();
  });
});
