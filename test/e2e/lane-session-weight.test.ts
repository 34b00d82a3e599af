import t from 'tap';
import { hashPassword } from '../../broker/credentials.js';
import { LaneSession, PIN, basketLine } from '../helpers/session.js';
import { until } from '../helpers/lane.js';
import type { Json } from '../helpers/json.js';

// Acceptance, the security scale: lane sessions with the simulated NAU7802
// bagging scale (its real driver on the fake I2C chip), then one lane whose bagging
// scale is a source this test publishes for, to deliver a WeightHasChanged before
// the ItemAddedToBasket that caused it.

const COLA = { code: '5449000000996', gtin: '05449000000996', name: 'Cola, 0.33 l can', price: 99, g: 350 };
const BUTTER = { code: '2100000000029', gtin: '02100000000029', name: 'Butter, 250 g', price: 229, g: 256 };
const MILK = { code: '2100000000012', gtin: '02100000000012', name: 'Milk, 1 l', price: 109, g: 1040 };
const WATER_PACK = { code: '2100000000227', gtin: '02100000000227', name: 'Mineral water, 6 x 1.5 l pack', price: 399 };

const NOT_BAGGED_MS = 3000;

const item = basketLine;
const verified = (lines: string[], g: number, clears: string[] = [], key = 'w:@WeightHasChanged') => [
  'WeightVerified',
  { key, lines, expectedG: g, actualG: g, clears },
];

t.test('items not bagged in time (a short bagging timeout)', async (t) => {
  const s = await LaneSession.open({
    services: {
      attendant: { enabled: true, pinHash: await hashPassword(PIN) },
      // Nothing here has to beat the deadline: each scenario waits for it.
      weightcheck: { enabled: true, notBaggedTimeoutMs: NOT_BAGGED_MS },
      payment: { enabled: true, terminal: { kind: 'simulated', delayMs: 100 } },
    },
  });
  t.teardown(() => s.close());

  await t.test('item not bagged: alarm after the timeout, cleared when it is bagged', async (t) => {
    const lights = s.lights.length;
    const l1 = await s.scanItem(COLA.code);
    const txn = l1.txn!;
    const alarm = await s.waitFor((e) => e.type === 'ItemNotBagged' && e.txn === txn, 'ItemNotBagged', NOT_BAGGED_MS + 20_000);
    await s.waitFor((e) => e.type === 'InterventionRequired' && e.data.ref === alarm.id, 'intervention');
    await s.quiesce();
    const refused = await s.cmd('basket', 'Pay');
    t.same([refused.ok, refused.error], [false, `${txn} waits for an attendant (1 intervention open)`], 'no payment while the alarm is open');
    t.equal(s.docs.get('lane').state, 'intervention');
    await s.bag(COLA.g);
    t.equal(s.docs.get('lane').state, 'shopping', 'alarm cleared by bagging');
    await s.pay();
    const id = s.events.find((e) => e.type === 'InterventionRequired' && e.txn === txn)!.data as { intervention: string };
    t.same(s.streams(txn).weightcheck, [
      ['ItemNotBagged', { key: 'nb:L1', line: 'L1', actualG: 0, expectedG: 350, clears: [] }],
      verified(['L1'], 350, ['nb:L1']),
    ]);
    t.same(s.streams(txn).attendant, [
      [
        'InterventionRequired',
        {
          intervention: id.intervention,
          kind: 'weight',
          reason: 'Item L1 was not put in the bagging area',
          blocking: true,
          ref: '@ItemNotBagged',
          key: 'nb:L1',
        },
      ],
      ['InterventionCleared', { intervention: id.intervention, kind: 'weight', resolution: 'resolved', key: 'nb:L1' }],
    ]);
    t.same(s.lights.slice(lights), ['blink', 'on'], 'the light driver: blinking during the intervention, then back on');
    await s.leave();
  });

  await t.test('item not bagged: the attendant turns the key and lets it go unbagged', async (t) => {
    const l1 = await s.scanItem(MILK.code);
    const txn = l1.txn!;
    await s.waitFor((e) => e.type === 'ItemNotBagged' && e.txn === txn, 'ItemNotBagged', NOT_BAGGED_MS + 20_000);
    await s.quiesce();
    await s.key(true);
    t.equal(s.docs.get('lane').state, 'attendant');
    const r = await s.ok('attendant', 'Override', { action: 'approve', reason: 'customer carries it' });
    t.equal(r.method, 'key', 'no PIN needed with the key turned');
    await s.quiesce();
    await s.key(false);
    await s.pay();
    const id = (s.events.find((e) => e.type === 'InterventionRequired' && e.txn === txn)!.data as { intervention: string }).intervention;
    t.same(s.streams(txn).weightcheck, [
      ['ItemNotBagged', { key: 'nb:L1', line: 'L1', actualG: 0, expectedG: 1040, clears: [] }],
      ['WeightVerified', { key: 'o:@OverrideApplied', lines: [], expectedG: 0, actualG: 0, clears: ['nb:L1'], override: true }],
    ]);
    t.same(s.streams(txn).attendant, [
      [
        'InterventionRequired',
        { intervention: id, kind: 'weight', reason: 'Item L1 was not put in the bagging area', blocking: true, ref: '@ItemNotBagged', key: 'nb:L1' },
      ],
      ['AttendantModeChanged', { on: true, method: 'key' }],
      ['OverrideApplied', { intervention: id, kind: 'weight', action: 'approve', by: 'attendant', method: 'key', reason: 'customer carries it', key: 'nb:L1' }],
      ['InterventionCleared', { intervention: id, kind: 'weight', resolution: 'approved', key: 'nb:L1', by: 'attendant' }],
      ['AttendantModeChanged', { on: false, method: 'key' }],
    ]);
    t.same((await s.receipt(txn)).overrides, [
      { intervention: id, kind: 'weight', action: 'approve', by: 'attendant', method: 'key', reason: 'customer carries it', time: '<time>' },
    ]);
    await s.leave();
  });
});

t.test('the bagging area on the simulated lane', async (t) => {
  const s = await LaneSession.open({
    services: {
      attendant: { enabled: true, pinHash: await hashPassword(PIN) },
      // Long enough that no deadline interferes with the scenario's own steps.
      weightcheck: { enabled: true, notBaggedTimeoutMs: 120_000 },
      payment: { enabled: true, terminal: { kind: 'simulated', delayMs: 100 } },
    },
  });
  t.teardown(() => s.close());

  await t.test('unexpected item in the bagging area, taken away again', async (t) => {
    const l1 = await s.scanItem(COLA.code);
    const txn = l1.txn!;
    await s.bag(COLA.g);
    await s.bag(500);
    t.equal(s.docs.get('lane').state, 'intervention');
    t.same(
      s.docs.get('lane').interventions.map((i: Json) => i.reason),
      ['Unexpected item in the bagging area (+500 g)'],
    );
    await s.bag(-500);
    await s.pay();
    t.same(s.streams(txn).weightcheck, [
      verified(['L1'], 350),
      ['UnexpectedItemInBaggingArea', { key: 'w:@WeightHasChanged', actualG: 850, expectedG: 350, clears: [], excessG: 500 }],
      verified([], 350, ['w:@WeightHasChanged']),
    ]);
    t.same(
      s.streams(txn).attendant.map(([type, d]: Json) => [type, d.kind, d.resolution ?? d.reason]),
      [
        ['InterventionRequired', 'weight', 'Unexpected item in the bagging area (+500 g)'],
        ['InterventionCleared', 'weight', 'resolved'],
      ],
    );
    await s.leave();
  });

  await t.test('bagged before it was scanned: the alarm clears when the item is scanned', async (t) => {
    const l1 = await s.scanItem(COLA.code);
    const txn = l1.txn!;
    await s.bag(COLA.g);
    await s.bag(BUTTER.g);
    await s.scanItem(BUTTER.code);
    await s.quiesce();
    t.equal(s.docs.get('lane').state, 'shopping');
    await s.pay();
    t.same(s.streams(txn).weightcheck, [
      verified(['L1'], 350),
      ['UnexpectedItemInBaggingArea', { key: 'w:@WeightHasChanged', actualG: 606, expectedG: 350, clears: [], excessG: 256 }],
      verified(['L2'], 606, ['w:@WeightHasChanged'], 'b:@ItemAddedToBasket'),
    ]);
    t.same(
      s.streams(txn).attendant.map(([type, d]: Json) => [type, d.resolution ?? d.reason]),
      [
        ['InterventionRequired', 'Unexpected item in the bagging area (+256 g)'],
        ['InterventionCleared', 'resolved'],
      ],
    );
    await s.leave();
  });

  await t.test('item taken from the bagging area and put back', async (t) => {
    const l1 = await s.scanItem(COLA.code);
    const txn = l1.txn!;
    await s.bag(COLA.g);
    await s.scanItem(BUTTER.code);
    await s.bag(BUTTER.g);
    await s.bag(-BUTTER.g);
    t.same(
      s.docs.get('lane').interventions.map((i: Json) => i.reason),
      ['Item taken from the bagging area (-256 g)'],
    );
    await s.bag(BUTTER.g);
    await s.pay();
    t.same(s.streams(txn).weightcheck, [
      verified(['L1'], 350),
      verified(['L2'], 606),
      ['ItemRemovedFromBaggingArea', { key: 'w:@WeightHasChanged', actualG: 350, expectedG: 606, clears: [], missingG: 256 }],
      verified([], 606, ['w:@WeightHasChanged']),
    ]);
    await s.leave();
  });

  await t.test('weight mismatch accepted by the attendant with the PIN', async (t) => {
    const l1 = await s.scanItem(COLA.code);
    const txn = l1.txn!;
    await s.scanItem(MILK.code);
    await s.bag(700);
    t.same(
      s.docs.get('lane').interventions.map((i: Json) => i.reason),
      ['Bagging area weighs 700 g, expected 1390 g'],
    );
    const r = await s.ok('attendant', 'Override', { action: 'approve', pin: PIN, by: 'ben' });
    t.same(
      r.applied.map((a: Json) => a.kind),
      ['weight'],
    );
    await s.quiesce();
    await s.pay();
    t.same(s.streams(txn).weightcheck, [
      ['WeightMismatch', { key: 'w:@WeightHasChanged', actualG: 700, expectedG: 1390, clears: [], lines: ['L1', 'L2'] }],
      ['WeightVerified', { key: 'o:@OverrideApplied', lines: [], expectedG: 700, actualG: 700, clears: ['w:@WeightHasChanged'], override: true }],
    ]);
    t.same(
      s.streams(txn).attendant.map(([type, d]: Json) => [type, d.by ?? null, d.method ?? null]),
      [
        ['InterventionRequired', null, null],
        ['OverrideApplied', 'ben', 'pin'],
        ['InterventionCleared', 'ben', null],
      ],
    );
    await s.leave();
  });

  await t.test('skip-bagging item: never expected in the bagging area', async (t) => {
    const l1 = await s.scanItem(WATER_PACK.code);
    const txn = l1.txn!;
    await s.scanItem(COLA.code);
    await s.bag(COLA.g);
    await s.pay();
    t.same(s.streams(txn).basket.slice(1, 3), [
      ['ItemAddedToBasket', item(WATER_PACK, 'L1')],
      ['ItemAddedToBasket', item(COLA, 'L2')],
    ]);
    t.same(s.streams(txn).weightcheck, [verified(['L2'], 350)], 'the pack needs no bagging');
    t.notOk(s.streams(txn).attendant, 'no intervention');
    await s.leave();
  });
});

t.test('out of order: a WeightHasChanged delivered before the ItemAddedToBasket that caused it', async (t) => {
  const s = await LaneSession.open({
    services: {
      weightcheck: { enabled: true, baggingScales: ['fakebag'], notBaggedTimeoutMs: 60_000 },
      payment: { enabled: true, terminal: { kind: 'simulated', delayMs: 100 } },
    },
    // the bagging scale is not a device here: the attendant watches the scanners only
    consumers: { weightcheck: ['basket', 'attendant', 'fakebag'], attendant: ['basket', 'weightcheck', 'payment', 'keyswitch', 'scanner', 'scanscale'] },
  });
  t.teardown(() => s.close());
  const bag = await s.fakeSource('fakebag');
  const l1 = await s.scanItem(COLA.code);
  const txn = l1.txn!;
  const w1 = await bag.publish('WeightHasChanged', { grams: 350, delta: 350, stable: true, division: 2 });
  await s.waitFor((e) => e.data?.key === `w:${w1.id}`, 'verdict of the first weight');
  // The butter lands in the bagging area 6 s from now; its scan is processed now, but its
  // ItemAddedToBasket reaches weightcheck only after the weight (as after a redelivery).
  const w2 = await bag.publish('WeightHasChanged', { grams: 606, delta: 256, stable: true, division: 2 }, s.boardTime(6000));
  const alarm = await s.waitFor(
    (e) => e.type === 'UnexpectedItemInBaggingArea' && e.data.key === `w:${w2.id}`,
    'the alarm, from what weightcheck knows so far',
  );
  await s.waitFor((e) => e.type === 'InterventionRequired' && e.data.ref === alarm.id, 'the attendant is called');
  await s.quiesce();
  const l2 = await s.scanItem(BUTTER.code);
  t.ok(BigInt(l2.at.mono) < BigInt(w2.at.mono), 'by board time the item came first');
  await s.waitFor((e) => e.type === 'VerdictRetracted' && e.data.retracts === alarm.id, 'the alarm retracted');
  await s.waitFor((e) => e.type === 'InterventionCleared' && e.txn === txn, 'the intervention cleared');
  await s.quiesce();
  t.same(s.docs.get('lane').interventions, [], 'no alarm survives');
  t.equal(s.docs.get('bagging').state, 'ok');
  // Pay once the weight's board time is past: an input after TransactionCompleted is not part of it.
  await until(() => BigInt(s.boardTime().mono) > BigInt(w2.at.mono), 10_000, 'board time past the weight');
  await s.pay();
  t.same(s.streams(txn).weightcheck, [
    verified(['L1'], 350),
    ['UnexpectedItemInBaggingArea', { key: 'w:@WeightHasChanged', actualG: 606, expectedG: 350, clears: [], excessG: 256 }],
    ['VerdictRetracted', { retracts: '@UnexpectedItemInBaggingArea', key: 'w:@WeightHasChanged', type: 'UnexpectedItemInBaggingArea' }],
    verified(['L2'], 606),
  ]);
  const retraction = s.events.find((e) => e.type === 'VerdictRetracted' && e.txn === txn)!;
  t.equal(retraction.cause, l2.id, 'the late ItemAddedToBasket caused the retraction');
  const id = (s.events.find((e) => e.type === 'InterventionRequired' && e.txn === txn)!.data as { intervention: string }).intervention;
  t.same(s.streams(txn).attendant, [
    [
      'InterventionRequired',
      {
        intervention: id,
        kind: 'weight',
        reason: 'Unexpected item in the bagging area (+256 g)',
        blocking: true,
        ref: '@UnexpectedItemInBaggingArea',
        key: 'w:@WeightHasChanged',
      },
    ],
    ['InterventionCleared', { intervention: id, kind: 'weight', resolution: 'retracted', key: 'w:@WeightHasChanged' }],
  ]);
  t.same(
    (await s.receipt(txn)).interventions.map((i: Json) => [i.kind, i.resolution]),
    [['weight', 'retracted']],
    'the receipt keeps the retracted alarm',
  );
});
