import t from 'tap';
import { join } from 'node:path';
import { weightVerdicts, DEADLINE, type DeadlineData, type VerdictInput } from '../../../daemon/services/weightcheck/verdicts.js';
import { RetroactiveProjector, compareInputs } from '../../../daemon/events/retroactive.js';
import { KeyedExecutor } from '../../../daemon/events/executor.js';
import { Store } from '../../../daemon/store/store.js';
import { newEventId } from '../../../daemon/events/envelope.js';
import { tempDir, prng } from '../../helpers/daemon.js';
import '../../../daemon/events/schemas/index.js';

// The security-scale fold on its own (what each sequence of inputs must give), and
// through the retroactive projector with shuffled arrivals for two transactions at once.

let mono = 1_000_000n;
let seq = 0;
const at = () => ({ epoch: 1, mono: (mono += 1_000_000n).toString() });
// inputs written by hand here, as the fold takes them (partial data where the fold reads no more)
const ev = (type: string, source: string, data: unknown): VerdictInput =>
  ({ id: newEventId(), type, source, seq: ++seq, at: at(), data, txn: 'T' }) as VerdictInput;
const add = (line: string, g?: number, quantity = 1) => ev('ItemAddedToBasket', 'basket', { line, quantity, ...(g ? { bagging: { unitG: g } } : {}) });
let grams = 0;
const weigh = (to: number) => {
  const delta = to - grams;
  grams = to;
  return ev('WeightHasChanged', 'bagscale', { grams: to, delta, stable: true, division: 2 });
};
const deadline = (line: string, mode: DeadlineData['mode'] = 'bag') => ev(DEADLINE, 'weightcheck', { line, ref: `r${seq}`, mode });
const verdicts = (inputs: VerdictInput[]) => weightVerdicts(inputs).outputs.map((o) => [o.type, o.data]);
const V = (key: string, lines: string[], g: number, clears: string[] = []) => ['WeightVerified', { key, lines, expectedG: g, actualG: g, clears }];

t.beforeEach(() => {
  grams = 0;
});

t.test('items bagged one by one, together, and the closest explanation wins', async (t) => {
  const l1 = add('L1', 350);
  const w1 = weigh(350);
  const l2 = add('L2', 256);
  const l3 = add('L3', 350);
  const w2 = weigh(956);
  t.same(verdicts([l1, w1, l2, l3, w2]), [V(`w:${w1.id}`, ['L1'], 350), V(`w:${w2.id}`, ['L2', 'L3'], 956)]);
  grams = 0;
  const a = add('L1', 350);
  const b = add('L2', 350);
  const w = weigh(350);
  t.same(
    verdicts([a, b, w])[0],
    ['WeightVerified', { key: `w:${w.id}`, lines: ['L1'], expectedG: 700, actualG: 350, clears: [] }],
    'two equal candidates: the older line (L2 still to bag)',
  );
  t.same(weightVerdicts([a, b, w]).state.outstanding, [{ line: 'L2', g: 350 }]);
});

t.test('tolerances: the line (absolute or %) plus the scale noise', async (t) => {
  const l1 = add('L1', 1000);
  t.equal(verdicts([l1, weigh(1058)])[0][0], 'WeightVerified', '1000 g +58: within 10 + max(20, 5 %)');
  grams = 0;
  const out = verdicts([l1, weigh(1080)]);
  t.same(out[0][0], 'UnexpectedItemInBaggingArea', '+80 g is more than the scanned item');
  t.equal((out[0][1] as { excessG: number }).excessG, 80);
});

t.test('alarms: unexpected, removed, mismatch; each resolved by the next consistent weight', async (t) => {
  const l1 = add('L1', 350);
  const w1 = weigh(350);
  const w2 = weigh(850);
  const w3 = weigh(350);
  const w4 = weigh(100);
  const w5 = weigh(350);
  t.same(verdicts([l1, w1, w2, w3, w4, w5]), [
    V(`w:${w1.id}`, ['L1'], 350),
    ['UnexpectedItemInBaggingArea', { key: `w:${w2.id}`, actualG: 850, expectedG: 350, clears: [], excessG: 500 }],
    V(`w:${w3.id}`, [], 350, [`w:${w2.id}`]),
    ['ItemRemovedFromBaggingArea', { key: `w:${w4.id}`, actualG: 100, expectedG: 350, clears: [], missingG: 250 }],
    V(`w:${w5.id}`, [], 350, [`w:${w4.id}`]),
  ]);
  grams = 0;
  const a = add('L1', 350);
  const b = add('L2', 1040);
  const m = weigh(700);
  const m2 = weigh(720);
  t.same(
    verdicts([a, b, m, m2]),
    [
      ['WeightMismatch', { key: `w:${m.id}`, actualG: 700, expectedG: 1390, clears: [], lines: ['L1', 'L2'] }],
      ['WeightMismatch', { key: `w:${m2.id}`, actualG: 720, expectedG: 1390, clears: [`w:${m.id}`], lines: ['L1', 'L2'] }],
    ],
    'a newer weight alarm supersedes the older one',
  );
});

t.test('bagged before scanned: the scan explains the weight', async (t) => {
  const w = weigh(256);
  const l = add('L1', 256);
  t.same(verdicts([w, l]), [
    ['UnexpectedItemInBaggingArea', { key: `w:${w.id}`, actualG: 256, expectedG: 0, clears: [], excessG: 256 }],
    V(`b:${l.id}`, ['L1'], 256, [`w:${w.id}`]),
  ]);
  t.same(verdicts([l, w]), [V(`w:${w.id}`, ['L1'], 256)], 'in board order the other way round: no alarm at all');
});

t.test('deadlines: not bagged, not taken out, repeated alarms get their own keys', async (t) => {
  const l1 = add('L1', 350);
  const d1 = deadline('L1');
  const w1 = weigh(350);
  const q = ev('QuantityChanged', 'basket', { line: 'L1', from: 1, quantity: 2 });
  const d2 = deadline('L1');
  const w2 = weigh(700);
  t.same(verdicts([l1, d1, w1, q, d2, w2]), [
    ['ItemNotBagged', { key: 'nb:L1', line: 'L1', actualG: 0, expectedG: 350, clears: [] }],
    V(`w:${w1.id}`, ['L1'], 350, ['nb:L1']),
    ['ItemNotBagged', { key: 'nb:L1/2', line: 'L1', actualG: 350, expectedG: 700, clears: [] }],
    V(`w:${w2.id}`, ['L1'], 700, ['nb:L1/2']),
  ]);
  const r = ev('ItemRemovedFromBasket', 'basket', { line: 'L1' });
  const d3 = deadline('L1', 'unbag');
  const w3 = weigh(0);
  t.same(verdicts([l1, d1, w1, q, d2, w2, r, d3, w3]).slice(4), [
    ['WeightMismatch', { key: 'nr:L1', lines: ['L1'], actualG: 700, expectedG: 0, clears: [] }],
    V(`w:${w3.id}`, ['L1'], 0, ['nr:L1']),
  ]);
  grams = 0;
  const a = add('L1', 350);
  const wa = weigh(350);
  t.same(verdicts([a, wa, deadline('L1')]), [V(`w:${wa.id}`, ['L1'], 350)], 'bagged in time: no alarm');
  const b = add('L2', 256);
  const rb = ev('ItemRemovedFromBasket', 'basket', { line: 'L2' });
  t.same(
    verdicts([b, deadline('L2'), rb]).map(([type, d]) => [type, (d as { clears: string[] }).clears]),
    [
      ['ItemNotBagged', []],
      ['WeightVerified', ['nb:L2']],
    ],
    'removing the unbagged line settles its alarm',
  );
});

t.test('overrides, skip-bagging and the end of the transaction', async (t) => {
  const l1 = add('L1', 350);
  const w1 = weigh(850);
  const ov = ev('OverrideApplied', 'attendant', { kind: 'weight', action: 'approve', key: `w:${w1.id}` });
  const l2 = add('L2', 256);
  const w2 = weigh(1106);
  t.same(
    verdicts([l1, w1, ov, l2, w2]),
    [
      ['UnexpectedItemInBaggingArea', { key: `w:${w1.id}`, actualG: 850, expectedG: 350, clears: [], excessG: 500 }],
      ['WeightVerified', { key: `o:${ov.id}`, lines: [], expectedG: 1200, actualG: 850, clears: [`w:${w1.id}`], override: true }],
      ['WeightVerified', { key: `w:${w2.id}`, lines: ['L2'], expectedG: 1456, actualG: 1106, clears: [] }],
    ],
    'the accepted area is the new reference; the scanned L1 still counts as outstanding',
  );
  t.same(weightVerdicts([l1, w1, ov, l2, w2]).state.outstanding, [{ line: 'L1', g: 350 }]);
  grams = 0;
  const pack = add('L1');
  const end = ev('TransactionCompleted', 'basket', {});
  const late = weigh(500);
  t.same(verdicts([pack, deadline('L1'), end, late]), [], 'a skip-bagging line has no deadline; nothing after the end');
});

// Acceptance, with the weightcheck projection itself: shoppers' inputs for two
// transactions, 1,000 in all, arrive shuffled and interleaved; processed concurrently
// (one key per transaction) the live verdicts equal the fold of the sorted inputs.

function shopper(txn: string, random: () => number, n: number): VerdictInput[] {
  const out: VerdictInput[] = [];
  let m = 10_000_000n;
  let s = 0;
  let g = 0;
  let line = 0;
  const pending: number[] = [];
  const push = (type: string, source: string, data: unknown) => {
    m += BigInt(1 + Math.floor(random() * 5)) * 1_000_000n;
    out.push({ id: newEventId(), type, source, seq: ++s, at: { epoch: 1, mono: m.toString() }, data, txn } as VerdictInput);
  };
  while (out.length < n) {
    const r = random();
    if (r < 0.4) {
      const w = 2 * (50 + Math.floor(random() * 600));
      line += 1;
      pending.push(w);
      push('ItemAddedToBasket', 'basket', { line: `L${line}`, quantity: 1, bagging: { unitG: w } });
      if (random() < 0.3) push(DEADLINE, 'weightcheck', { line: `L${line}`, ref: `d${s}`, mode: 'bag' });
    } else if (r < 0.8 && pending.length) {
      const w = pending.shift()!;
      const to = g + w + (random() < 0.15 ? 300 : 0);
      push('WeightHasChanged', 'bagscale', { grams: to, delta: to - g, stable: true, division: 2 });
      g = to;
    } else {
      const to = Math.max(0, g + (random() < 0.5 ? -200 : 200));
      push('WeightHasChanged', 'bagscale', { grams: to, delta: to - g, stable: true, division: 2 });
      g = to;
    }
  }
  return out.slice(0, n);
}

for (const seedValue of process.env.LANED_TEST_SEED ? [Number(process.env.LANED_TEST_SEED)] : [11, 12]) {
  t.test(`weight verdicts: 1,000 shuffled inputs of 2 transactions, concurrent equals the sorted fold (seed ${seedValue})`, async (t) => {
    const random = prng(seedValue);
    const tx = { A: shopper('A', random, 500), B: shopper('B', random, 500) };
    const shuffle = (xs: VerdictInput[]) => {
      const a = [...xs];
      for (let i = 0; i < a.length - 1; i++) if (random() < 0.35) [a[i], a[i + 1]] = [a[i + 1], a[i]];
      return a;
    };
    const arrivals = [shuffle(tx.A), shuffle(tx.B)];
    const mixed: VerdictInput[] = [];
    while (arrivals[0].length || arrivals[1].length) {
      const k = !arrivals[1].length || (arrivals[0].length && random() < 0.5) ? 0 : 1;
      mixed.push(arrivals[k].shift()!);
    }
    const store = await Store.open(join(tempDir(), 'wc.db'));
    await store.exec('PRAGMA synchronous=OFF');
    let n = 0;
    const emitted: Array<{ type: string; txn?: string }> = [];
    const proj = new RetroactiveProjector<VerdictInput>({
      name: 'verdicts',
      project: (inputs) => weightVerdicts(inputs).outputs,
      emit: async (_tx, { type, data }, meta) => {
        emitted.push({ type, txn: meta.txn });
        return { id: `E${++n}`, type, v: 1, source: 'weightcheck', seq: n, at: { epoch: 1, mono: String(n) }, time: '', data, txn: meta.txn };
      },
      retract: async (_tx, data, meta) => {
        emitted.push({ type: 'VerdictRetracted', txn: meta.txn });
        return {
          id: `E${++n}`,
          type: 'VerdictRetracted',
          v: 1,
          source: 'weightcheck',
          seq: n,
          at: { epoch: 1, mono: String(n) },
          time: '',
          data,
          txn: meta.txn,
        };
      },
    });
    await proj.migrate(store);
    const exec = new KeyedExecutor();
    await Promise.all(mixed.map((e) => exec.run(e.txn!, () => store.tx((x) => proj.add(x, e.txn!, e)))));
    for (const txn of ['A', 'B'] as const) {
      const byKey = (os: Array<{ key: string; type: string; data: unknown }>) =>
        os.map((o) => ({ key: o.key, type: o.type, data: o.data })).sort((a, b) => (a.key < b.key ? -1 : 1));
      const expected = byKey(weightVerdicts([...tx[txn]].sort(compareInputs)).outputs);
      t.ok(
        expected.some((o) => o.type !== 'WeightVerified'),
        `${txn}: the sequence has alarms to get right`,
      );
      t.same(byKey(await store.tx((x) => proj.live(x, txn))), expected, `${txn}: live verdicts equal the fold of the sorted inputs`);
    }
    t.ok(emitted.filter((e) => e.type === 'VerdictRetracted').length > 0, 'shuffled arrivals forced retractions');
    await store.close();
  });
}

t.test('a missing bagging scale: no verdict rests on it; back, the area goes on from what it held', async (t) => {
  const l1 = add('L1', 350);
  const w1 = weigh(350);
  const l2 = add('L2', 256);
  const gone = ev('DeviceStatus', 'bagscale', { state: 'disconnected' });
  const late = deadline('L2');
  const l3 = add('L3', 1040);
  const late3 = deadline('L3');
  const inputs = [l1, w1, l2, gone, late, l3, late3];
  t.same(verdicts(inputs), [V(`w:${w1.id}`, ['L1'], 350)], 'no ItemNotBagged while the scale is gone');
  t.same(weightVerdicts(inputs).state.blind, ['bagscale']);
  const back = ev('DeviceStatus', 'bagscale', { state: 'ok' });
  t.same(verdicts([...inputs, back]), [V(`w:${w1.id}`, ['L1'], 350)], 'back: nothing to clear, nothing raised');
  t.same(weightVerdicts([...inputs, back]).state.outstanding, [], 'what was added meanwhile counts as bagged');
  // the driver re-captured its zero after the replug: its next weight continues from there
  grams = 0;
  const l4 = add('L4', 256);
  const w4 = weigh(256);
  const out = verdicts([...inputs, back, l4, w4]);
  t.same(out.at(-1), ['WeightVerified', { key: `w:${w4.id}`, lines: ['L4'], expectedG: 1902, actualG: 1902, clears: [] }]);
  // a deadline before the scale went is still the shopper's
  const early = deadline('L2');
  t.equal(verdicts([l1, w1, l2, early, gone]).at(-1)![0], 'ItemNotBagged');
});

t.test('an own bag: a weight within its bounds is tared without an alarm, one outside them is an unexpected item', async (t) => {
  const bag = ev('OwnBagDeclared', 'basket', { bag: 'B1', minG: 5, maxG: 250 });
  const w1 = weigh(40);
  const l1 = add('L1', 350);
  const w2 = weigh(390);
  const out = verdicts([bag, w1, l1, w2]);
  t.same(out, [
    ['WeightVerified', { key: `w:${w1.id}`, lines: [], bags: ['B1'], expectedG: 40, actualG: 40, clears: [] }],
    ['WeightVerified', { key: `w:${w2.id}`, lines: ['L1'], expectedG: 390, actualG: 390, clears: [] }],
  ]);
  t.same(weightVerdicts([bag, w1, l1, w2]).state.outstanding, [], 'nothing left to bag');
  grams = 0;
  const heavy = weigh(900);
  const o2 = weightVerdicts([bag, heavy]).outputs;
  t.same(
    o2.map((o) => o.type),
    ['UnexpectedItemInBaggingArea'],
    'a bag of 900 g is not a bag',
  );
  grams = 0;
  const none = weigh(40);
  t.same(
    weightVerdicts([none]).outputs.map((o) => o.type),
    ['UnexpectedItemInBaggingArea'],
    'without declaring it, the same bag is an unexpected item',
  );
});
