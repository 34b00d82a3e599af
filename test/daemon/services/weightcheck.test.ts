import t, { type Test } from 'tap';
import { weightcheck } from '../../../daemon/services/weightcheck/service.js';
import type { BoardTime } from '../../../daemon/events/clock.js';
import { serviceHarness, type ServiceHarness } from '../../helpers/service-harness.js';

// The security scale's rules on the service alone, its deadlines driven by the harness's
// clock: verdicts within and outside tolerance, an item not bagged in time, a late
// weight that disproves a verdict, a missing scale, and an attendant's override.

const TXN = 'T-0001';

interface Bagging {
  txn: string | null;
  state: string;
  outstanding: Array<{ line: string; g: number }>;
  alarms: string[];
  blind: string[];
}

const lane = async (t: Test, settings: Record<string, unknown> = {}) => {
  const h = await serviceHarness(weightcheck, { settings: { notBaggedTimeoutMs: 1000, ...settings } });
  t.teardown(() => h.stop());
  let grams = 0;
  const weigh = (to: number, at?: BoardTime) => {
    const delta = to - grams;
    grams = to;
    return h.event('bagscale', 'WeightHasChanged', { grams: to, delta, stable: true, division: 2 }, at ? { at } : {});
  };
  const item = (line: string, unitG: number, extra: Record<string, unknown> = {}) =>
    h.event(
      'basket',
      'ItemAddedToBasket',
      { line, gtin: '05449000000996', name: `item ${line}`, unit: 'each', quantity: 1, unitPrice: 100, price: 100, bagging: { unitG, ...extra } },
      { txn: TXN },
    );
  await h.event('basket', 'TransactionStarted', { txn: TXN, lane: 'lane-1', currency: 'EUR' }, { txn: TXN });
  return { h, weigh, item };
};

const verdicts = (h: ServiceHarness) => h.emitted.map((e) => e.type);

t.test('a weight within tolerance verifies the line; more than the lines explain is an unexpected item', async (t) => {
  const { h, weigh, item } = await lane(t);
  await item('L1', 350);
  t.match(h.doc<Bagging>('bagging'), { txn: TXN, state: 'waiting', outstanding: [{ line: 'L1', g: 350 }] }, 'doc/bagging asks to bag L1');
  await weigh(378);
  t.match(h.events('WeightVerified')[0]?.data, { lines: ['L1'], actualG: 378 }, '350 g +- (10 noise + 20) accepts 378');
  await item('L2', 1000);
  await weigh(378 + 1058);
  t.match(h.events('WeightVerified')[1]?.data, { lines: ['L2'] }, 'a heavy item: 5 % (50 g) + 10 noise accepts +1058');
  await item('L3', 200, { toleranceG: 2, tolerancePct: 0 });
  await weigh(378 + 1058 + 230);
  t.match(h.events('UnexpectedItemInBaggingArea')[0]?.data, { excessG: 30 }, 'the catalog’s own tolerance of L3 (2 g) rejects +230 g');
  t.equal(h.doc<Bagging>('bagging')?.state, 'alarm');
  t.same(verdicts(h), ['WeightVerified', 'WeightVerified', 'UnexpectedItemInBaggingArea']);
  t.ok(
    h.emitted.every((e) => e.txn === TXN),
    'verdicts carry the transaction',
  );
});

t.test('an item not bagged by its deadline is an alarm; bagging it clears the alarm', async (t) => {
  const { h, weigh, item } = await lane(t);
  await item('L1', 350);
  t.equal(h.clock.pending, 1, 'the deadline is a timer of the service’s clock');
  await h.advance(990);
  t.same(verdicts(h), [], 'nothing before the deadline');
  await h.advance(10);
  t.match(h.events('ItemNotBagged')[0]?.data, { key: 'nb:L1', line: 'L1', expectedG: 350, actualG: 0 });
  t.match(h.doc<Bagging>('bagging'), { state: 'alarm', alarms: ['nb:L1'] });
  await weigh(350);
  t.match(h.events('WeightVerified')[0]?.data, { lines: ['L1'], clears: ['nb:L1'] }, 'the verdict names the alarm it resolves');
  t.match(h.doc<Bagging>('bagging'), { state: 'ok', alarms: [] });
});

t.test('a weight taken before the deadline but arriving after it retracts the alarm', async (t) => {
  const { h, weigh, item } = await lane(t);
  await item('L1', 350);
  const placed = h.clock.now();
  await h.advance(1000);
  const [alarm] = h.events('ItemNotBagged');
  t.ok(alarm, 'the deadline passed with no weight known');
  await weigh(352, placed);
  t.match(h.events('VerdictRetracted')[0]?.data, { retracts: alarm.id, key: 'nb:L1', type: 'ItemNotBagged' });
  t.match(h.events('WeightVerified')[0]?.data, { lines: ['L1'], actualG: 352 });
  t.same(verdicts(h), ['ItemNotBagged', 'VerdictRetracted', 'WeightVerified'], 'the retraction goes out before the corrected verdict');
  t.equal(h.doc<Bagging>('bagging')?.state, 'ok');
});

t.test('with the bagging scale missing nothing is asked of the shopper and no alarm rests on it', async (t) => {
  const { h, item } = await lane(t);
  const status = (state: string) =>
    h.event('bagscale', 'DeviceStatus', { name: 'bagscale', kind: 'nau7802', state, simulated: true, since: new Date().toISOString() });
  await status('disconnected');
  await item('L1', 350);
  await h.advance(1000);
  t.equal(h.events('ItemNotBagged').length, 0, 'no "not bagged" while the scale is gone');
  t.match(h.doc<Bagging>('bagging'), { state: 'unavailable', blind: ['bagscale'] });
  await status('ok');
  t.not(h.doc<Bagging>('bagging')?.state, 'unavailable', 'the scale back: verdicts resume');
});

t.test('an attendant’s weight override accepts the area as it is; the transaction’s end stops its deadlines', async (t) => {
  const { h, weigh, item } = await lane(t);
  await item('L1', 350);
  await weigh(500);
  const [alarm] = h.events<{ key: string }>('UnexpectedItemInBaggingArea');
  t.ok(alarm, '+150 g over one can is an alarm');
  await h.event(
    'attendant',
    'OverrideApplied',
    { intervention: 'I-0001', kind: 'weight', action: 'approve', by: 'anna', method: 'key', key: alarm.data.key },
    { txn: TXN },
  );
  t.match(h.events('WeightVerified').at(-1)?.data, { override: true, clears: [alarm.data.key] });
  t.match(h.doc<Bagging>('bagging'), { state: 'waiting', alarms: [] }, 'no alarm left; the area as it is becomes the reference');

  await item('L2', 100);
  t.equal(h.clock.pending, 2, 'deadlines of L1 (bagged, not yet run out) and L2');
  await h.event('basket', 'TransactionCancelled', { total: 200, reason: 'test' }, { txn: TXN });
  t.equal(h.clock.pending, 0, 'the closed transaction’s deadline timers are cleared');
  t.match(h.doc<Bagging>('bagging'), { txn: null, state: 'idle' });
});
