import t from 'tap';
import { join } from 'node:path';
import { hashPassword } from '../../broker/credentials.js';
import { query } from '../helpers/daemon.js';
import { LaneSession, PIN, basketLine } from '../helpers/session.js';
import type { Json } from '../helpers/json.js';

// Acceptance: removals with approval, age-restricted items, declined and
// timed-out payments, the PIN lockout, end to end on the simulated lane.

const COLA = { code: '5449000000996', gtin: '05449000000996', name: 'Cola, 0.33 l can', price: 99, g: 350 };
const BUTTER = { code: '2100000000029', gtin: '02100000000029', name: 'Butter, 250 g', price: 229, g: 256 };
const BEER = { code: '2100000000197', gtin: '02100000000197', name: 'Beer, 0.5 l bottle', price: 89, g: 850 };
const WINE = { code: '2100000000203', gtin: '02100000000203', name: 'Red wine, 0.75 l', price: 599, g: 1250 };
const VODKA = { code: '2100000000210', gtin: '02100000000210', name: 'Vodka, 0.7 l', price: 1299, g: 1200 };
const UNKNOWN = '4000000000013';

const item = basketLine;
const verified = (lines: string[], g: number, clears: string[] = [], key = 'w:@WeightHasChanged') => [
  'WeightVerified',
  { key, lines, expectedG: g, actualG: g, clears },
];
const started = (txn: string) => ['TransactionStarted', { txn, lane: 'lane-1', currency: 'EUR' }];

t.test('attendant and payment sessions', async (t) => {
  const s = await LaneSession.open({
    services: {
      attendant: { enabled: true, pinHash: await hashPassword(PIN), maxPinFailures: 3, lockoutMs: 600_000 },
      weightcheck: { enabled: true, notBaggedTimeoutMs: 60_000 },
      payment: { enabled: true, timeoutMs: 4000, terminal: { kind: 'simulated', delayMs: 100 } },
    },
  });
  t.teardown(() => s.close());
  const interventionOf = (txn: string, n = 0) =>
    (s.events.filter((e) => e.type === 'InterventionRequired' && e.txn === txn)[n].data as { intervention: string }).intervention;

  await t.test('removal with approval: the attendant approves, the item leaves the bagging area', async (t) => {
    const l1 = await s.scanItem(COLA.code);
    const txn = l1.txn!;
    await s.bag(COLA.g);
    await s.scanItem(BUTTER.code);
    await s.bag(BUTTER.g);
    t.same(await s.ok('basket', 'RemoveItem', { line: 'L2' }), { line: 'L2', quantity: 0, pending: true });
    await s.quiesce();
    t.same(
      s.docs.get('basket').lines.map((l: Json) => [l.line, l.pendingRemoval]),
      [
        ['L1', undefined],
        ['L2', 0],
      ],
      'doc/basket shows the pending removal',
    );
    t.equal((await s.cmd('basket', 'Pay')).ok, false, 'no payment while the removal waits');
    await s.ok('attendant', 'Override', { action: 'approve', pin: PIN, by: 'carla' });
    await s.waitFor((e) => e.type === 'ItemRemovedFromBasket' && e.txn === txn, 'removed');
    await s.quiesce();
    t.same(s.docs.get('bagging').outstanding, [{ line: 'L2', g: -256 }], 'the butter must leave the bagging area');
    await s.bag(-BUTTER.g);
    await s.pay();
    const id = interventionOf(txn);
    t.same(s.streams(txn).basket, [
      started(txn),
      ['ItemAddedToBasket', item(COLA, 'L1')],
      ['ItemAddedToBasket', item(BUTTER, 'L2')],
      ['ItemRemovalRequested', { line: 'L2', name: BUTTER.name, quantity: 0 }],
      ['ItemRemovedFromBasket', { line: 'L2', reason: 'approved', by: 'carla' }],
      ['PaymentRequested', { payment: `${txn}-P1`, amount: 99, currency: 'EUR', attempt: 1 }],
      ['TransactionCompleted', { total: 99, currency: 'EUR', items: 1, payment: `${txn}-P1` }],
    ]);
    t.same(s.streams(txn).attendant, [
      [
        'InterventionRequired',
        { intervention: id, kind: 'removal', reason: `Remove ${BUTTER.name} (line L2)`, blocking: true, ref: '@ItemRemovalRequested', line: 'L2' },
      ],
      ['OverrideApplied', { intervention: id, kind: 'removal', action: 'approve', by: 'carla', method: 'pin', line: 'L2' }],
      ['InterventionCleared', { intervention: id, kind: 'removal', resolution: 'approved', line: 'L2', by: 'carla' }],
    ]);
    t.same(s.streams(txn).weightcheck, [verified(['L1'], 350), verified(['L2'], 606), verified(['L2'], 350)]);
    const receipt = await s.receipt(txn);
    t.same(
      [receipt.lines.map((l: Json) => l.line), receipt.removed, receipt.total],
      [['L1'], [{ line: 'L2', name: BUTTER.name, reason: 'approved', by: 'carla' }], 99],
    );
    await s.leave();
  });

  await t.test('removal rejected: the line stays and is paid', async (t) => {
    const l1 = await s.scanItem(COLA.code);
    const txn = l1.txn!;
    await s.bag(COLA.g);
    await s.ok('basket', 'RemoveItem', { line: 'L1' });
    await s.quiesce();
    await s.ok('attendant', 'Override', { action: 'reject', pin: PIN, by: 'carla', reason: 'item already opened' });
    await s.waitFor((e) => e.type === 'ItemRemovalRejected' && e.txn === txn, 'rejected');
    await s.quiesce();
    await s.pay();
    t.same(s.streams(txn).basket, [
      started(txn),
      ['ItemAddedToBasket', item(COLA, 'L1')],
      ['ItemRemovalRequested', { line: 'L1', name: COLA.name, quantity: 0 }],
      ['ItemRemovalRejected', { line: 'L1', by: 'carla' }],
      ['PaymentRequested', { payment: `${txn}-P1`, amount: 99, currency: 'EUR', attempt: 1 }],
      ['TransactionCompleted', { total: 99, currency: 'EUR', items: 1, payment: `${txn}-P1` }],
    ]);
    t.same(
      s.streams(txn).attendant.map(([type, d]: Json) => [type, d.action ?? d.resolution ?? d.kind]),
      [
        ['InterventionRequired', 'removal'],
        ['OverrideApplied', 'reject'],
        ['InterventionCleared', 'rejected'],
      ],
    );
    await s.leave();
  });

  await t.test('quantity lowered with approval: three cans become one', async (t) => {
    const l1 = await s.scanItem(COLA.code);
    const txn = l1.txn!;
    await s.ok('basket', 'ChangeQuantity', { line: 'L1', quantity: 3 });
    await s.bag(3 * COLA.g);
    t.same(await s.ok('basket', 'ChangeQuantity', { line: 'L1', quantity: 1 }), { line: 'L1', quantity: 1, pending: true });
    await s.quiesce();
    await s.ok('attendant', 'Override', { action: 'approve', pin: PIN, by: 'carla' });
    await s.waitFor((e) => e.type === 'QuantityChanged' && e.txn === txn && e.data.quantity === 1, 'lowered');
    await s.bag(-2 * COLA.g);
    await s.pay();
    t.same(s.streams(txn).basket, [
      started(txn),
      ['ItemAddedToBasket', item(COLA, 'L1')],
      ['QuantityChanged', { line: 'L1', from: 1, quantity: 3, price: 297 }],
      ['ItemRemovalRequested', { line: 'L1', name: COLA.name, quantity: 1 }],
      ['QuantityChanged', { line: 'L1', from: 3, quantity: 1, price: 99, by: 'carla' }],
      ['PaymentRequested', { payment: `${txn}-P1`, amount: 99, currency: 'EUR', attempt: 1 }],
      ['TransactionCompleted', { total: 99, currency: 'EUR', items: 1, payment: `${txn}-P1` }],
    ]);
    t.same(s.streams(txn).weightcheck, [verified(['L1'], 1050), verified(['L1'], 350)]);
    await s.leave();
  });

  await t.test('age-restricted items: verified once with the key switch, a higher age asks again', async (t) => {
    const l1 = await s.scanItem(BEER.code);
    const txn = l1.txn!;
    await s.bag(BEER.g);
    t.same(
      s.docs.get('lane').interventions.map((i: Json) => [i.kind, i.reason, i.blocking]),
      [['age-check', `Age check: ${BEER.name} needs a buyer aged 16+`, true]],
    );
    t.match((await s.cmd('basket', 'Pay')).error, /waits for an attendant/);
    await s.key(true);
    t.same((await s.ok('attendant', 'Override', { action: 'approve', by: 'dora' })).method, 'key');
    await s.quiesce();
    await s.key(false);
    await s.scanItem(BEER.code);
    await s.bag(BEER.g);
    t.same(s.docs.get('lane').interventions, [], 'a second beer needs no new check');
    await s.scanItem(VODKA.code);
    await s.bag(VODKA.g);
    t.same(
      s.docs.get('lane').interventions.map((i: Json) => i.reason),
      [`Age check: ${VODKA.name} needs a buyer aged 18+`],
      'vodka needs 18+',
    );
    await s.ok('attendant', 'Override', { action: 'approve', pin: PIN, by: 'dora', reason: 'ID card seen' });
    await s.quiesce();
    await s.pay();
    t.same(s.streams(txn).basket.slice(1, 4), [
      ['ItemAddedToBasket', item(BEER, 'L1', { ageRestricted: 16 })],
      ['ItemAddedToBasket', item(BEER, 'L2', { ageRestricted: 16 })],
      ['ItemAddedToBasket', item(VODKA, 'L3', { ageRestricted: 18 })],
    ]);
    const [a, b] = [interventionOf(txn, 0), interventionOf(txn, 1)];
    t.same(s.streams(txn).attendant, [
      [
        'InterventionRequired',
        { intervention: a, kind: 'age-check', reason: `Age check: ${BEER.name} needs a buyer aged 16+`, blocking: true, ref: '@ItemAddedToBasket', line: 'L1' },
      ],
      ['AttendantModeChanged', { on: true, method: 'key' }],
      ['OverrideApplied', { intervention: a, kind: 'age-check', action: 'approve', by: 'dora', method: 'key', line: 'L1' }],
      ['InterventionCleared', { intervention: a, kind: 'age-check', resolution: 'approved', line: 'L1', by: 'dora' }],
      ['AttendantModeChanged', { on: false, method: 'key' }],
      [
        'InterventionRequired',
        {
          intervention: b,
          kind: 'age-check',
          reason: `Age check: ${VODKA.name} needs a buyer aged 18+`,
          blocking: true,
          ref: '@ItemAddedToBasket',
          line: 'L3',
        },
      ],
      ['OverrideApplied', { intervention: b, kind: 'age-check', action: 'approve', by: 'dora', method: 'pin', reason: 'ID card seen', line: 'L3' }],
      ['InterventionCleared', { intervention: b, kind: 'age-check', resolution: 'approved', line: 'L3', by: 'dora' }],
    ]);
    t.same((await s.receipt(txn)).total, 89 + 89 + 1299);
    await s.leave();
  });

  await t.test('age check refused: the restricted item is taken off the basket', async (t) => {
    const l1 = await s.scanItem(WINE.code);
    const txn = l1.txn!;
    await s.quiesce();
    await s.ok('attendant', 'Override', { action: 'reject', pin: PIN, by: 'dora', reason: 'no ID' });
    await s.waitFor((e) => e.type === 'ItemRemovedFromBasket' && e.txn === txn, 'wine removed');
    await s.scanItem(COLA.code);
    await s.bag(COLA.g);
    await s.pay();
    t.same(s.streams(txn).basket, [
      started(txn),
      ['ItemAddedToBasket', item(WINE, 'L1', { ageRestricted: 16 })],
      ['ItemRemovedFromBasket', { line: 'L1', reason: 'age-check-rejected', by: 'dora' }],
      ['ItemAddedToBasket', item(COLA, 'L2')],
      ['PaymentRequested', { payment: `${txn}-P1`, amount: 99, currency: 'EUR', attempt: 1 }],
      ['TransactionCompleted', { total: 99, currency: 'EUR', items: 1, payment: `${txn}-P1` }],
    ]);
    t.same(s.streams(txn).weightcheck, [verified(['L2'], 350)], 'the wine was never expected in the bagging area again');
    await s.leave();
  });

  await t.test('payment declined, then approved on the second attempt', async (t) => {
    const l1 = await s.scanItem(COLA.code);
    const txn = l1.txn!;
    await s.bag(COLA.g);
    await s.ok('payment', 'SimQueue', { outcomes: ['decline'] }, { as: 'technician' });
    const first = await s.pay();
    t.equal(first.outcome.type, 'PaymentDeclined');
    const doc = await s.waitDoc('basket', (d) => d.notice?.code === 'declined', 'declined notice');
    t.same([doc.status, doc.notice.text], ['open', 'Payment declined: try again or ask an attendant']);
    t.same(
      s.docs.get('lane').interventions.map((i: Json) => [i.kind, i.blocking]),
      [['payment-declined', false]],
      'the attendant is told, the shopper may retry',
    );
    const second = await s.pay();
    t.equal(second.outcome.type, 'PaymentAuthorized');
    const id = interventionOf(txn);
    t.same(s.streams(txn), {
      basket: [
        started(txn),
        ['ItemAddedToBasket', item(COLA, 'L1')],
        ['PaymentRequested', { payment: `${txn}-P1`, amount: 99, currency: 'EUR', attempt: 1 }],
        ['PaymentRequested', { payment: `${txn}-P2`, amount: 99, currency: 'EUR', attempt: 2 }],
        ['TransactionCompleted', { total: 99, currency: 'EUR', items: 1, payment: `${txn}-P2` }],
      ],
      weightcheck: [verified(['L1'], 350)],
      payment: [
        ['PaymentStarted', { payment: `${txn}-P1`, amount: 99, currency: 'EUR', terminal: 'simulated', idempotencyKey: '@PaymentRequested' }],
        ['PaymentDeclined', { payment: `${txn}-P1`, amount: 99, reason: 'declined', detail: 'declined by the card issuer (simulated)' }],
        ['PaymentStarted', { payment: `${txn}-P2`, amount: 99, currency: 'EUR', terminal: 'simulated', idempotencyKey: '@PaymentRequested' }],
        ['PaymentAuthorized', { payment: `${txn}-P2`, amount: 99, currency: 'EUR', terminal: 'simulated', authCode: '<auth>', method: 'card (simulated)' }],
      ],
      attendant: [
        [
          'InterventionRequired',
          {
            intervention: id,
            kind: 'payment-declined',
            reason: 'Payment declined: declined by the card issuer (simulated)',
            blocking: false,
            ref: '@PaymentDeclined',
          },
        ],
        ['InterventionCleared', { intervention: id, kind: 'payment-declined', resolution: 'resolved' }],
      ],
      journal: [['ReceiptRecorded', { status: 'completed', total: 99, currency: 'EUR', items: 1 }]],
    });
    t.same((await s.receipt(txn)).payments, [
      { payment: `${txn}-P1`, amount: 99, outcome: 'declined', reason: 'declined' },
      { payment: `${txn}-P2`, amount: 99, outcome: 'authorized', authCode: '<auth>', method: 'card (simulated)' },
    ]);
    const ledger = await query<{ reference: string; state: string; charged: number }>(
      join(s.stateDir, 'payment-terminal.db'),
      'SELECT reference, state, charged FROM sim_ledger WHERE reference = ? ORDER BY created',
      [txn],
    );
    t.same(
      ledger,
      [
        { reference: txn, state: 'declined', charged: 0 },
        { reference: txn, state: 'approved', charged: 1 },
      ],
      'the terminal charged once',
    );
    await s.leave();
  });

  await t.test('payment timeout and cancel: the terminal is stopped, nothing charged, then paid', async (t) => {
    const l1 = await s.scanItem(BUTTER.code);
    const txn = l1.txn!;
    await s.bag(BUTTER.g);
    await s.ok('payment', 'SimQueue', { outcomes: ['timeout', 'timeout'] }, { as: 'technician' });
    const first = await s.pay();
    t.same([first.outcome.type, first.outcome.data.reason], ['PaymentDeclined', 'timeout'], 'no answer within payment.timeoutMs');
    const r = await s.ok('basket', 'Pay');
    await s.waitFor((e) => e.type === 'PaymentStarted' && e.data.payment === r.payment, 'second attempt started');
    await s.ok('payment', 'Cancel', { payment: r.payment });
    const second = await s.waitFor((e) => e.type === 'PaymentDeclined' && e.data.payment === r.payment, 'cancelled');
    t.equal(second.data.reason, 'cancelled', 'the shopper cancelled on the screen');
    await s.quiesce();
    const third = await s.pay();
    t.equal(third.outcome.type, 'PaymentAuthorized');
    t.same(
      s.streams(txn).payment.map(([type, d]: Json) => [type, d.payment, d.reason ?? null]),
      [
        ['PaymentStarted', `${txn}-P1`, null],
        ['PaymentDeclined', `${txn}-P1`, 'timeout'],
        ['PaymentStarted', `${txn}-P2`, null],
        ['PaymentDeclined', `${txn}-P2`, 'cancelled'],
        ['PaymentStarted', `${txn}-P3`, null],
        ['PaymentAuthorized', `${txn}-P3`, null],
      ],
    );
    const ledger = await query<{ state: string; charged: number }>(
      join(s.stateDir, 'payment-terminal.db'),
      'SELECT state, charged FROM sim_ledger WHERE reference = ? ORDER BY created',
      [txn],
    );
    t.same(ledger, [
      { state: 'cancelled', charged: 0 },
      { state: 'cancelled', charged: 0 },
      { state: 'approved', charged: 1 },
    ]);
    await s.leave();
  });

  await t.test('the shopper calls an attendant: one open call, shown on doc/lane, cleared by the attendant, payment not held', async (t) => {
    const l1 = await s.scanItem(COLA.code);
    const txn = l1.txn!;
    await s.bag(COLA.g);
    const call = await s.ok('attendant', 'Call', {}, { as: 'ui' }); // no `by`: the shopper
    t.same(call, { intervention: call.intervention, already: false }, 'a call opens an intervention');
    t.same(await s.ok('attendant', 'Call', {}, { as: 'ui' }), { intervention: call.intervention, already: true }, 'calling again answers with the open one');
    await s.quiesce();
    const shown = s.docs.get('lane').interventions.find((i: Json) => i.id === call.intervention);
    t.match(shown, { kind: 'assistance', blocking: false }, 'doc/lane lists it, not blocking');
    t.equal(s.docs.get('lane').state, 'assist', 'the lane asks for an attendant (the light says so)');
    await s.ok('attendant', 'Override', { intervention: call.intervention, action: 'approve', pin: PIN, by: 'carla', reason: 'helped' });
    await s.quiesce();
    t.same(
      s
        .streams(txn)
        .attendant.filter(([type]: Json) => type !== 'InterventionRequired' || true)
        .map(([type, d]: Json) => [type, d.kind ?? null, d.by ?? null]),
      [
        ['AssistanceRequested', null, 'shopper'],
        ['InterventionRequired', 'assistance', null],
        ['OverrideApplied', 'assistance', 'carla'],
        ['InterventionCleared', 'assistance', 'carla'],
      ],
      'asked, raised, helped, cleared: all in the transaction',
    );
    t.equal(s.docs.get('lane').state, 'shopping', 'back to shopping');
    await s.pay();
  });

  await t.test('the attendant screen signs in with CheckPin: the override check, nothing overridden', async (t) => {
    await s.quiesce();
    const before = s.count((e) => e.type === 'OverrideApplied');
    t.same(await s.ok('attendant', 'CheckPin', { pin: PIN, by: 'carla' }), { method: 'pin' }, 'the right PIN');
    const wrong = await s.cmd('attendant', 'CheckPin', { pin: '1111', by: 'carla' });
    t.match(wrong.error, /^wrong PIN \(2 more tries before PIN overrides are locked\)/, 'a wrong one is refused');
    await s.waitFor((e) => e.type === 'OverrideRefused' && e.data.by === 'carla' && e.data.failures === 1, 'and counts toward the lockout');
    t.same(await s.ok('attendant', 'CheckPin', { pin: PIN, by: 'carla' }), { method: 'pin' }, 'the right one again resets the count');
    await s.key(true);
    t.same(await s.ok('attendant', 'CheckPin', {}), { method: 'key' }, 'with the key switch turned no PIN is needed');
    await s.key(false);
    await s.quiesce();
    t.equal(
      s.count((e) => e.type === 'OverrideApplied'),
      before,
      'nothing was overridden',
    );
  });

  await t.test('wrong PINs lock PIN overrides; the key switch still works; all of it journaled', async (t) => {
    const scan = await s.scan(UNKNOWN);
    const txn = (await s.waitFor((e) => e.type === 'UnknownItemScanned' && e.data.scan === scan.id, 'unknown')).txn!;
    await s.quiesce();
    for (const n of [1, 2, 3]) {
      const r = await s.cmd('attendant', 'Override', { action: 'approve', pin: '1111', by: 'eve' });
      t.match(r.error, n < 3 ? /wrong PIN/ : /locked/, `wrong PIN ${n}`);
      await s.waitFor((e) => e.type === 'OverrideRefused' && e.data.failures === n, `refusal ${n} recorded`);
    }
    const locked = await s.cmd('attendant', 'Override', { action: 'approve', pin: PIN, by: 'eve' });
    t.match(
      locked.error,
      /PIN overrides are locked for another [0-9]+ min( [0-9]+ s)? \([0-9]+ s\) after 3 wrong PINs; turn the key switch/,
      'even the right PIN while locked: for how long',
    );
    await s.quiesce();
    t.ok(s.docs.get('lane').pinLockedUntil, 'doc/lane shows the lockout');
    await s.key(true);
    await s.ok('attendant', 'Override', { action: 'approve', by: 'frank' });
    await s.quiesce();
    await s.key(false);
    await s.ok('basket', 'Cancel', { reason: 'nothing to buy' }, { by: 'frank' });
    await s.waitFor((e) => e.type === 'ReceiptRecorded' && e.txn === txn, 'receipt');
    await s.quiesce();
    const id = interventionOf(txn);
    t.same(s.streams(txn).attendant, [
      [
        'InterventionRequired',
        { intervention: id, kind: 'unknown-item', reason: `Unknown item 0${UNKNOWN}: no product 0${UNKNOWN}`, blocking: false, ref: '@UnknownItemScanned' },
      ],
      ['OverrideRefused', { by: 'eve', reason: 'wrong PIN (1 of 3)', failures: 1 }],
      ['OverrideRefused', { by: 'eve', reason: 'wrong PIN (2 of 3)', failures: 2 }],
      ['OverrideRefused', { by: 'eve', reason: 'wrong PIN 3 times: PIN overrides locked for 10 min', failures: 3, lockedUntil: '<time>' }],
      ['AttendantModeChanged', { on: true, method: 'key' }],
      ['OverrideApplied', { intervention: id, kind: 'unknown-item', action: 'approve', by: 'frank', method: 'key' }],
      ['InterventionCleared', { intervention: id, kind: 'unknown-item', resolution: 'approved', by: 'frank' }],
      ['AttendantModeChanged', { on: false, method: 'key' }],
    ]);
    // a command's by is its sender's principal (the broker writes it), not what the sender claimed: from the touch UI, nobody named
    t.same(s.streams(txn).basket.at(-1), ['TransactionCancelled', { total: 0, reason: 'nothing to buy' }]);
    const journaled = await s.ok('journal', 'Overrides', { txn }, { as: 'technician' });
    t.same(
      journaled.map((o: Json) => [o.type, o.by ?? null, o.method ?? null, o.on ?? null]).reverse(),
      [
        ['OverrideRefused', 'eve', null, null],
        ['OverrideRefused', 'eve', null, null],
        ['OverrideRefused', 'eve', null, null],
        ['AttendantModeChanged', null, 'key', true],
        ['OverrideApplied', 'frank', 'key', null],
        ['AttendantModeChanged', null, 'key', false],
      ],
      'who, when and why of every override and refusal',
    );
    await s.leave();
  });
});
