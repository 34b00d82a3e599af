import type { Logger } from '../../core/log.js';
import { CommandError } from '../../events/command.js';
import { wholeReceipt, type ReceiptPage } from '../journal/service.js';
import type { LaneReceipt } from './contract.js';

const RECEIPT_EVENTS: ReadonlySet<string> = new Set(['ReceiptRecorded', 'ReceiptAmended']);

/** Does this event carry a receipt for the store: the journal's first revision of one, or an amendment? */
export const carriesReceipt = (source: string, type: string): boolean => source === 'journal' && RECEIPT_EVENTS.has(type);

/** A journal that does not answer is asked again after this long. */
const RETRY_MS = 2000;

export interface ReceiptForwarderOptions {
  ids: { storeId: string; laneId: string };
  /** The lane's currency, for a receipt that does not name one. */
  currency: string;
  log: Logger;
  /** One page of a receipt from the journal (`cmd/journal/Show`). */
  show(txn: string, from: number): Promise<ReceiptPage>;
  /** Publish the receipt to the store; `done` on its PUBACK. */
  publish(receipt: LaneReceipt, done: (err?: Error) => void): void;
  counted(result: 'sent' | 'missing'): void;
  /** A journal that does not answer is asked again after this long (default 2 s). */
  retryMs?: number;
}

/**
 * Completed receipts for the store's ERP, each on its own topic: driven by the
 * journal's ReceiptRecorded and ReceiptAmended events as the Replicator hands them
 * on, so a receipt travels (and its event's offset moves) only once the store broker
 * acknowledged it, and an outage or a restart sends it late, never drops it. The
 * receipt is the journal's own, fetched with `Show` (page by page) when it is sent:
 * after an outage a revision may already hold what a later amendment adds, and the
 * amendment then sends the same receipt again under its higher revision.
 */
export class ReceiptForwarder {
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly o: ReceiptForwarderOptions) {}

  /** The ReceiptRecorded or ReceiptAmended event `payload` of the journal: its receipt at the store, then `done`. A cancelled one has no receipt to send. */
  send(payload: Buffer, done: (err?: Error) => void): void {
    let ev: { id?: unknown; txn?: unknown; time?: unknown; data?: { status?: unknown; revision?: unknown; supersedes?: unknown } };
    try {
      ev = JSON.parse(payload.toString('utf8')) as typeof ev;
    } catch {
      return done();
    }
    if (ev.data?.status !== 'completed' || typeof ev.id !== 'string' || typeof ev.txn !== 'string' || typeof ev.time !== 'string') return done();
    const { revision, supersedes } = ev.data;
    const amends = typeof revision === 'number' && typeof supersedes === 'string' ? { revision, supersedes } : { revision: 1 };
    this.attempt({ id: ev.id, txn: ev.txn, time: ev.time, amends }, done, false);
  }

  private attempt(
    ev: { id: string; txn: string; time: string; amends: { revision: number; supersedes?: string } },
    done: (err?: Error) => void,
    warned: boolean,
  ): void {
    if (this.stopped) return done(new Error('uplink stopping'));
    wholeReceipt((from) => this.o.show(ev.txn, from)).then(
      (r) => {
        const receipt: LaneReceipt = {
          receiptId: ev.id,
          ...ev.amends,
          ...this.o.ids,
          txn: r.txn,
          status: 'completed',
          ...(r.started ? { started: r.started } : {}),
          closed: r.closed ?? ev.time,
          recorded: ev.time,
          currency: r.currency ?? this.o.currency,
          lines: r.lines,
          removed: r.removed,
          total: r.total,
          payments: r.payments,
          interventions: r.interventions,
          overrides: r.overrides,
        };
        this.o.publish(receipt, (err) => {
          if (!err) this.o.counted('sent');
          done(err);
        });
      },
      (err: Error) => {
        if (err instanceof CommandError && err.kind === 'not-found') {
          // the journal no longer holds it (more receipts than services.journal.keepReceipts since)
          this.o.counted('missing');
          this.o.log.error({ txn: ev.txn, receiptId: ev.id }, `receipt of ${ev.txn} is no longer in the journal; it does not reach the store: ${err.message}`);
          return done();
        }
        if (!warned) this.o.log.warn({ txn: ev.txn, err: err.message }, `receipt of ${ev.txn} not read from the journal (${err.message}); asked again`);
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.attempt(ev, done, true);
        }, this.o.retryMs ?? RETRY_MS);
        timer.unref();
        this.timers.add(timer);
      },
    );
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
