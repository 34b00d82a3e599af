import { Type, type Static } from '@sinclair/typebox';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { Store, type StoreCorruptError } from '../../store/store.js';
import type { Logger } from '../../core/log.js';
import type { Timers } from '../../events/clock.js';
import { PaymentAborted, type PaymentRequest, type PaymentTerminal, type TerminalOutcome } from './terminal.js';

export type SimOutcome = 'approve' | 'decline' | 'timeout' | 'cancel';
export const SIM_OUTCOMES: SimOutcome[] = ['approve', 'decline', 'timeout', 'cancel'];

export interface SimulatedTerminalOptions {
  stateDir: string;
  log: Logger;
  /** How long the "shopper" takes at the terminal. */
  delayMs?: number;
  /** Outcomes of the next payments, in order (queued once, on the first start). */
  script?: SimOutcome[];
  /** Outcome when the queue is empty. */
  fallback?: SimOutcome;
  /** `payment-terminal.db` was found corrupt and moved aside. */
  onCorrupt?(err: StoreCorruptError): void;
  /** The delay's timers (the payment service's); alone, the process's, which keep it alive while a payment waits. */
  timers?: Timers;
}

const DDL = `
CREATE TABLE IF NOT EXISTS sim_ledger (
  key TEXT PRIMARY KEY, amount INTEGER NOT NULL, currency TEXT NOT NULL, reference TEXT NOT NULL, planned TEXT NOT NULL,
  state TEXT NOT NULL, auth_code TEXT, charged INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL, finished TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sim_queue (n INTEGER PRIMARY KEY AUTOINCREMENT, outcome TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sim_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;`;

/** One charge in the simulated terminal's ledger (SimLedger). */
export const SimLedgerEntry = Type.Object({
  key: Type.String(),
  amount: Type.Integer(),
  currency: Type.String(),
  reference: Type.String(),
  planned: Type.String(),
  state: Type.String(),
  charged: Type.Integer({ minimum: 0 }),
  created: Type.String(),
  finished: Type.Union([Type.String(), Type.Null()]),
});

interface LedgerRow {
  key: string;
  planned: SimOutcome;
  state: 'pending' | 'approved' | 'declined' | 'cancelled';
  auth_code: string | null;
}

function outcomeOf(r: LedgerRow): TerminalOutcome | undefined {
  if (r.state === 'approved') return { outcome: 'approved', authCode: r.auth_code ?? '', method: 'card (simulated)' };
  if (r.state === 'declined') return { outcome: 'declined', detail: 'declined by the card issuer (simulated)' };
  if (r.state === 'cancelled') return { outcome: 'cancelled' };
  return undefined;
}

/**
 * A card terminal twin with its own memory (`payment-terminal.db`, as a real
 * terminal keeps its journal): approve, decline, time out (never answers) or
 * cancel after a delay, scripted per payment. A key it has seen is never
 * charged again; a pending key asked again after a restart finishes once.
 */
export class SimulatedTerminal implements PaymentTerminal {
  readonly name = 'simulated';
  private store: Store | undefined;
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(private readonly opts: SimulatedTerminalOptions) {}

  async start(): Promise<void> {
    this.store = await Store.open(join(this.opts.stateDir, 'payment-terminal.db'), {
      log: this.opts.log,
      ...(this.opts.onCorrupt ? { onCorrupt: (e: StoreCorruptError) => this.opts.onCorrupt?.(e) } : {}),
    });
    await this.store.exec(DDL);
    await this.store.tx(async (tx) => {
      if (await tx.get("SELECT 1 FROM sim_meta WHERE k = 'seeded'")) return;
      for (const o of this.opts.script ?? []) await tx.run('INSERT INTO sim_queue (outcome) VALUES (?)', [o]);
      await tx.run("INSERT INTO sim_meta (k, v) VALUES ('seeded', '1')");
    });
  }

  async stop(): Promise<void> {
    for (const set of this.waiters.values()) for (const w of set) w();
    await this.store?.close();
    this.store = undefined;
  }

  private get db(): Store {
    if (!this.store) throw new Error('the simulated terminal is not started');
    return this.store;
  }

  /** Queue outcomes for the next new payments. */
  async queue(outcomes: SimOutcome[]): Promise<number> {
    return this.db.tx(async (tx) => {
      for (const o of outcomes) await tx.run('INSERT INTO sim_queue (outcome) VALUES (?)', [o]);
      return (await tx.get<{ c: number }>('SELECT count(*) AS c FROM sim_queue'))!.c;
    });
  }

  /** The terminal's journal, for tests and `lanectl`. */
  ledger(): Promise<Array<Static<typeof SimLedgerEntry>>> {
    return this.db.all<Static<typeof SimLedgerEntry>>(
      'SELECT key, amount, currency, reference, planned, state, charged, created, finished FROM sim_ledger ORDER BY created',
    );
  }

  async authorize(req: PaymentRequest, signal: AbortSignal): Promise<TerminalOutcome> {
    const row = await this.db.tx(async (tx) => {
      const seen = await tx.get<LedgerRow>('SELECT key, planned, state, auth_code FROM sim_ledger WHERE key = ?', [req.key]);
      if (seen) return seen;
      const next = await tx.get<{ n: number; outcome: SimOutcome }>('SELECT n, outcome FROM sim_queue ORDER BY n LIMIT 1');
      if (next) await tx.run('DELETE FROM sim_queue WHERE n = ?', [next.n]);
      const planned = next?.outcome ?? this.opts.fallback ?? 'approve';
      await tx.run('INSERT INTO sim_ledger (key, amount, currency, reference, planned, state, created) VALUES (?,?,?,?,?,?,?)', [
        req.key,
        req.amount,
        req.currency,
        req.reference,
        planned,
        'pending',
        new Date().toISOString(),
      ]);
      return { key: req.key, planned, state: 'pending', auth_code: null } as LedgerRow;
    });
    const done = outcomeOf(row);
    if (done) return done;
    await this.wait(req.key, row.planned === 'timeout' ? undefined : (this.opts.delayMs ?? 1500), signal);
    // Aborted by the caller: the row stays pending until cancel(key) or the same key is asked again.
    if (signal.aborted) throw new PaymentAborted(`payment ${req.key} aborted`);
    const final = await this.finish(req.key, row.planned);
    if (final) return final;
    throw new PaymentAborted(`payment ${req.key} aborted`);
  }

  async cancel(key: string): Promise<TerminalOutcome> {
    const r = await this.db.tx(async (tx) => {
      await tx.run("UPDATE sim_ledger SET state = 'cancelled', finished = ? WHERE key = ? AND state = 'pending'", [new Date().toISOString(), key]);
      return tx.get<LedgerRow>('SELECT key, planned, state, auth_code FROM sim_ledger WHERE key = ?', [key]);
    });
    for (const w of this.waiters.get(key) ?? []) w();
    return r ? (outcomeOf(r) ?? { outcome: 'cancelled' }) : { outcome: 'cancelled', detail: 'unknown to the terminal' };
  }

  /** Resolve after `ms` (never when undefined), on cancel(key), or when `signal` aborts. */
  private wait(key: string, ms: number | undefined, signal: AbortSignal): Promise<void> {
    const timers = this.opts.timers ?? { setTimeout, clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout | undefined) };
    return new Promise((resolve) => {
      const set = this.waiters.get(key) ?? new Set<() => void>();
      this.waiters.set(key, set);
      const done = (): void => {
        timers.clearTimeout(timer);
        signal.removeEventListener('abort', done);
        set.delete(done);
        if (set.size === 0) this.waiters.delete(key);
        resolve();
      };
      const timer = ms === undefined ? undefined : timers.setTimeout(done, ms);
      set.add(done);
      if (signal.aborted) done();
      else signal.addEventListener('abort', done);
    });
  }

  /** The planned outcome, once: a key charges at most one time (the UPDATE only moves a pending row). */
  private async finish(key: string, planned: SimOutcome): Promise<TerminalOutcome | undefined> {
    if (!this.store) return undefined;
    return this.db.tx(async (tx) => {
      const now = new Date().toISOString();
      if (planned === 'approve') {
        const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
        await tx.run("UPDATE sim_ledger SET state = 'approved', charged = 1, auth_code = ?, finished = ? WHERE key = ? AND state = 'pending'", [
          code,
          now,
          key,
        ]);
      } else if (planned === 'decline') {
        await tx.run("UPDATE sim_ledger SET state = 'declined', finished = ? WHERE key = ? AND state = 'pending'", [now, key]);
      } else if (planned === 'cancel') {
        await tx.run("UPDATE sim_ledger SET state = 'cancelled', finished = ? WHERE key = ? AND state = 'pending'", [now, key]);
      }
      const r = await tx.get<LedgerRow>('SELECT key, planned, state, auth_code FROM sim_ledger WHERE key = ?', [key]);
      return r ? outcomeOf(r) : undefined;
    });
  }
}
