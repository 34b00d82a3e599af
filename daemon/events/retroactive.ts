/**
 * The retroactive projector (the design "Retroactive events"): a service whose
 * output depends on the order of inputs from several sources keeps, per
 * partition (a transaction), the inputs sorted by board order, recomputes its
 * outputs from scratch on every input, diffs them with what it already
 * published, and publishes compensations (`…Retracted {retracts}`) for outputs
 * that should not have been sent, then the new ones. Inputs, published
 * outputs and the events commit in the caller's transaction (outbox).
 *
 * Outputs are named by a stable `key` that the projection derives from its
 * inputs (e.g. `w:<weight event id>`): the same key with the same type and
 * data is the same output; anything else is retracted and published anew.
 *
 * Callers serialize per partition (KeyedExecutor); partitions run in parallel.
 */
import type { Store, Tx } from '../store/store.js';
import { TxCache } from '../store/kv.js';
import type { BoardTime } from './clock.js';
import type { Envelope } from './envelope.js';
import type { DomainEvent, TypedData } from './schemas/index.js';
import type { EmitMeta } from './outbox.js';

/** Where an input comes from and when; synthetic inputs (timers) use their own source name. */
export interface InputMeta {
  id: string;
  source: string;
  seq: number;
  at: BoardTime;
  txn?: string;
  corr?: string;
  cause?: string;
}

/** One input as the projection sees it: `E` is the union of `{ type, data }` it takes. */
export type ProjectorInput<E extends { type: string; data: unknown } = { type: string; data: unknown }> = InputMeta & E;

/** The `{ type, data }` of an output: by default an event of the event map. */
export interface Output {
  type: string;
  data: unknown;
}

/** An output the projection wants published. `cause` is the input it follows from. */
export type ProjectedOutput<O extends Output = TypedData> = O & { key: string; cause?: string };

/** An output published and not retracted. */
export type LiveOutput<O extends Output = TypedData> = ProjectedOutput<O> & { eventId: string };

/** The data of a compensation: the output it retracts. */
export interface Retraction {
  retracts: string;
  key: string;
  type: string;
}

export interface ApplyResult<O extends Output = TypedData> {
  /** False when the input was already recorded (a duplicate) or the partition is closed. */
  applied: boolean;
  retracted: Array<LiveOutput<O>>;
  published: Envelope[];
}

export interface RetroactiveOptions<I extends ProjectorInput = ProjectorInput, O extends Output = TypedData> {
  /** Namespace of this projector's rows in the service's store. */
  name: string;
  /** Pure: the outputs of the partition's inputs, given in board order. */
  project(inputs: I[], partition: string): Array<ProjectedOutput<O>>;
  /** Emit an output. */
  emit(tx: Tx, out: O, meta: EmitMeta): Promise<Envelope>;
  /** Emit the compensation of an output published before. */
  retract(tx: Tx, data: Retraction, meta: EmitMeta): Promise<Envelope>;
  /** txn/corr of the partition's events (default: txn = partition). */
  meta?(partition: string, inputs: I[]): Pick<EmitMeta, 'txn' | 'corr'>;
}

export const RETROACTIVE_DDL = `
CREATE TABLE IF NOT EXISTS retro_inputs (
  name TEXT NOT NULL, part TEXT NOT NULL,
  epoch INTEGER NOT NULL, mono TEXT NOT NULL, source TEXT NOT NULL, seq INTEGER NOT NULL,
  id TEXT NOT NULL, body TEXT NOT NULL,
  PRIMARY KEY (name, part, epoch, mono, source, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS retro_inputs_id ON retro_inputs (name, part, id);
CREATE TABLE IF NOT EXISTS retro_outputs (
  name TEXT NOT NULL, part TEXT NOT NULL, n INTEGER NOT NULL,
  okey TEXT NOT NULL, event_id TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, cause TEXT,
  live INTEGER NOT NULL, retracted_by TEXT,
  PRIMARY KEY (name, part, n)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS retro_parts (
  name TEXT NOT NULL, part TEXT NOT NULL, closed INTEGER NOT NULL DEFAULT 0,
  -- creation order, for pruning the oldest
  created INTEGER NOT NULL,
  PRIMARY KEY (name, part)
) WITHOUT ROWID;`;

/** Board order: (at.epoch, at.mono), ties by source then seq, so every replica sorts alike. */
export function compareInputs(a: ProjectorInput, b: ProjectorInput): number {
  if (a.at.epoch !== b.at.epoch) return a.at.epoch - b.at.epoch;
  const am = BigInt(a.at.mono);
  const bm = BigInt(b.at.mono);
  if (am !== bm) return am < bm ? -1 : 1;
  if (a.source !== b.source) return a.source < b.source ? -1 : 1;
  return a.seq - b.seq;
}

/** mono is a decimal string of up to 20 digits: padded, it sorts as text. */
const padMono = (mono: string): string => mono.padStart(20, '0');

/** JSON with sorted keys: two equal outputs compare equal whatever their key order. */
export function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

interface PartState<I, O extends Output> {
  inputs: I[];
  ids: Set<string>;
  live: Map<string, { out: LiveOutput<O>; n: number; canon: string }>;
  nextN: number;
  closed: boolean;
  exists: boolean;
}

/** `I`: the inputs this projector is given (its rows hold only those, so they read back as `I`). */
export class RetroactiveProjector<I extends ProjectorInput = ProjectorInput, O extends Output = TypedData> {
  /** Partitions' state as committed, and as the transaction in progress wrote it (visible to its own reads). */
  private readonly parts = new TxCache<string, PartState<I, O>>();

  constructor(private readonly opts: RetroactiveOptions<I, O>) {}

  async migrate(store: Store): Promise<void> {
    await store.exec(RETROACTIVE_DDL);
  }

  private async load(tx: Tx, part: string): Promise<PartState<I, O>> {
    const hit = this.parts.get(tx, part);
    if (hit) return hit;
    const { name } = this.opts;
    const rows = await tx.all<{ body: string }>('SELECT body FROM retro_inputs WHERE name = ? AND part = ? ORDER BY epoch, mono, source, seq', [name, part]);
    const inputs = rows.map((r) => JSON.parse(r.body) as I);
    const outs = await tx.all<{ n: number; okey: string; event_id: string; type: string; data: string; cause: string | null }>(
      'SELECT n, okey, event_id, type, data, cause FROM retro_outputs WHERE name = ? AND part = ? AND live = 1 ORDER BY n',
      [name, part],
    );
    const live = new Map<string, { out: LiveOutput<O>; n: number; canon: string }>();
    for (const o of outs) {
      const data = JSON.parse(o.data) as unknown;
      // a row this projector wrote from one of its outputs: it reads back as one
      const out = { type: o.type, data } as O;
      live.set(o.okey, { n: o.n, canon: canonical(data), out: { ...out, key: o.okey, eventId: o.event_id, ...(o.cause ? { cause: o.cause } : {}) } });
    }
    const max = await tx.get<{ m: number | null }>('SELECT max(n) AS m FROM retro_outputs WHERE name = ? AND part = ?', [name, part]);
    const p = await tx.get<{ closed: number }>('SELECT closed FROM retro_parts WHERE name = ? AND part = ?', [name, part]);
    return { inputs, ids: new Set(inputs.map((i) => i.id)), live, nextN: (max?.m ?? 0) + 1, closed: p?.closed === 1, exists: p !== undefined };
  }

  /**
   * Record one input of `part` (a duplicate id is a no-op), recompute, and emit
   * retractions then new outputs into `tx`.
   */
  async add(tx: Tx, part: string, input: I): Promise<ApplyResult<O>> {
    const state = await this.load(tx, part);
    if (state.closed || state.ids.has(input.id)) return { applied: false, retracted: [], published: [] };
    const { name } = this.opts;
    const next: PartState<I, O> = { ...state, inputs: [...state.inputs], ids: new Set(state.ids), live: new Map(state.live) };
    if (!state.exists) {
      await tx.run(
        'INSERT INTO retro_parts (name, part, closed, created) VALUES (?, ?, 0, (SELECT coalesce(max(created), 0) + 1 FROM retro_parts WHERE name = ?))',
        [name, part, name],
      );
      next.exists = true;
    }
    await tx.run('INSERT INTO retro_inputs (name, part, epoch, mono, source, seq, id, body) VALUES (?,?,?,?,?,?,?,?)', [
      name,
      part,
      input.at.epoch,
      padMono(input.at.mono),
      input.source,
      input.seq,
      input.id,
      JSON.stringify(input),
    ]);
    // Insert in place: inputs mostly arrive in order, so search from the end.
    let i = next.inputs.length;
    while (i > 0 && compareInputs(next.inputs[i - 1], input) > 0) i--;
    next.inputs.splice(i, 0, input);
    next.ids.add(input.id);
    const result = await this.reconcile(tx, part, next, input.id);
    this.parts.write(tx, part, next);
    return { applied: true, ...result };
  }

  /** Recompute without a new input (e.g. after the projection's settings changed). */
  async refresh(tx: Tx, part: string): Promise<ApplyResult<O>> {
    const state = await this.load(tx, part);
    if (state.closed) return { applied: false, retracted: [], published: [] };
    const next: PartState<I, O> = { ...state, inputs: [...state.inputs], live: new Map(state.live) };
    const result = await this.reconcile(tx, part, next, undefined);
    this.parts.write(tx, part, next);
    return { applied: true, ...result };
  }

  private async reconcile(tx: Tx, part: string, st: PartState<I, O>, trigger: string | undefined): Promise<Omit<ApplyResult<O>, 'applied'>> {
    const { name } = this.opts;
    const wanted = this.opts.project(st.inputs, part);
    const wantedByKey = new Map<string, { out: ProjectedOutput<O>; canon: string }>();
    for (const out of wanted) {
      if (wantedByKey.has(out.key)) throw new Error(`projector ${name}: two outputs with key ${out.key} in ${part}`);
      wantedByKey.set(out.key, { out, canon: canonical(out.data) });
    }
    const meta = { txn: part, ...(this.opts.meta?.(part, st.inputs) ?? {}) };
    const retracted: Array<LiveOutput<O>> = [];
    const published: Envelope[] = [];
    for (const { out: live, n, canon } of [...st.live.values()].sort((a, b) => a.n - b.n)) {
      const w = wantedByKey.get(live.key);
      if (w && w.out.type === live.type && w.canon === canon) continue;
      const ev = await this.opts.retract(tx, { retracts: live.eventId, key: live.key, type: live.type }, { ...meta, ...(trigger ? { cause: trigger } : {}) });
      await tx.run('UPDATE retro_outputs SET live = 0, retracted_by = ? WHERE name = ? AND part = ? AND n = ?', [ev.id, name, part, n]);
      st.live.delete(live.key);
      retracted.push(live);
      published.push(ev);
    }
    for (const out of wanted) {
      if (st.live.has(out.key)) continue;
      const cause = out.cause ?? trigger;
      const ev = await this.opts.emit(tx, out, { ...meta, ...(cause ? { cause } : {}) });
      const n = st.nextN++;
      const canon = wantedByKey.get(out.key)!.canon;
      await tx.run('INSERT INTO retro_outputs (name, part, n, okey, event_id, type, data, cause, live) VALUES (?,?,?,?,?,?,?,?,1)', [
        name,
        part,
        n,
        out.key,
        ev.id,
        out.type,
        JSON.stringify(out.data),
        cause ?? null,
      ]);
      st.live.set(out.key, { out: { ...out, eventId: ev.id }, n, canon });
      published.push(ev);
    }
    return { retracted, published };
  }

  /** Inputs of a partition in board order. */
  async inputs(tx: Tx, part: string): Promise<I[]> {
    return [...(await this.load(tx, part)).inputs];
  }

  /** Outputs published and not retracted, in publishing order. */
  async live(tx: Tx, part: string): Promise<Array<LiveOutput<O>>> {
    const st = await this.load(tx, part);
    return [...st.live.values()].sort((a, b) => a.n - b.n).map((l) => l.out);
  }

  /** Stop taking inputs for a partition (transaction over); its rows stay until pruned. */
  async close(tx: Tx, part: string): Promise<void> {
    const { name } = this.opts;
    await tx.run(
      'INSERT INTO retro_parts (name, part, closed, created) VALUES (?, ?, 1, (SELECT coalesce(max(created), 0) + 1 FROM retro_parts WHERE name = ?)) ON CONFLICT(name, part) DO UPDATE SET closed = 1',
      [name, part, name],
    );
    this.parts.write(tx, part);
  }

  async isClosed(tx: Tx, part: string): Promise<boolean> {
    return (await this.load(tx, part)).closed;
  }

  /** Partitions not closed, oldest first. */
  async openParts(tx: Tx): Promise<string[]> {
    return (await tx.all<{ part: string }>('SELECT part FROM retro_parts WHERE name = ? AND closed = 0 ORDER BY created', [this.opts.name])).map((r) => r.part);
  }

  /** Keep the newest `keep` closed partitions, drop the rest. */
  async prune(tx: Tx, keep: number): Promise<number> {
    const { name } = this.opts;
    const old = await tx.all<{ part: string }>('SELECT part FROM retro_parts WHERE name = ? AND closed = 1 ORDER BY created DESC LIMIT -1 OFFSET ?', [
      name,
      keep,
    ]);
    for (const { part } of old) {
      await tx.run('DELETE FROM retro_inputs WHERE name = ? AND part = ?', [name, part]);
      await tx.run('DELETE FROM retro_outputs WHERE name = ? AND part = ?', [name, part]);
      await tx.run('DELETE FROM retro_parts WHERE name = ? AND part = ?', [name, part]);
    }
    return old.length;
  }
}

/** The projector input of an event of one type, per type of a union. */
export type InputOf<E extends DomainEvent> = E extends DomainEvent ? ProjectorInput<{ type: E['type']; data: E['data'] }> : never;

/** An event as a projector input. */
export function inputOf<E extends DomainEvent>(ev: E): InputOf<E> {
  const input: ProjectorInput = {
    id: ev.id,
    type: ev.type,
    source: ev.source,
    seq: ev.seq,
    at: ev.at,
    data: ev.data,
    ...(ev.txn !== undefined ? { txn: ev.txn } : {}),
    ...(ev.corr !== undefined ? { corr: ev.corr } : {}),
    ...(ev.cause !== undefined ? { cause: ev.cause } : {}),
  };
  // the same type and data as the event, per member of E
  return input as InputOf<E>;
}
