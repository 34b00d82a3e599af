import { CommandError, commandSpecs, type ServiceDefinition, type ServiceLogic } from '../../runtime/runtime.js';
import { JOURNAL_COMMANDS, SHOW_MAX_LINES, type OverrideEntry, type Receipt, type ReceiptPage } from './commands.js';
import type { Tx } from '../../store/store.js';
import type { DomainEvent } from '../../events/schemas/index.js';
import { BASKET_LIFECYCLE } from '../../events/schemas/checkout.js';
import type { JournalSettings } from './settings.js';

const DDL = `
CREATE TABLE IF NOT EXISTS journal_events (
  txn TEXT NOT NULL, id TEXT NOT NULL, source TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (txn, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS journal_events_n ON journal_events (txn, n);
CREATE TABLE IF NOT EXISTS journal_receipts (txn TEXT PRIMARY KEY, n INTEGER NOT NULL UNIQUE, status TEXT NOT NULL, total INTEGER NOT NULL, closed TEXT NOT NULL, doc TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS journal_receipt_events (txn TEXT PRIMARY KEY, revision INTEGER NOT NULL, id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS journal_overrides (id TEXT PRIMARY KEY, n INTEGER NOT NULL UNIQUE, txn TEXT, time TEXT NOT NULL, entry TEXT NOT NULL) WITHOUT ROWID;`;

export { SHOW_MAX_LINES, type Receipt, type ReceiptPage } from './commands.js';

function receiptPage(r: Receipt, from: number, max: number): ReceiptPage {
  return {
    ...r,
    lines: r.lines.slice(from, from + max),
    removed: r.removed.slice(from, from + max),
    page: { from, lineCount: r.lines.length, removedCount: r.removed.length },
  };
}

/** The whole receipt, page by page (`fetch(from)` asks `journal/Show` for the page starting at line `from`). */
export async function wholeReceipt(fetch: (from: number) => Promise<ReceiptPage>): Promise<Receipt> {
  const first = await fetch(0);
  const { page, ...receipt } = first;
  for (let from = Math.max(first.lines.length, first.removed.length); from < Math.max(page.lineCount, page.removedCount);) {
    const next = await fetch(from);
    if (next.lines.length === 0 && next.removed.length === 0) break;
    receipt.lines.push(...next.lines);
    receipt.removed.push(...next.removed);
    from += Math.max(next.lines.length, next.removed.length);
  }
  return receipt;
}

/** Fold a transaction's events (in the order they were recorded per source) into its receipt. */
export function buildReceipt(txn: string, events: DomainEvent[]): Receipt {
  const r: Receipt = { txn, status: 'open', lines: [], removed: [], total: 0, payments: [], interventions: [], overrides: [] };
  const lines = new Map<string, Receipt['lines'][number]>();
  const interventions = new Map<string, Receipt['interventions'][number]>();
  for (const ev of events) {
    switch (ev.type) {
      case 'TransactionStarted':
        r.started = ev.time;
        r.lane = ev.data.lane;
        r.currency = ev.data.currency;
        break;
      case 'ItemAddedToBasket':
        lines.set(ev.data.line, {
          line: ev.data.line,
          gtin: ev.data.gtin,
          name: ev.data.name,
          unit: ev.data.unit,
          quantity: ev.data.quantity,
          unitPrice: ev.data.unitPrice,
          price: ev.data.price,
          ...(ev.data.grams !== undefined ? { grams: ev.data.grams } : {}),
          ...(ev.data.label ? { label: ev.data.label } : {}),
        });
        break;
      case 'QuantityChanged': {
        const l = lines.get(ev.data.line);
        if (l) Object.assign(l, { quantity: ev.data.quantity, price: ev.data.price });
        break;
      }
      case 'ItemRemovedFromBasket': {
        const l = lines.get(ev.data.line);
        if (l) {
          lines.delete(ev.data.line);
          r.removed.push({ line: ev.data.line, name: l.name, reason: ev.data.reason, ...(ev.data.by ? { by: ev.data.by } : {}) });
        }
        break;
      }
      case 'PaymentAuthorized':
        r.payments.push({ payment: ev.data.payment, amount: ev.data.amount, outcome: 'authorized', authCode: ev.data.authCode, method: ev.data.method });
        break;
      case 'PaymentDeclined':
        r.payments.push({ payment: ev.data.payment, amount: ev.data.amount, outcome: 'declined', reason: ev.data.reason });
        break;
      case 'InterventionRequired':
        interventions.set(ev.data.intervention, { intervention: ev.data.intervention, kind: ev.data.kind, reason: ev.data.reason, raised: ev.time });
        break;
      case 'InterventionCleared': {
        const i = interventions.get(ev.data.intervention);
        if (i) Object.assign(i, { cleared: ev.time, resolution: ev.data.resolution, ...(ev.data.by ? { by: ev.data.by } : {}) });
        break;
      }
      case 'OverrideApplied':
        r.overrides.push({
          intervention: ev.data.intervention,
          kind: ev.data.kind,
          action: ev.data.action,
          by: ev.data.by,
          method: ev.data.method,
          ...(ev.data.reason ? { reason: ev.data.reason } : {}),
          time: ev.time,
        });
        break;
      case 'TransactionCompleted':
        r.status = 'completed';
        r.closed = ev.time;
        break;
      case 'TransactionCancelled':
        r.status = 'cancelled';
        r.closed = ev.time;
        r.cancelReason = ev.data.reason;
        break;
      default:
        break;
    }
  }
  r.lines = [...lines.values()];
  r.total = r.lines.reduce((a, l) => a + l.price, 0);
  r.interventions = [...interventions.values()];
  return r;
}

const RECORDED = new Set([...BASKET_LIFECYCLE, 'PaymentAuthorized', 'PaymentDeclined', 'InterventionRequired', 'InterventionCleared', 'OverrideApplied']);

/**
 * journal: every completed or cancelled transaction as a receipt document
 * (items, totals, payments, interventions, overrides), and every override or
 * refused PIN with who, when and why. Receipts are rebuilt when a late event
 * of a closed transaction arrives, so they end complete whatever the order;
 * a rebuild that changes the receipt is announced as ReceiptAmended.
 */
export const journal: ServiceDefinition<JournalSettings> = {
  name: 'journal',
  /** Sent by the touch UI: the receipt screen (of the transaction that just ended only). */
  ui: ['Show'],
  create(ctx): ServiceLogic {
    const keep = ctx.settings.keepReceipts ?? 10_000;

    // the events this service recorded as they arrived (validated then)
    const eventsOf = async (tx: Tx, txn: string): Promise<DomainEvent[]> =>
      (await tx.all<{ body: string }>('SELECT body FROM journal_events WHERE txn = ? ORDER BY n', [txn])).map((r) => JSON.parse(r.body) as DomainEvent);

    const record = async (tx: Tx, ev: DomainEvent): Promise<void> => {
      if (!ev.txn) return;
      await tx.run(
        'INSERT OR IGNORE INTO journal_events (txn, id, source, type, body, n) VALUES (?,?,?,?,?, (SELECT coalesce(max(n), 0) + 1 FROM journal_events))',
        [ev.txn, ev.id, ev.source, ev.type, JSON.stringify(ev)],
      );
      const existing = await tx.get<{ doc: string }>('SELECT doc FROM journal_receipts WHERE txn = ?', [ev.txn]);
      const closing = ev.type === 'TransactionCompleted' || ev.type === 'TransactionCancelled';
      if (!existing && !closing) return;
      const receipt = buildReceipt(ev.txn, await eventsOf(tx, ev.txn));
      if (receipt.status === 'open') return;
      const doc = JSON.stringify(receipt);
      if (!closing && existing?.doc === doc) return;
      await tx.run(
        'INSERT INTO journal_receipts (txn, n, status, total, closed, doc) VALUES (?, (SELECT coalesce(max(n), 0) + 1 FROM journal_receipts), ?, ?, ?, ?) ON CONFLICT(txn) DO UPDATE SET status = excluded.status, total = excluded.total, doc = excluded.doc',
        [ev.txn, receipt.status, receipt.total, receipt.closed ?? ev.time, doc],
      );
      const summary = {
        status: receipt.status as 'completed' | 'cancelled',
        total: receipt.total,
        currency: receipt.currency ?? ctx.config.lane.currency,
        items: receipt.lines.reduce((a, l) => a + l.quantity, 0),
      };
      const meta = { txn: ev.txn, ...(ev.corr ? { corr: ev.corr } : {}), cause: ev.id };
      if (closing) {
        const recorded = await ctx.emit(tx, 'ReceiptRecorded', summary, meta);
        await tx.run('INSERT OR REPLACE INTO journal_receipt_events (txn, revision, id) VALUES (?, 1, ?)', [ev.txn, recorded.id]);
        const old = await tx.all<{ txn: string }>('SELECT txn FROM journal_receipts ORDER BY n DESC LIMIT -1 OFFSET ?', [keep]);
        for (const o of old) {
          await tx.run('DELETE FROM journal_receipts WHERE txn = ?', [o.txn]);
          await tx.run('DELETE FROM journal_events WHERE txn = ?', [o.txn]);
          await tx.run('DELETE FROM journal_receipt_events WHERE txn = ?', [o.txn]);
        }
        return;
      }
      // A late event changed a recorded receipt: whoever took the receipt (the store's ERP
      // through the uplink) is told which one replaces it. A receipt recorded before the
      // journal kept these ids is rebuilt quietly, as it was then.
      const last = await tx.get<{ revision: number; id: string }>('SELECT revision, id FROM journal_receipt_events WHERE txn = ?', [ev.txn]);
      if (!last) return;
      const amended = await ctx.emit(tx, 'ReceiptAmended', { ...summary, revision: last.revision + 1, supersedes: last.id }, meta);
      await tx.run('UPDATE journal_receipt_events SET revision = ?, id = ? WHERE txn = ?', [last.revision + 1, amended.id, ev.txn]);
    };

    const overrideEntry = async (tx: Tx, ev: DomainEvent<'OverrideApplied' | 'OverrideRefused' | 'AttendantModeChanged'>): Promise<void> => {
      await tx.run(
        'INSERT OR IGNORE INTO journal_overrides (id, n, txn, time, entry) VALUES (?, (SELECT coalesce(max(n), 0) + 1 FROM journal_overrides), ?, ?, ?)',
        [ev.id, ev.txn ?? null, ev.time, JSON.stringify({ type: ev.type, txn: ev.txn ?? null, time: ev.time, ...ev.data })],
      );
    };

    /** The receipt of `args.txn`, recorded or rebuilt from its events; the UI sees only the newest. */
    const showReceipt = async (args: { txn: string }, tx: Tx, by: string | undefined): Promise<Receipt> => {
      const r = await tx.get<{ doc: string; n: number }>('SELECT doc, n FROM journal_receipts WHERE txn = ?', [args.txn]);
      // The receipt screen shows the transaction that just ended (recorded, or still being
      // recorded), never older ones with their authorization codes.
      if (r && by === 'ui') {
        const newest = await tx.get<{ n: number }>('SELECT max(n) AS n FROM journal_receipts');
        if (newest?.n !== r.n) throw new CommandError(`the UI shows only the receipt of the transaction that just ended, not ${args.txn}`);
      }
      if (r) return JSON.parse(r.doc) as Receipt;
      const events = await eventsOf(tx, args.txn);
      if (events.length === 0) throw new CommandError(`no transaction ${args.txn} in the journal (lanectl journal lists the recent ones)`, 'not-found');
      return buildReceipt(args.txn, events);
    };

    return {
      sources: ['basket', 'attendant', 'payment'],
      async migrate(store) {
        await store.exec(DDL);
      },
      async onEvent(ev, tx) {
        if (ev.type === 'OverrideApplied' || ev.type === 'OverrideRefused' || ev.type === 'AttendantModeChanged') await overrideEntry(tx, ev);
        if (RECORDED.has(ev.type)) await record(tx, ev);
      },
      commands: commandSpecs(JOURNAL_COMMANDS, {
        List: {
          async handle(args, tx) {
            return tx.all<{ txn: string; status: string; total: number; currency: string | null; closed: string }>(
              "SELECT txn, status, total, json_extract(doc, '$.currency') AS currency, closed FROM journal_receipts ORDER BY n DESC LIMIT ?",
              [args.limit ?? 20],
            );
          },
        },
        Show: {
          async handle(args, tx, m) {
            return receiptPage(await showReceipt(args, tx, m.by), args.from ?? 0, args.max ?? SHOW_MAX_LINES);
          },
        },
        Overrides: {
          async handle(args, tx) {
            const rows = await tx.all<{ entry: string }>(`SELECT entry FROM journal_overrides ${args.txn ? 'WHERE txn = ?' : ''} ORDER BY n DESC LIMIT ?`, [
              ...(args.txn ? [args.txn] : []),
              args.limit ?? 50,
            ]);
            return rows.map((r) => JSON.parse(r.entry) as OverrideEntry);
          },
        },
      }),
    };
  },
};
