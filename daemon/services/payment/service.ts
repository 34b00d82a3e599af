import { CommandError, commandSpecs, type ServiceDefinition, type ServiceLogic } from '../../runtime/runtime.js';
import { PAYMENT_COMMANDS } from './commands.js';
import type { DomainEvent } from '../../events/schemas/index.js';
import type { Timers } from '../../events/clock.js';
import { PaymentAborted, type PaymentTerminal, type TerminalOutcome } from './terminal.js';
import { SimulatedTerminal } from './simulated.js';
import type { PaymentSettings } from './settings.js';

const DDL = `
CREATE TABLE IF NOT EXISTS payments (
  payment TEXT PRIMARY KEY, txn TEXT NOT NULL, corr TEXT, request TEXT NOT NULL, idem_key TEXT NOT NULL UNIQUE,
  amount INTEGER NOT NULL, currency TEXT NOT NULL, state TEXT NOT NULL, tries INTEGER NOT NULL DEFAULT 0,
  outcome TEXT, created TEXT NOT NULL, updated TEXT NOT NULL
) WITHOUT ROWID;`;

type PaymentState = 'requested' | 'in-flight' | 'authorized' | 'declined';

interface PaymentRow {
  payment: string;
  txn: string;
  corr: string | null;
  request: string;
  idem_key: string;
  amount: number;
  currency: string;
  state: PaymentState;
  tries: number;
  outcome: string | null;
}

/** The terminal of the lane's config; a real ECR protocol gets its kind here. */
function createTerminal(
  settings: PaymentSettings['terminal'],
  stateDir: string,
  log: import('../../core/log.js').Logger,
  onCorrupt: (err: import('../../store/store.js').StoreCorruptError) => void,
  timers: Timers,
): PaymentTerminal {
  const t = settings ?? { kind: 'simulated' as const };
  if (t.kind === 'simulated') return new SimulatedTerminal({ stateDir, log, delayMs: t.delayMs, script: t.script, fallback: t.fallback, onCorrupt, timers });
  throw new Error(`services.payment.terminal.kind ${JSON.stringify((t as { kind: unknown }).kind)} is not known (known: simulated)`);
}

/**
 * payment: a persisted state machine per payment attempt (requested ->
 * in-flight -> authorized | declined). The state is committed before the
 * terminal is asked, and the terminal is always asked with the attempt's
 * idempotency key, so a payment in flight when the daemon dies is finished
 * after the restart and never charged twice.
 */
export const payment: ServiceDefinition<PaymentSettings> = {
  name: 'payment',
  /** Sent by the touch UI: the payment screen's cancel. */
  ui: ['Cancel'],
  create(ctx): ServiceLogic {
    const timeoutMs = ctx.settings.timeoutMs ?? 60_000;
    const retryMs = ctx.settings.retryMs ?? 2000;
    const terminal = createTerminal(
      ctx.settings.terminal,
      ctx.stateDir,
      ctx.log.child({ component: 'services/payment/terminal' }),
      (e) => ctx.onCorrupt(e),
      ctx.timers,
    );
    const inflight = new Map<string, { ac: AbortController; why?: 'timeout' | 'cancelled' | 'stop' }>();
    const drives = new Set<Promise<void>>();
    /** Cancelled before its run reached the terminal. */
    const cancelled = new Set<string>();
    let stopping = false;

    const finish = async (row: PaymentRow, outcome: TerminalOutcome, why?: 'timeout' | 'cancelled' | 'stop'): Promise<void> => {
      await ctx.tx(async (tx) => {
        const now = await tx.get<{ state: PaymentState }>('SELECT state FROM payments WHERE payment = ?', [row.payment]);
        if (now?.state === 'authorized' || now?.state === 'declined') return;
        const meta = { txn: row.txn, ...(row.corr ? { corr: row.corr } : {}), cause: row.request };
        if (outcome.outcome === 'approved') {
          await ctx.emit(
            tx,
            'PaymentAuthorized',
            { payment: row.payment, amount: row.amount, currency: row.currency, terminal: terminal.name, authCode: outcome.authCode, method: outcome.method },
            meta,
          );
        } else {
          const reason = outcome.outcome === 'declined' ? 'declined' : why === 'timeout' ? 'timeout' : 'cancelled';
          await ctx.emit(
            tx,
            'PaymentDeclined',
            { payment: row.payment, amount: row.amount, reason, ...(outcome.detail ? { detail: outcome.detail } : {}) },
            meta,
          );
          tx.afterCommit(() =>
            ctx.log.warn(
              { payment: row.payment, txn: row.txn, amount: row.amount, currency: row.currency, reason, ...(outcome.detail ? { detail: outcome.detail } : {}) },
              `payment ${row.payment} of ${row.txn} ${reason}${outcome.detail ? `: ${outcome.detail}` : ''}`,
            ),
          );
        }
        await tx.run('UPDATE payments SET state = ?, outcome = ?, updated = ? WHERE payment = ?', [
          outcome.outcome === 'approved' ? 'authorized' : 'declined',
          JSON.stringify(outcome),
          new Date().toISOString(),
          row.payment,
        ]);
      });
    };

    /** Take one payment as far as it goes: to a final state, or until the daemon stops. */
    const run = async (id: string): Promise<void> => {
      if (stopping || inflight.has(id)) return;
      const row = await ctx.store.get<PaymentRow>('SELECT * FROM payments WHERE payment = ?', [id]);
      if (!row || row.state === 'authorized' || row.state === 'declined') return;
      // Committed before the terminal hears of it: a restart knows the payment may be running there.
      await ctx.store.run("UPDATE payments SET state = 'in-flight', tries = tries + 1, updated = ? WHERE payment = ?", [new Date().toISOString(), id]);
      const slot: { ac: AbortController; why?: 'timeout' | 'cancelled' | 'stop' } = { ac: new AbortController() };
      inflight.set(id, slot);
      if (cancelled.delete(id)) {
        slot.why = 'cancelled';
        slot.ac.abort();
      }
      const timer = ctx.timers.setTimeout(() => {
        slot.why ??= 'timeout';
        slot.ac.abort();
      }, timeoutMs);
      let outcome: TerminalOutcome | undefined;
      try {
        outcome = await terminal.authorize({ key: row.idem_key, amount: row.amount, currency: row.currency, reference: row.txn }, slot.ac.signal);
      } catch (err) {
        if (!(err instanceof PaymentAborted)) {
          ctx.log.warn({ payment: id, err: (err as Error).message }, `terminal did not answer for ${id}; asking again with the same key in ${retryMs} ms`);
          inflight.delete(id);
          ctx.timers.clearTimeout(timer);
          if (!stopping) ctx.timers.setTimeout(() => kick(id), retryMs);
          return;
        }
      } finally {
        ctx.timers.clearTimeout(timer);
      }
      try {
        if (!outcome) {
          if (slot.why === 'stop') return; // still in flight: the next start asks again
          outcome = await terminal.cancel(row.idem_key);
        }
        await finish(row, outcome, slot.why);
      } finally {
        inflight.delete(id);
      }
    };

    const kick = (id: string): void => {
      const p = ctx
        .runKeyed(`payment:${id}`, () => run(id))
        .catch((err: Error) => {
          ctx.log.error({ payment: id, err: err.message }, `payment ${id} failed; retrying`);
          if (!stopping) ctx.timers.setTimeout(() => kick(id), retryMs);
        })
        .finally(() => drives.delete(p));
      drives.add(p);
    };

    const onRequested = async (ev: DomainEvent<'PaymentRequested'>, tx: import('../../store/store.js').Tx): Promise<void> => {
      const d = ev.data;
      if (!ev.txn) return;
      const now = new Date().toISOString();
      const r = await tx.run(
        'INSERT OR IGNORE INTO payments (payment, txn, corr, request, idem_key, amount, currency, state, created, updated) VALUES (?,?,?,?,?,?,?,?,?,?)',
        [d.payment, ev.txn, ev.corr ?? null, ev.id, ev.id, d.amount, d.currency, 'requested', now, now],
      );
      if (r.changes === 0) return;
      await ctx.emit(
        tx,
        'PaymentStarted',
        { payment: d.payment, amount: d.amount, currency: d.currency, terminal: terminal.name, idempotencyKey: ev.id },
        { txn: ev.txn, ...(ev.corr ? { corr: ev.corr } : {}), cause: ev.id },
      );
      tx.afterCommit(() => kick(d.payment));
    };

    return {
      sources: ['basket'],
      async migrate(store) {
        await store.exec(DDL);
      },
      async start() {
        await terminal.start();
        const open = await ctx.store.all<{ payment: string }>("SELECT payment FROM payments WHERE state IN ('requested', 'in-flight') ORDER BY created");
        for (const { payment: id } of open) {
          ctx.log.info({ payment: id }, `resuming payment ${id} after a restart`);
          kick(id);
        }
      },
      async stop() {
        stopping = true;
        for (const slot of inflight.values()) {
          slot.why = 'stop';
          slot.ac.abort();
        }
        await Promise.allSettled([...drives]);
        await terminal.stop();
      },
      async onEvent(ev, tx) {
        if (ev.type === 'PaymentRequested') await onRequested(ev, tx);
      },
      commands: commandSpecs(PAYMENT_COMMANDS, {
        /** The shopper cancelled on the screen: stop the payment at the terminal. */
        Cancel: {
          async handle(args, tx) {
            const row = args.payment
              ? await tx.get<PaymentRow>('SELECT * FROM payments WHERE payment = ?', [args.payment])
              : await tx.get<PaymentRow>("SELECT * FROM payments WHERE state IN ('requested', 'in-flight') ORDER BY created DESC LIMIT 1");
            if (!row) throw new CommandError(args.payment ? `no payment ${args.payment}` : 'no payment is in progress');
            if (row.state === 'authorized' || row.state === 'declined') throw new CommandError(`payment ${row.payment} is already ${row.state}`);
            const slot = inflight.get(row.payment);
            if (slot) {
              slot.why = 'cancelled';
              slot.ac.abort();
            } else cancelled.add(row.payment);
            return { payment: row.payment, cancelling: true };
          },
        },
        List: {
          async handle(args, tx) {
            const rows = await tx.all<PaymentRow>(
              `SELECT * FROM payments ${args.txn ? 'WHERE txn = ?' : ''} ORDER BY created DESC LIMIT 100`,
              args.txn ? [args.txn] : [],
            );
            return rows.map((r) => ({ ...r, outcome: r.outcome ? (JSON.parse(r.outcome) as unknown) : null }));
          },
        },
        /** Simulated terminal: outcomes of the next payments (approve, decline, timeout, cancel). */
        SimQueue: {
          async handle(args) {
            if (!(terminal instanceof SimulatedTerminal)) throw new CommandError(`the terminal is ${terminal.name}, not simulated`);
            return { queued: await terminal.queue(args.outcomes) };
          },
        },
        SimLedger: {
          async handle() {
            if (!(terminal instanceof SimulatedTerminal)) throw new CommandError(`the terminal is ${terminal.name}, not simulated`);
            return terminal.ledger();
          },
        },
      }),
      status: () => ({ inflight: [...inflight.keys()] }),
    };
  },
};
