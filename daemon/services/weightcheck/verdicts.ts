/**
 * The security-scale verdicts of one transaction as a pure fold over its inputs
 * in board order (the projection of daemon/events/retroactive.ts). The bagging
 * area is measured relative to the weight before the transaction's first
 * change; every line has an expected weight (piece weight x quantity) and a
 * weight credited as bagged. A stable weight is explained by the smallest,
 * closest set of outstanding lines within tolerance, else it is an alarm.
 *
 * Every output's key derives from the input it follows from, so recomputing
 * with a late input yields the same keys for what did not change.
 */
import type { ProjectedOutput, ProjectorInput } from '../../events/retroactive.js';
import type { BasketLifecycleType } from '../../events/schemas/checkout.js';
import type { DeviceStatusData } from '../../events/schemas/devices.js';
import type { TypedData } from '../../events/schemas/index.js';

export interface WeightRules {
  /** Scale noise: tolerance of any comparison, grams. */
  noiseG: number;
  /** Per-line tolerance when the catalog gives none. */
  toleranceG: number;
  tolerancePct: number;
}

export const DEFAULT_RULES: WeightRules = { noiseG: 10, toleranceG: 20, tolerancePct: 5 };

/** Synthetic input: a line's time to be bagged (or taken out after removal) is up. */
export interface DeadlineData {
  line: string;
  /** The basket event the deadline runs from. */
  ref: string;
  mode: 'bag' | 'unbag';
}

export const DEADLINE = 'BaggingDeadline';

/**
 * Every input of a transaction's verdicts: the basket's lifecycle, weights, weight
 * overrides, a bagging scale's state (or only its state, when a scale was already
 * missing at the start) and the deadlines.
 */
export type VerdictInput = ProjectorInput<
  | TypedData<BasketLifecycleType | 'WeightHasChanged' | 'OverrideApplied'>
  | { type: 'DeviceStatus'; data: Pick<DeviceStatusData, 'state'> }
  | { type: typeof DEADLINE; data: DeadlineData }
>;

export interface BaggingState {
  actualG: number;
  expectedG: number;
  outstanding: Array<{ line: string; g: number }>;
  alarms: string[];
  ended: boolean;
  weighed: boolean;
  /** Bagging scales that are missing now: nothing is concluded from the bagging area. */
  blind: string[];
}

/** Device states of a bagging scale in which it weighs nothing (drivers/driver.ts DeviceState). */
const SCALE_GONE = new Set(['disconnected', 'failed']);

interface Line {
  line: string;
  order: number;
  unitG: number;
  tolG: number;
  tolPct: number;
  expected: number;
  bagged: number;
  skip: boolean;
}

const r1 = (x: number): number => Math.round(x * 10) / 10;

export function weightVerdicts(inputs: VerdictInput[], rules: WeightRules = DEFAULT_RULES): { outputs: ProjectedOutput[]; state: BaggingState } {
  const outputs: ProjectedOutput[] = [];
  const lines = new Map<string, Line>();
  /** Open alarms: key -> type. At most one weight alarm (the newest describes the area). */
  const alarms = new Map<string, string>();
  let weightAlarm: string | undefined;
  let baseline: number | undefined;
  let actual = 0;
  let ref = 0;
  let ended = false;
  /** Bagging scales missing now (their DeviceStatus inputs): no verdict rests on a dead scale. */
  const gone = new Set<string>();
  /** A scale came back: its next weight continues from what the area was explained to hold. */
  let reanchor = false;

  const outstanding = (l: Line): number => (l.skip ? 0 : l.expected - l.bagged);
  const lineTol = (l: Line, o: number): number => Math.max(l.tolG, (Math.abs(o) * l.tolPct) / 100);
  const open = (): Line[] => [...lines.values()].filter((l) => Math.abs(outstanding(l)) > 0).sort((a, b) => a.order - b.order);
  const expectedTotal = (): number => ref + [...lines.values()].reduce((a, l) => a + outstanding(l), 0);

  /** The set of outstanding lines that explains `actual`: closest, then fewest, then oldest. */
  const bestMatch = (): Line[] | undefined => {
    const o = open();
    const sets: Line[][] = [];
    if (o.length <= 8) {
      for (let mask = 0; mask < 1 << o.length; mask++) sets.push(o.filter((_, i) => mask & (1 << i)));
    } else {
      sets.push([], o);
      for (let i = 0; i < o.length; i++) sets.push([o[i]], o.slice(0, i + 1));
    }
    let best: { s: Line[]; diff: number; rank: string } | undefined;
    for (const s of sets) {
      const target = ref + s.reduce((a, l) => a + outstanding(l), 0);
      const tol = rules.noiseG + s.reduce((a, l) => a + lineTol(l, outstanding(l)), 0);
      const diff = Math.abs(actual - target);
      if (diff > tol) continue;
      const rank = s.map((l) => String(l.order).padStart(6, '0')).join(',');
      if (!best || diff < best.diff || (diff === best.diff && (s.length < best.s.length || (s.length === best.s.length && rank < best.rank))))
        best = { s, diff, rank };
    }
    return best?.s;
  };

  /** Alarms no longer true: the weight alarm once the area is explained, not-bagged lines that are settled. */
  const settle = (areaExplained: boolean): string[] => {
    const cleared: string[] = [];
    for (const [key, type] of alarms) {
      const line = key.startsWith('nb:') ? lineOfKey(key) : undefined;
      const done = type === 'ItemNotBagged' ? !line || outstanding(line) <= 0 : areaExplained && key === weightAlarm;
      if (done) {
        cleared.push(key);
        alarms.delete(key);
        if (key === weightAlarm) weightAlarm = undefined;
      }
    }
    return cleared;
  };

  const verified = (key: string, cause: string, bagged: Line[], clears: string[], extra: { override?: boolean } = {}): void => {
    outputs.push({
      key,
      type: 'WeightVerified',
      cause,
      data: { key, lines: bagged.map((l) => l.line), expectedG: r1(expectedTotal()), actualG: r1(actual), clears, ...extra },
    });
  };

  const explain = (key: string, cause: string, always: boolean): void => {
    const s = bestMatch();
    if (s) {
      for (const l of s) l.bagged = l.expected;
      ref = actual;
      const clears = settle(true);
      if (always || s.length || clears.length) verified(key, cause, s, clears);
      return;
    }
    if (!always) return;
    const o = open();
    const pos = o.reduce((a, l) => a + Math.max(0, outstanding(l)), 0);
    const neg = o.reduce((a, l) => a + Math.min(0, outstanding(l)), 0);
    const tolAll = rules.noiseG + o.reduce((a, l) => a + lineTol(l, outstanding(l)), 0);
    const clears = weightAlarm ? [weightAlarm] : [];
    if (weightAlarm) alarms.delete(weightAlarm);
    const base = { key, actualG: r1(actual), expectedG: r1(expectedTotal()), clears };
    let alarm: ProjectedOutput;
    if (actual > ref + pos + tolAll) {
      alarm = { key, cause, type: 'UnexpectedItemInBaggingArea', data: { ...base, excessG: r1(actual - (ref + pos)) } };
    } else if (actual < ref + neg - tolAll) {
      alarm = { key, cause, type: 'ItemRemovedFromBaggingArea', data: { ...base, missingG: r1(ref + neg - actual) } };
    } else {
      alarm = { key, cause, type: 'WeightMismatch', data: { ...base, lines: o.map((l) => l.line) } };
    }
    weightAlarm = key;
    alarms.set(key, alarm.type);
    outputs.push(alarm);
  };

  const afterBasketChange = (i: VerdictInput): void => {
    if (gone.size) return;
    if (baseline !== undefined && weightAlarm) {
      explain(`b:${i.id}`, i.id, false);
      return;
    }
    const clears = settle(false);
    if (clears.length) verified(`b:${i.id}`, i.id, [], clears);
  };

  /** Alarm keys are unique in a transaction: a line's second alarm is `nb:L1/2`. */
  const used = new Map<string, number>();
  const fresh = (base: string): string => {
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    return n === 1 ? base : `${base}/${n}`;
  };
  const lineOfKey = (key: string): Line | undefined => lines.get(key.slice(3).split('/')[0]);

  let order = 0;
  for (const i of inputs) {
    if (ended) break;
    switch (i.type) {
      case 'TransactionCompleted':
      case 'TransactionCancelled':
        ended = true;
        break;
      case 'ItemAddedToBasket': {
        const d = i.data;
        if (lines.has(d.line)) break;
        const b = d.bagging;
        lines.set(d.line, {
          line: d.line,
          order: order++,
          unitG: b?.unitG ?? 0,
          tolG: b?.toleranceG ?? rules.toleranceG,
          tolPct: b?.tolerancePct ?? rules.tolerancePct,
          expected: b ? b.unitG * d.quantity : 0,
          bagged: 0,
          skip: !b,
        });
        afterBasketChange(i);
        break;
      }
      case 'QuantityChanged': {
        const d = i.data;
        const l = lines.get(d.line);
        if (!l || l.skip) break;
        l.expected = l.unitG * d.quantity;
        afterBasketChange(i);
        break;
      }
      case 'ItemRemovedFromBasket': {
        const l = lines.get(i.data.line);
        if (!l) break;
        l.expected = 0;
        afterBasketChange(i);
        break;
      }
      case 'DeviceStatus': {
        const st = i.data.state;
        if (SCALE_GONE.has(st)) gone.add(i.source);
        else if (st !== 'starting' && gone.delete(i.source) && gone.size === 0) {
          // Back: what was added meanwhile was bagged under the attendant's eyes (the lane
          // was closed and an intervention open); alarms about the area before are moot.
          ref = expectedTotal();
          for (const l of open()) l.bagged = l.expected;
          actual = ref;
          reanchor = true;
          const clears = settle(true);
          if (clears.length) verified(`u:${i.id}`, i.id, [], clears);
        }
        break;
      }
      case 'WeightHasChanged': {
        if (gone.size) break;
        const d = i.data;
        if (reanchor) {
          baseline = d.grams - d.delta - ref;
          reanchor = false;
        }
        baseline ??= d.grams - d.delta;
        actual = d.grams - baseline;
        explain(`w:${i.id}`, i.id, true);
        break;
      }
      case DEADLINE: {
        const d = i.data;
        const l = lines.get(d.line);
        if (!l || gone.size) break;
        const o = outstanding(l);
        const openNb = [...alarms.keys()].some((k) => k.startsWith('nb:') && lineOfKey(k) === l);
        if (d.mode === 'bag' && o > lineTol(l, o) && !openNb) {
          const key = fresh(`nb:${l.line}`);
          alarms.set(key, 'ItemNotBagged');
          outputs.push({
            key,
            type: 'ItemNotBagged',
            cause: i.id,
            data: { key, line: l.line, actualG: r1(actual), expectedG: r1(expectedTotal()), clears: [] },
          });
        } else if (d.mode === 'unbag' && -o > lineTol(l, o) && !weightAlarm) {
          // Removed from the basket but still in the bagging area.
          const key = fresh(`nr:${l.line}`);
          weightAlarm = key;
          alarms.set(key, 'WeightMismatch');
          outputs.push({
            key,
            type: 'WeightMismatch',
            cause: i.id,
            data: { key, lines: [l.line], actualG: r1(actual), expectedG: r1(expectedTotal()), clears: [] },
          });
        }
        break;
      }
      case 'OverrideApplied': {
        const d = i.data;
        if (d.kind !== 'weight' || d.action !== 'approve' || !d.key || !alarms.has(d.key)) break;
        const type = alarms.get(d.key);
        let clears: string[];
        if (d.key.startsWith('nb:')) {
          // Accepted without bagging: the line leaves the bagging check.
          const l = lineOfKey(d.key);
          if (l) l.skip = true;
          clears = settle(false);
        } else {
          // The area is accepted as it is; after a mismatch the outstanding lines count as settled.
          if (type === 'WeightMismatch') for (const l of open()) l.bagged = l.expected;
          ref = actual;
          alarms.delete(d.key);
          if (weightAlarm === d.key) weightAlarm = undefined;
          clears = [d.key, ...settle(false)];
        }
        verified(`o:${i.id}`, i.id, [], clears, { override: true });
        break;
      }
      default:
        break;
    }
  }
  return {
    outputs,
    state: {
      actualG: r1(actual),
      expectedG: r1(expectedTotal()),
      outstanding: open().map((l) => ({ line: l.line, g: r1(outstanding(l)) })),
      alarms: [...alarms.keys()],
      ended,
      weighed: baseline !== undefined,
      blind: [...gone],
    },
  };
}
