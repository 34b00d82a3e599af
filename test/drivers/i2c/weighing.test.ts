import t from 'tap';
import { Weighing, type WeighingConfig } from '../../../drivers/i2c/weighing.js';
import { bounce, between, seeded } from '../../../drivers/sim/random.js';

const base: WeighingConfig = {
  rate: 80,
  division: 1,
  capacityG: 15000,
  thresholdG: 5,
  medianWindow: 5,
  averageMs: 100,
  stableWindowMs: 250,
  stableBandD: 1,
  autoZeroBandD: 0.5,
  autoZeroLimitG: 600,
  initialZeroG: 0,
};
const ZERO = 50_000;

interface Step {
  at: number;
  to: number;
}

/**
 * A synthetic trace in ADC counts: steps of load with bounce, ±noise counts of
 * uniform noise. Returns per-step the time the clean signal settled (last time
 * it was more than half a division away from the new load).
 */
function run(cfg: WeighingConfig, countsPerGram: number, noise: number, steps: Step[], untilMs: number, seed = 7) {
  const w = new Weighing(cfg, { zeroCounts: ZERO, countsPerGram });
  const rand = seeded(seed);
  const changes: { t: number; grams: number; delta: number }[] = [];
  const states: string[] = [];
  const settled = steps.map(() => -1);
  const period = 1000 / cfg.rate;
  for (let i = 0; i * period <= untilMs; i++) {
    const tMs = i * period;
    let k = -1;
    for (let s = 0; s < steps.length; s++) if (steps[s].at <= tMs) k = s;
    const from = k > 0 ? steps[k - 1].to : 0;
    const g = k < 0 ? 0 : bounce(from, steps[k].to, tMs - steps[k].at);
    if (k >= 0 && Math.abs(g - steps[k].to) > cfg.division / 2) settled[k] = tMs;
    const counts = Math.round(ZERO + g * countsPerGram) + between(rand, -noise, noise);
    const out = w.push(counts, tMs);
    if (out.changed) changes.push({ t: tMs, ...out.changed });
    if (out.state) states.push(out.state);
  }
  return { changes, states, settled, w };
}

for (const rate of [80, 320]) {
  t.test(`350 g placed with bounce, then removed, at ${rate} samples/s (noise ±2 counts)`, async (t) => {
    const cfg = { ...base, rate };
    const { changes, settled } = run(
      cfg,
      20,
      2,
      [
        { at: 1000, to: 350 },
        { at: 4000, to: 0 },
      ],
      7000,
    );
    t.equal(changes.length, 2, 'exactly one event for placing and one for removing');
    t.ok(Math.abs(changes[0].grams - 350) <= cfg.division && Math.abs(changes[0].delta - 350) <= cfg.division, `placed: ${JSON.stringify(changes[0])}`);
    t.ok(Math.abs(changes[1].delta + 350) <= cfg.division && changes[1].grams === 0, `removed: ${JSON.stringify(changes[1])}`);
    const lag0 = changes[0].t - settled[0];
    const lag1 = changes[1].t - settled[1];
    t.ok(settled[0] > 1000 && lag0 >= 0 && lag0 <= 600, `placed: published ${lag0} ms after settling`);
    t.ok(lag1 >= 0 && lag1 <= 600, `removed: published ${lag1} ms after settling`);
  });
}

t.test('harsher noise (±0.5 d) and a coarser division still give one event each way', async (t) => {
  const cfg = { ...base, division: 5, thresholdG: 10 };
  const { changes, settled } = run(
    cfg,
    1,
    2,
    [
      { at: 500, to: 350 },
      { at: 3000, to: 0 },
    ],
    6000,
    11,
  );
  t.equal(changes.length, 2);
  t.ok(Math.abs(changes[0].grams - 350) <= 5, `placed ${changes[0].grams}`);
  t.ok(Math.abs(changes[1].delta + 350) <= 5, `removed ${changes[1].delta}`);
  t.ok(changes[0].t - settled[0] <= 600 && changes[1].t - settled[1] <= 600);
});

t.test('the pipeline can fail: without filtering the same trace gives extra or early events', async (t) => {
  const cfg = { ...base, division: 5, thresholdG: 5, medianWindow: 1, averageMs: 0, stableWindowMs: 30, stableBandD: 1 };
  const { changes } = run(cfg, 1, 4, [{ at: 500, to: 350 }], 3000, 11);
  t.not(changes.length, 1, `a naive filter publishes ${changes.length} events`);
});

t.test('a single-sample spike is ignored by the median filter', async (t) => {
  const w = new Weighing(base, { zeroCounts: ZERO, countsPerGram: 20 });
  let events = 0;
  for (let i = 0; i < 400; i++) {
    const spike = i === 200 ? 2_000_000 : 0;
    if (w.push(ZERO + spike, i * 12.5).changed) events++;
  }
  t.equal(events, 0);
  t.equal(w.state, 'zero');
});

t.test('zero-tracking follows slow drift within its limit, then stops', async (t) => {
  const w = new Weighing({ ...base, autoZeroLimitG: 3 }, { zeroCounts: ZERO, countsPerGram: 20 });
  const out: { t: number; grams: number }[] = [];
  // drift of +0.2 g/s (under the 0.5 d/s tracking rate) for 60 s: 12 g in all
  for (let i = 0; i < 80 * 60; i++) {
    const o = w.push(Math.round(ZERO + 20 * 0.2 * (i / 80)), i * 12.5);
    if (o.changed) out.push({ t: i * 12.5, grams: o.changed.grams });
  }
  t.equal(out.length, 1, 'one event, once the 3 g tracking range is used up and 5 g more have drifted');
  t.ok(out[0].t > 35_000, `not while tracking (event at ${out[0].t} ms)`);
  t.equal(out[0].grams, 5);
});

t.test('overweight, under-zero and zero states', async (t) => {
  const w = new Weighing(base, { zeroCounts: ZERO, countsPerGram: 20 });
  const states: string[] = [];
  const feed = (g: number, n: number, t0: number) => {
    for (let i = 0; i < n; i++) {
      const o = w.push(ZERO + g * 20, t0 + i * 12.5);
      if (o.state) states.push(o.state);
    }
  };
  feed(0, 80, 0);
  feed(16000, 80, 1000);
  feed(-100, 80, 2000);
  feed(0, 80, 3000);
  t.same(states, ['unstable', 'zero', 'unstable', 'overweight', 'unstable', 'underZero', 'unstable', 'zero']);
});

t.test('initial zero-setting takes up a small offset at start, not a loaded platter', async (t) => {
  const a = new Weighing({ ...base, initialZeroG: 300 }, { zeroCounts: ZERO, countsPerGram: 20 });
  const b = new Weighing({ ...base, initialZeroG: 300 }, { zeroCounts: ZERO, countsPerGram: 20 });
  let ea = 0;
  let eb = 0;
  for (let i = 0; i < 200; i++) {
    if (a.push(ZERO + 120 * 20, i * 12.5).changed) ea++;
    if (b.push(ZERO + 2000 * 20, i * 12.5).changed) eb++;
  }
  t.equal(ea, 0);
  t.equal(a.grams, 0);
  t.equal(eb, 1, 'a loaded platter at start is reported');
  t.equal(b.grams, 2000);
});

t.test('zero() is refused when unstable or out of range', async (t) => {
  const w = new Weighing({ ...base, autoZeroLimitG: 50 }, { zeroCounts: ZERO, countsPerGram: 20 });
  t.match(w.zero(), { ok: false, reason: /not stable/ });
  for (let i = 0; i < 100; i++) w.push(ZERO + 40 * 20, i * 12.5);
  t.same(w.zero(), { ok: true });
  t.equal(w.grams, 0);
  for (let i = 100; i < 200; i++) w.push(ZERO + 140 * 20, i * 12.5);
  t.match(w.zero(), { ok: false, reason: /zero-setting range/ });
});

t.test('readings missed (a late host): too few in the window to call the platter stable', async (t) => {
  const cfg = { ...base, division: 2, thresholdG: 2 };
  const w = new Weighing(cfg, { zeroCounts: ZERO, countsPerGram: 20 });
  const period = 1000 / cfg.rate;
  const changes: number[] = [];
  const push = (g: number, tMs: number): void => {
    const out = w.push(Math.round(ZERO + g * 20), tMs);
    if (out.changed) changes.push(out.changed.grams);
  };
  let tMs = 0;
  for (; tMs < 2000; tMs += period) push(606, tMs);
  t.same(changes, [606], 'settled at 606 g while every conversion is read');
  // the load rings at 5 Hz towards 350 g; a host that reads once per ringing period sees
  // the same 356 g each time, and the conversions between are lost
  for (let i = 0; i < 20; i++, tMs += 200) push(356, tMs);
  t.same(changes, [606], 'no stable reading from one conversion in 200 ms');
  for (const end = tMs + 1000; tMs < end; tMs += period) push(350, tMs);
  t.equal(changes.at(-1), 350, 'the settled load once the conversions are read again');
});
