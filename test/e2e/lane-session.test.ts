import t from 'tap';
import { hashPassword } from '../../broker/credentials.js';
import { LaneSession, PIN, basketLine } from '../helpers/session.js';
import type { Json } from '../helpers/json.js';

// Acceptance: scripted lane sessions end to end through the broker with the
// simulated devices (scanner, scanner-scale, NAU7802 bagging scale, light, key switch
// run their real drivers on their twins). Each scenario is one transaction; the
// final basket, the receipt and every service's event stream are asserted exactly
// (event ids in data appear as @<Type> of the event they name).

const COLA = { code: '5449000000996', gtin: '05449000000996', name: 'Cola, 0.33 l can', price: 99, g: 350 };
const BUTTER = { code: '2100000000029', gtin: '02100000000029', name: 'Butter, 250 g', price: 229, g: 256 };
const BANANAS = { code: '2100000000258', gtin: '02100000000258', name: 'Bananas (per kg)', price: 189 };
const APPLES = { code: '2100000000265', gtin: '02100000000265', name: 'Apples (per kg)', price: 249 };
const UNKNOWN = '4000000000013';
const MEAT_LABEL = { code: '2245674008992', gtin: '02245674008992', name: 'Minced beef from the counter (per kg)', perKg: 1499 };
const CHEESE_LABEL = { code: '2812347012503', gtin: '02812347012503', name: 'Cheese from the counter (per kg)', perKg: 1990 };

const item = basketLine;

t.test('lane sessions: shopping, produce, labels, quantities, cancel, duplicates', async (t) => {
  const s = await LaneSession.open({
    services: {
      attendant: { enabled: true, pinHash: await hashPassword(PIN) },
      weightcheck: { enabled: true, notBaggedTimeoutMs: 60_000 },
      payment: { enabled: true, terminal: { kind: 'simulated', delayMs: 100 } },
    },
  });
  t.teardown(() => s.close());
  t.same(
    s.docs.get('lane'),
    { state: 'idle', attendantMode: false, closed: false, txn: null, light: { light: 'on' }, interventions: [] },
    'idle lane, light on',
  );

  await t.test('happy path: two items scanned, bagged, paid', async (t) => {
    const l1 = await s.scanItem(COLA.code);
    const txn = l1.txn!;
    await s.bag(COLA.g);
    await s.scanItem(BUTTER.code);
    await s.bag(BUTTER.g);
    const basket = await s.waitDoc('basket', (d) => d.total === 328, 'basket total 3.28');
    t.same(
      basket.lines.map((l: Json) => [l.line, l.name, l.quantity, l.price]),
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
        lineCount: 0,
        pages: 0,
        linesRev: s.docs.get('basket').linesRev,
        blocked: 0,
        last: { txn, status: 'completed', total: 328 },
      },
      'final doc/basket: idle, last receipt',
    );
    t.same(s.docs.get('lane').interventions, [], 'no intervention');
    await s.leave();
  });

  await t.test('unknown item: the attendant is called, the shopper goes on, the attendant clears it with the PIN', async (t) => {
    const lights = s.lights.length;
    const scan = await s.scan(UNKNOWN);
    const unknown = await s.waitFor((e) => e.type === 'UnknownItemScanned' && e.data.scan === scan.id, 'UnknownItemScanned');
    const txn = unknown.txn!;
    const raised = await s.waitFor((e) => e.type === 'InterventionRequired' && e.txn === txn, 'intervention');
    const id = raised.data.intervention;
    await s.waitDoc('basket', (d) => d.notice?.code === 'unknown', 'notice about the unknown item');
    await s.scanItem(COLA.code);
    await s.bag(COLA.g);
    t.equal((await s.cmd('attendant', 'Override', { intervention: id, action: 'approve', pin: '0000', by: 'anna' })).ok, false, 'a wrong PIN is refused');
    t.same(await s.ok('attendant', 'Override', { intervention: id, action: 'approve', pin: PIN, by: 'anna', reason: 'not sold here' }), {
      method: 'pin',
      by: 'anna',
      applied: [{ intervention: id, kind: 'unknown-item', action: 'approve' }],
    });
    await s.quiesce();
    await s.pay();
    t.same(s.streams(txn), {
      basket: [
        ['TransactionStarted', { txn, lane: 'lane-1', currency: 'EUR' }],
        ['UnknownItemScanned', { scan: '@BarcodeScanned', code: UNKNOWN, gtin: `0${UNKNOWN}`, reason: `no product 0${UNKNOWN}` }],
        ['ItemAddedToBasket', item(COLA, 'L1')],
        ['PaymentRequested', { payment: `${txn}-P1`, amount: 99, currency: 'EUR', attempt: 1 }],
        ['TransactionCompleted', { total: 99, currency: 'EUR', items: 1, payment: `${txn}-P1` }],
      ],
      attendant: [
        [
          'InterventionRequired',
          { intervention: id, kind: 'unknown-item', reason: `Unknown item 0${UNKNOWN}: no product 0${UNKNOWN}`, blocking: false, ref: '@UnknownItemScanned' },
        ],
        ['OverrideRefused', { by: 'anna', reason: 'wrong PIN (1 of 3)', failures: 1 }],
        ['OverrideApplied', { intervention: id, kind: 'unknown-item', action: 'approve', by: 'anna', method: 'pin', reason: 'not sold here' }],
        ['InterventionCleared', { intervention: id, kind: 'unknown-item', resolution: 'approved', by: 'anna' }],
      ],
      weightcheck: [['WeightVerified', { key: 'w:@WeightHasChanged', lines: ['L1'], expectedG: 350, actualG: 350, clears: [] }]],
      payment: [
        ['PaymentStarted', { payment: `${txn}-P1`, amount: 99, currency: 'EUR', terminal: 'simulated', idempotencyKey: '@PaymentRequested' }],
        ['PaymentAuthorized', { payment: `${txn}-P1`, amount: 99, currency: 'EUR', terminal: 'simulated', authCode: '<auth>', method: 'card (simulated)' }],
      ],
      journal: [['ReceiptRecorded', { status: 'completed', total: 99, currency: 'EUR', items: 1 }]],
    });
    const receipt = await s.receipt(txn);
    t.same(receipt.interventions, [
      {
        intervention: id,
        kind: 'unknown-item',
        reason: `Unknown item 0${UNKNOWN}: no product 0${UNKNOWN}`,
        raised: '<time>',
        cleared: '<time>',
        resolution: 'approved',
        by: 'anna',
      },
    ]);
    t.same(receipt.overrides, [
      { intervention: id, kind: 'unknown-item', action: 'approve', by: 'anna', method: 'pin', reason: 'not sold here', time: '<time>' },
    ]);
    t.same(s.lights.slice(lights), ['flash', 'on'], 'the light driver: flash while assistance is called, then back on');
    const refused = await s.ok('journal', 'Overrides', { txn }, { as: 'technician' });
    t.same(
      refused.map((o: Json) => [o.type, o.by, o.reason]),
      [
        ['OverrideApplied', 'anna', 'not sold here'],
        ['OverrideRefused', 'anna', 'wrong PIN (1 of 3)'],
      ],
      'the journal keeps the override and the refused PIN (newest first)',
    );
    await s.leave();
  });

  await t.test('produce by weight: weighed on the scanner-scale, then scanned', async (t) => {
    await s.produce(1234);
    const l1 = await s.scanItem(BANANAS.code);
    const txn = l1.txn!;
    await s.produce(0);
    await s.bag(1234);
    await s.pay();
    t.same(s.streams(txn).basket, [
      ['TransactionStarted', { txn, lane: 'lane-1', currency: 'EUR' }],
      ['ItemAddedToBasket', { ...item(BANANAS, 'L1'), unit: 'kg', price: 233, grams: 1234, bagging: { unitG: 1234 } }],
      ['PaymentRequested', { payment: `${txn}-P1`, amount: 233, currency: 'EUR', attempt: 1 }],
      ['TransactionCompleted', { total: 233, currency: 'EUR', items: 1, payment: `${txn}-P1` }],
    ]);
    t.same(s.streams(txn).weightcheck, [['WeightVerified', { key: 'w:@WeightHasChanged', lines: ['L1'], expectedG: 1234, actualG: 1234, clears: [] }]]);
    t.same(
      (await s.receipt(txn)).lines,
      [{ line: 'L1', gtin: BANANAS.gtin, name: BANANAS.name, unit: 'kg', quantity: 1, unitPrice: 189, price: 233, grams: 1234 }],
      '1.234 kg at 1.89/kg is 2.33',
    );
    await s.leave();
  });

  await t.test('produce by weight: scanned first, the lane asks to weigh it', async (t) => {
    const scan = await s.scan(APPLES.code);
    const doc = await s.waitDoc('basket', (d) => d.notice?.code === 'weigh', 'weigh notice');
    t.same(doc.notice, { code: 'weigh', text: `Place ${APPLES.name} on the scale`, name: APPLES.name });
    t.same(doc.lines, [], 'nothing added before it is weighed');
    await s.produce(852);
    const l1 = await s.waitFor((e) => e.type === 'ItemAddedToBasket' && e.data.scan === scan.id, 'apples added once weighed');
    const txn = l1.txn!;
    await s.produce(0);
    await s.bag(852);
    await s.pay();
    t.same(s.streams(txn).basket, [
      ['TransactionStarted', { txn, lane: 'lane-1', currency: 'EUR' }],
      ['ItemAddedToBasket', { ...item(APPLES, 'L1'), unit: 'kg', price: 212, grams: 852, bagging: { unitG: 852 } }],
      ['PaymentRequested', { payment: `${txn}-P1`, amount: 212, currency: 'EUR', attempt: 1 }],
      ['TransactionCompleted', { total: 212, currency: 'EUR', items: 1, payment: `${txn}-P1` }],
    ]);
    t.equal(l1.cause, s.events.find((e) => e.type === 'ProduceWeighed' && (e.data as { grams: number }).grams === 852)!.id, 'caused by the weighing');
    await s.leave();
  });

  await t.test('price-embedded labels: a price label and a weight label from the counter', async (t) => {
    const l1 = await s.scanItem(MEAT_LABEL.code);
    const txn = l1.txn!;
    await s.bag(600);
    await s.scanItem(CHEESE_LABEL.code);
    await s.bag(1250);
    await s.pay();
    t.same(s.streams(txn).basket, [
      ['TransactionStarted', { txn, lane: 'lane-1', currency: 'EUR' }],
      [
        'ItemAddedToBasket',
        {
          line: 'L1',
          gtin: MEAT_LABEL.gtin,
          name: MEAT_LABEL.name,
          unit: 'kg',
          unitPrice: 1499,
          quantity: 1,
          price: 899,
          label: 'price',
          grams: 600,
          bagging: { unitG: 600, tolerancePct: 3 },
          scan: '@BarcodeScanned',
        },
      ],
      [
        'ItemAddedToBasket',
        {
          line: 'L2',
          gtin: CHEESE_LABEL.gtin,
          name: CHEESE_LABEL.name,
          unit: 'kg',
          unitPrice: 1990,
          quantity: 1,
          price: 2488,
          label: 'weight',
          grams: 1250,
          bagging: { unitG: 1250, tolerancePct: 3 },
          scan: '@BarcodeScanned',
        },
      ],
      ['PaymentRequested', { payment: `${txn}-P1`, amount: 3387, currency: 'EUR', attempt: 1 }],
      ['TransactionCompleted', { total: 3387, currency: 'EUR', items: 2, payment: `${txn}-P1` }],
    ]);
    t.same(s.streams(txn).weightcheck, [
      ['WeightVerified', { key: 'w:@WeightHasChanged', lines: ['L1'], expectedG: 600, actualG: 600, clears: [] }],
      ['WeightVerified', { key: 'w:@WeightHasChanged', lines: ['L2'], expectedG: 1850, actualG: 1850, clears: [] }],
    ]);
    await s.leave();
  });

  await t.test('quantity raised on the screen: three cans, priced and weighed as three', async (t) => {
    const l1 = await s.scanItem(COLA.code);
    const txn = l1.txn!;
    await s.bag(COLA.g);
    t.same(await s.ok('basket', 'ChangeQuantity', { line: 'L1', quantity: 3 }), { line: 'L1', quantity: 3, pending: false });
    await s.quiesce();
    t.same(s.docs.get('bagging').outstanding, [{ line: 'L1', g: 700 }], 'two more cans to bag');
    await s.bag(2 * COLA.g);
    await s.pay();
    t.same(s.streams(txn).basket, [
      ['TransactionStarted', { txn, lane: 'lane-1', currency: 'EUR' }],
      ['ItemAddedToBasket', item(COLA, 'L1')],
      ['QuantityChanged', { line: 'L1', from: 1, quantity: 3, price: 297 }],
      ['PaymentRequested', { payment: `${txn}-P1`, amount: 297, currency: 'EUR', attempt: 1 }],
      ['TransactionCompleted', { total: 297, currency: 'EUR', items: 3, payment: `${txn}-P1` }],
    ]);
    t.same(s.streams(txn).weightcheck, [
      ['WeightVerified', { key: 'w:@WeightHasChanged', lines: ['L1'], expectedG: 350, actualG: 350, clears: [] }],
      ['WeightVerified', { key: 'w:@WeightHasChanged', lines: ['L1'], expectedG: 1050, actualG: 1050, clears: [] }],
    ]);
    await s.leave();
  });

  await t.test('cancelled transaction: a receipt with status cancelled', async (t) => {
    const l1 = await s.scanItem(BUTTER.code);
    const txn = l1.txn!;
    await s.bag(BUTTER.g);
    t.same(await s.ok('basket', 'Cancel', { reason: 'forgot my wallet' }), { txn, status: 'cancelled' });
    await s.waitFor((e) => e.type === 'ReceiptRecorded' && e.txn === txn, 'receipt');
    await s.quiesce();
    t.same(s.streams(txn), {
      basket: [
        ['TransactionStarted', { txn, lane: 'lane-1', currency: 'EUR' }],
        ['ItemAddedToBasket', item(BUTTER, 'L1')],
        ['TransactionCancelled', { total: 229, reason: 'forgot my wallet' }],
      ],
      weightcheck: [['WeightVerified', { key: 'w:@WeightHasChanged', lines: ['L1'], expectedG: 256, actualG: 256, clears: [] }]],
      journal: [['ReceiptRecorded', { status: 'cancelled', total: 229, currency: 'EUR', items: 1 }]],
    });
    const receipt = await s.receipt(txn);
    t.same([receipt.status, receipt.total, receipt.cancelReason, receipt.payments], ['cancelled', 229, 'forgot my wallet', []]);
    await s.leave();
  });

  await t.test('duplicated events and commands change nothing', async (t) => {
    const l1 = await s.scanItem(COLA.code);
    const txn = l1.txn!;
    const scan = s.events.find((e) => e.id === l1.data.scan)!;
    const weight = await s.bag(COLA.g);
    // The same envelopes again, as a broker redelivers them (no DUP flag needed for the inbox).
    const scanner = await s.lane!.connect('service', 'laned-scanner');
    const bagscale = await s.lane!.connect('service', 'laned-bagscale');
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => scanner.publish('evt/scanner/BarcodeScanned', JSON.stringify(scan), { qos: 1 }, r));
      await new Promise((r) => bagscale.publish('evt/bagscale/WeightHasChanged', JSON.stringify(weight), { qos: 1 }, r));
    }
    scanner.end(true);
    bagscale.end(true);
    const id = 'dup-quantity-1';
    const first = await s.cmd('basket', 'ChangeQuantity', { line: 'L1', quantity: 2 }, { id });
    const second = await s.cmd('basket', 'ChangeQuantity', { line: 'L1', quantity: 2 }, { id });
    t.same(second, first, 'a repeated command id gets the first answer');
    await s.quiesce();
    await s.bag(COLA.g);
    await s.pay();
    t.equal(
      s.count((e) => e.type === 'ScanResolved' && e.data.scan === scan.id),
      1,
      'the scan was resolved once',
    );
    t.same(s.streams(txn), {
      basket: [
        ['TransactionStarted', { txn, lane: 'lane-1', currency: 'EUR' }],
        ['ItemAddedToBasket', item(COLA, 'L1')],
        ['QuantityChanged', { line: 'L1', from: 1, quantity: 2, price: 198 }],
        ['PaymentRequested', { payment: `${txn}-P1`, amount: 198, currency: 'EUR', attempt: 1 }],
        ['TransactionCompleted', { total: 198, currency: 'EUR', items: 2, payment: `${txn}-P1` }],
      ],
      weightcheck: [
        ['WeightVerified', { key: 'w:@WeightHasChanged', lines: ['L1'], expectedG: 350, actualG: 350, clears: [] }],
        ['WeightVerified', { key: 'w:@WeightHasChanged', lines: ['L1'], expectedG: 700, actualG: 700, clears: [] }],
      ],
      payment: [
        ['PaymentStarted', { payment: `${txn}-P1`, amount: 198, currency: 'EUR', terminal: 'simulated', idempotencyKey: '@PaymentRequested' }],
        ['PaymentAuthorized', { payment: `${txn}-P1`, amount: 198, currency: 'EUR', terminal: 'simulated', authCode: '<auth>', method: 'card (simulated)' }],
      ],
      journal: [['ReceiptRecorded', { status: 'completed', total: 198, currency: 'EUR', items: 2 }]],
    });
    const dead = await s.ok('catalog', 'DlqList', undefined, { as: 'technician' });
    t.same(dead, [], 'duplicates are not errors');
    await s.leave();
  });
});
