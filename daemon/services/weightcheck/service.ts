import type { ServiceDefinition, ServiceLogic } from '../../runtime/runtime.js';
import type { Tx } from '../../store/store.js';
import type { DomainEvent } from '../../events/schemas/index.js';
import { compareBoardTime, type BoardTime, type Timer } from '../../events/clock.js';
import { devicesWith } from '../../runtime/devices.js';
import { KvTable } from '../../store/kv.js';
import { RetroactiveProjector, inputOf } from '../../events/retroactive.js';
import { BASKET_LIFECYCLE, type BasketLifecycleType } from '../../events/schemas/checkout.js';
import { DEADLINE, DEFAULT_RULES, weightVerdicts, type DeadlineData, type VerdictInput, type WeightRules } from './verdicts.js';
import type { DocMap } from '../docs.js';
import type { WeightcheckSettings } from './settings.js';

const DDL = `
CREATE TABLE IF NOT EXISTS wc_weights (id TEXT PRIMARY KEY, epoch INTEGER NOT NULL, mono TEXT NOT NULL, body TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS wc_weights_at ON wc_weights (epoch, mono);`;

const BASKET_INPUTS: ReadonlySet<string> = new Set(BASKET_LIFECYCLE);
const isBasketInput = (ev: DomainEvent): ev is DomainEvent<BasketLifecycleType> => BASKET_INPUTS.has(ev.type);
/** Recent weights kept for a transaction whose start arrives after them; trimmed every so many. */
const KEEP_WEIGHTS = 200;
const TRIM_WEIGHTS_EVERY = 50;

/** Board time plus `ms`. */
function later(at: BoardTime, ms: number): BoardTime {
  return { epoch: at.epoch, mono: (BigInt(at.mono) + BigInt(Math.round(ms * 1e6))).toString() };
}

/**
 * weightcheck: the security scale. Inputs of each transaction
 * (basket lines, bagging-scale weights, deadlines, attendant overrides) go
 * through the generic retroactive projector: verdicts are recomputed in board
 * order on every input, and verdicts that a late input disproves are retracted
 * with VerdictRetracted before the corrected ones go out.
 */
export const weightcheck: ServiceDefinition<WeightcheckSettings> = {
  name: 'weightcheck',
  /** Sent by the touch UI: no screen sends to the weight check. */
  ui: [],
  create(ctx): ServiceLogic {
    const s = ctx.settings;
    const scales = s.baggingScales ?? devicesWith(ctx.config, 'bagging-scale');
    const timeoutMs = s.notBaggedTimeoutMs ?? 15_000;
    const keep = s.keepTransactions ?? 50;
    const rules: WeightRules = {
      noiseG: s.noiseG ?? DEFAULT_RULES.noiseG,
      toleranceG: s.toleranceG ?? DEFAULT_RULES.toleranceG,
      tolerancePct: s.tolerancePct ?? DEFAULT_RULES.tolerancePct,
    };
    const timers = new Map<string, Set<Timer>>();
    let stopping = false;

    const projector = new RetroactiveProjector<VerdictInput>({
      name: 'verdicts',
      project: (inputs) => weightVerdicts(inputs, rules).outputs,
      emit: (tx, out, meta) => ctx.emit(tx, out.type, out.data, meta),
      retract: (tx, data, meta) => ctx.emit(tx, 'VerdictRetracted', data, meta),
      meta: (part, inputs) => {
        const corr = inputs.find((i) => i.source === 'basket' && i.txn === part)?.corr;
        return { txn: part, ...(corr ? { corr } : {}) };
      },
    });

    const kv = new KvTable('wc_state');
    /** Weights stored since wc_weights was last trimmed to the newest KEEP_WEIGHTS. */
    let weightsSinceTrim = TRIM_WEIGHTS_EVERY;

    /** doc/bagging: what the UI shows ("please bag your item") and tests wait on. */
    const publish = async (tx: Tx, txn: string | undefined): Promise<void> => {
      let doc: DocMap['bagging'] = { txn: null, state: 'idle' };
      if (txn) {
        const inputs = await projector.inputs(tx, txn);
        const { state } = weightVerdicts(inputs, rules);
        // a missing scale: no "please bag" and no alarm can rest on it
        const st = state.blind.length ? 'unavailable' : state.alarms.length ? 'alarm' : state.outstanding.length ? 'waiting' : 'ok';
        doc = { txn, state: st, inputs: inputs.length, ...state };
      }
      tx.afterCommit(() => ctx.publishDoc('bagging', doc));
    };

    const forget = (txn: string): void => {
      for (const t of timers.get(txn) ?? []) ctx.timers.clearTimeout(t);
      timers.delete(txn);
    };

    const schedule = (txn: string, ev: Pick<VerdictInput, 'id' | 'at'>, data: DeadlineData): void => {
      if (stopping) return;
      const at = later(ev.at, timeoutMs);
      const now = ctx.clock.now();
      const wait = at.epoch !== now.epoch ? 0 : Math.max(0, Number((BigInt(at.mono) - BigInt(now.mono)) / 1_000_000n));
      const set = timers.get(txn) ?? new Set<Timer>();
      timers.set(txn, set);
      const timer = ctx.timers.setTimeout(() => {
        set.delete(timer);
        const input: VerdictInput = { id: `deadline:${data.ref}`, type: DEADLINE, source: 'weightcheck', seq: 0, at, data, txn };
        ctx
          .runKeyed('lane', () =>
            ctx.tx(async (tx) => {
              const r = await projector.add(tx, txn, input);
              if (r.applied) await publish(tx, txn);
            }),
          )
          .catch((err: Error) => ctx.log.error({ txn, line: data.line, err: err.message }, `bagging deadline of ${data.line} in ${txn} failed`));
      }, wait);
      set.add(timer);
    };

    /** The deadline a basket input starts, if any. */
    const deadlineOf = (ev: VerdictInput, inputs: VerdictInput[]): DeadlineData | undefined => {
      if (ev.type !== 'ItemAddedToBasket' && ev.type !== 'QuantityChanged' && ev.type !== 'ItemRemovedFromBasket') return undefined;
      const { line } = ev.data;
      const added = inputs.find((i) => i.type === 'ItemAddedToBasket' && i.data.line === line);
      if (added?.type !== 'ItemAddedToBasket' || !added.data.bagging) return undefined;
      if (ev.type === 'ItemAddedToBasket') return { line, ref: ev.id, mode: 'bag' };
      if (ev.type === 'QuantityChanged') return { line, ref: ev.id, mode: ev.data.quantity > ev.data.from ? 'bag' : 'unbag' };
      return { line, ref: ev.id, mode: 'unbag' };
    };

    const addTo = async (tx: Tx, txn: string, input: VerdictInput): Promise<boolean> => (await projector.add(tx, txn, input)).applied;

    const onBasket = async (tx: Tx, ev: DomainEvent): Promise<string | undefined> => {
      const txn = ev.txn;
      if (!txn || !isBasketInput(ev)) return undefined;
      const input = inputOf(ev);
      if (ev.type === 'TransactionStarted') {
        await kv.set(tx, 'current', { txn, at: ev.at });
        await addTo(tx, txn, input);
        // a scale already missing when the transaction started
        for (const scale of (await kv.get<string[]>(tx, 'down')) ?? []) {
          await addTo(tx, txn, { id: `down:${txn}:${scale}`, type: 'DeviceStatus', source: scale, seq: 0, at: ev.at, data: { state: 'disconnected' }, txn });
        }
        // Weights that arrived before the transaction was known.
        const early = await tx.all<{ body: string }>('SELECT body FROM wc_weights ORDER BY epoch, mono');
        for (const w of early.map((r) => JSON.parse(r.body) as VerdictInput)) {
          if (compareBoardTime(w.at, ev.at) >= 0) await addTo(tx, txn, w);
        }
        return txn;
      }
      if (!(await addTo(tx, txn, input))) return txn;
      if (ev.type === 'TransactionCompleted' || ev.type === 'TransactionCancelled') {
        await projector.close(tx, txn);
        const cur = await kv.get<{ txn: string }>(tx, 'current');
        if (cur?.txn === txn) await kv.set(tx, 'current', undefined);
        await projector.prune(tx, keep);
        tx.afterCommit(() => forget(txn));
        return txn;
      }
      const deadline = deadlineOf(input, await projector.inputs(tx, txn));
      if (deadline) tx.afterCommit(() => schedule(txn, input, deadline));
      return txn;
    };

    /** A bagging scale's DeviceStatus: the current transaction's verdicts stop (or resume) with it. */
    const onScaleStatus = async (tx: Tx, ev: DomainEvent<'DeviceStatus'>): Promise<string | undefined> => {
      const { state } = ev.data;
      if (state === 'starting') return undefined;
      const down = new Set((await kv.get<string[]>(tx, 'down')) ?? []);
      const was = down.has(ev.source);
      if (state === 'disconnected' || state === 'failed') down.add(ev.source);
      else down.delete(ev.source);
      if (was === down.has(ev.source)) return undefined;
      await kv.set(tx, 'down', down.size ? [...down] : undefined);
      const cur = await kv.get<{ txn: string; at: BoardTime }>(tx, 'current');
      if (!cur) return undefined;
      await addTo(tx, cur.txn, inputOf(ev));
      return cur.txn;
    };

    const onWeight = async (tx: Tx, ev: DomainEvent<'WeightHasChanged'>): Promise<string | undefined> => {
      const input = inputOf(ev);
      await tx.run('INSERT OR IGNORE INTO wc_weights (id, epoch, mono, body) VALUES (?,?,?,?)', [
        ev.id,
        ev.at.epoch,
        ev.at.mono.padStart(20, '0'),
        JSON.stringify(input),
      ]);
      if (++weightsSinceTrim >= TRIM_WEIGHTS_EVERY) {
        await tx.run('DELETE FROM wc_weights WHERE id NOT IN (SELECT id FROM wc_weights ORDER BY epoch DESC, mono DESC LIMIT ?)', [KEEP_WEIGHTS]);
        weightsSinceTrim = 0;
      }
      const cur = await kv.get<{ txn: string; at: BoardTime }>(tx, 'current');
      if (!cur || compareBoardTime(ev.at, cur.at) < 0) return undefined;
      await addTo(tx, cur.txn, input);
      return cur.txn;
    };

    return {
      sources: ['basket', 'attendant', ...scales],
      keyOf: () => 'lane',
      async migrate(store) {
        await store.exec(kv.ddl() + DDL);
        await projector.migrate(store);
      },
      async start() {
        // Deadlines of open transactions run again from their board time.
        await ctx.tx(async (tx) => {
          for (const txn of await projector.openParts(tx)) {
            const inputs = await projector.inputs(tx, txn);
            const done = new Set(inputs.flatMap((i) => (i.type === DEADLINE ? [i.data.ref] : [])));
            for (const i of inputs) {
              const d = deadlineOf(i, inputs);
              if (d && !done.has(d.ref)) tx.afterCommit(() => schedule(txn, i, d));
            }
          }
          const cur = await kv.get<{ txn: string }>(tx, 'current');
          await publish(tx, cur?.txn);
        });
      },
      async stop() {
        stopping = true;
        for (const txn of [...timers.keys()]) forget(txn);
      },
      async onEvent(ev, tx) {
        let txn: string | undefined;
        if (ev.source === 'basket') txn = await onBasket(tx, ev);
        else if (ev.source === 'attendant') {
          if (ev.type !== 'OverrideApplied' || !ev.txn || ev.data.kind !== 'weight') return;
          txn = ev.txn;
          await addTo(tx, txn, inputOf(ev));
        } else if (ev.type === 'WeightHasChanged') txn = await onWeight(tx, ev);
        else if (ev.type === 'DeviceStatus') txn = await onScaleStatus(tx, ev);
        else return;
        if (!txn) return;
        const cur = await kv.get<{ txn: string }>(tx, 'current');
        await publish(tx, cur?.txn);
      },
      status: () => ({ timers: [...timers.values()].reduce((a, t) => a + t.size, 0) }),
    };
  },
};
