import type { MqttClient } from 'mqtt';
import type { Store, Tx } from '../store/store.js';
import type { Logger } from '../core/log.js';
import type { BoardClock } from './clock.js';
import { dataProblem, latestVersion } from './schema.js';
import { newEventId, type Envelope } from './envelope.js';
import type { DomainEvent } from './schemas/index.js';
import { evt, svcHead } from '../../broker/topics.js';
import { Batcher } from '../../broker/persistence/batcher.js';

export const OUTBOX_DDL = `
CREATE TABLE IF NOT EXISTS outbox (
  source TEXT NOT NULL,
  seq INTEGER NOT NULL,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  txn TEXT,
  payload TEXT NOT NULL,
  sent INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (source, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (source, seq) WHERE sent = 0;
CREATE INDEX IF NOT EXISTS outbox_txn ON outbox (txn);
CREATE TABLE IF NOT EXISTS outbox_floor (source TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
-- The id of the source's log, made when the log starts from nothing; every event carries it.
CREATE TABLE IF NOT EXISTS outbox_log (source TEXT PRIMARY KEY, log TEXT NOT NULL) WITHOUT ROWID;`;

export interface EmitMeta {
  txn?: string;
  /** The transaction's first event; defaults to this event's own id. */
  corr?: string;
  /** The event that led to this one. */
  cause?: string;
  /** Schema version of `data`; defaults to the latest registered. */
  v?: number;
}

export interface OutboxOptions {
  store: Store;
  source: string;
  clock: BoardClock;
  log: Logger;
  /** Sent events kept as the source's log for replay. */
  retention: number;
  /** Unacknowledged publishes in flight at most. */
  maxInflight?: number;
  /** Committed rows kept in memory for the relay (default 1,000); beyond them it reads the table. */
  cacheRows?: number;
  /** The broker refuses larger publishes (`events.maxPayloadBytes`): such an event is refused at emit. */
  maxPayloadBytes?: number;
}

/** PUBACKs are marked in the table at most this often, or once this many have come. */
const ACK_MARK_MS = 100;
const ACK_MARK_MAX = 500;
/** Committed rows kept in memory for the relay; beyond it (a long broker outage) it reads the table. */
const FRESH_MAX = 1000;

interface UnsentRow {
  seq: number;
  type: string;
  payload: string;
}

/**
 * The transactional outbox of one source (the design "Delivery guarantees"):
 * `emit` writes the event in the caller's transaction with the next gapless
 * `seq`; after COMMIT the relay publishes it with QoS 1 and marks it sent on
 * PUBACK. Rows stay as the source's log for replay, pruned to `retention`.
 */
export class Outbox {
  private nextSeq = 1;
  /** This source's log id (outbox_log). */
  private logId = '';
  private dispatchedUpTo = 0;
  /** The newest committed seq: past it the table has nothing more for the relay. */
  private committedUpTo = 0;
  /** Rows committed and not yet handed to the client, in seq order: spares the relay a read. */
  private fresh: UnsentRow[] = [];
  private inflight = 0;
  private unsent = 0;
  private client: MqttClient | undefined;
  private pumping = false;
  private again = false;
  /** PUBACKed seqs not yet marked sent in the table. */
  private ackBatch: number[] = [];
  private ackTimer: NodeJS.Timeout | undefined;
  /**
   * The marks, one UPDATE per cut of ackBatch, written one after the other. A cut is made
   * when the count or the timer says, even while a mark is being written: the marks are
   * whole batches here, so the batcher never merges two (maxBatch 1).
   */
  private readonly marks = new Batcher<number[]>({ flush: ([seqs]) => this.mark(seqs), maxBatch: 1 });
  private marking: Promise<void> = Promise.resolve();
  private drainWaiters: Array<() => void> = [];
  private sinceprune = 0;
  published = 0;

  constructor(private readonly opts: OutboxOptions) {}

  get source(): string {
    return this.opts.source;
  }

  async init(): Promise<void> {
    await this.opts.store.exec(OUTBOX_DDL);
    const max = await this.opts.store.get<{ m: number | null }>('SELECT max(seq) AS m FROM outbox WHERE source = ?', [this.opts.source]);
    const floor = await this.opts.store.get<{ seq: number }>('SELECT seq FROM outbox_floor WHERE source = ?', [this.opts.source]);
    this.nextSeq = Math.max(max?.m ?? 0, floor?.seq ?? 0) + 1;
    const log = await this.opts.store.get<{ log: string }>('SELECT log FROM outbox_log WHERE source = ?', [this.opts.source]);
    this.logId = log?.log ?? newEventId();
    if (!log) await this.opts.store.run('INSERT INTO outbox_log (source, log) VALUES (?, ?)', [this.opts.source, this.logId]);
    const c = await this.opts.store.get<{ c: number; first: number | null }>(
      'SELECT count(*) AS c, min(seq) AS first FROM outbox WHERE source = ? AND sent = 0',
      [this.opts.source],
    );
    this.unsent = c?.c ?? 0;
    // Everything before the first unsent row is acknowledged: the relay starts there.
    this.dispatchedUpTo = (c?.first ?? this.nextSeq) - 1;
    this.committedUpTo = this.nextSeq - 1;
  }

  /**
   * Continue `seq` after `seq` (kept in outbox_floor): a source whose database
   * was lost (moved aside as corrupt) must not restart at 1, or its consumers
   * would take the new events for ones they already applied.
   */
  async continueAfter(seq: number): Promise<void> {
    if (seq < this.nextSeq) return;
    await this.opts.store.run('INSERT INTO outbox_floor (source, seq) VALUES (?, ?) ON CONFLICT (source) DO UPDATE SET seq = max(seq, excluded.seq)', [
      this.opts.source,
      seq,
    ]);
    this.nextSeq = seq + 1;
    this.committedUpTo = seq;
  }

  /**
   * Write one event into the open transaction; published after COMMIT. `type` and
   * `data` are checked against the registered schemas (the compiler checks them in
   * the services: ServiceContext.emit).
   */
  async emit(tx: Tx, type: string, data: unknown, meta: EmitMeta = {}): Promise<DomainEvent> {
    const v = meta.v ?? latestVersion(type);
    if (v === undefined) throw new Error(`${this.opts.source}: event type ${type} has no registered schema (daemon/events/schemas)`);
    const problem = dataProblem(type, v, data);
    if (problem) throw new Error(`${this.opts.source}: refusing to emit invalid ${type} v${v}: ${problem}`);
    const seq = this.nextSeq++;
    tx.onRollback(() => {
      this.nextSeq = seq;
    });
    const id = newEventId();
    const ev: Envelope = {
      id,
      type,
      v,
      source: this.opts.source,
      seq,
      log: this.logId,
      at: this.opts.clock.now(),
      time: new Date().toISOString(),
      ...(meta.txn !== undefined ? { txn: meta.txn } : {}),
      corr: meta.corr ?? id,
      ...(meta.cause !== undefined ? { cause: meta.cause } : {}),
      data,
    };
    const payload = JSON.stringify(ev);
    const bytes = Buffer.byteLength(payload);
    const max = this.opts.maxPayloadBytes;
    if (max !== undefined && bytes > max) {
      // Never into the log: the broker would refuse it, and a consumer would wait for its seq for ever.
      this.nextSeq = seq;
      throw new Error(`${this.opts.source}: refusing to emit ${type}: ${bytes} bytes over events.maxPayloadBytes ${max}`);
    }
    await tx.run('INSERT INTO outbox (source, seq, id, type, txn, payload) VALUES (?,?,?,?,?,?)', [this.opts.source, seq, id, type, meta.txn ?? null, payload]);
    tx.afterCommit(() => {
      this.committedUpTo = Math.max(this.committedUpTo, seq);
      if (this.fresh.length < (this.opts.cacheRows ?? FRESH_MAX)) this.fresh.push({ seq, type, payload });
      this.unsent += 1;
      this.kick();
    });
    // its data has passed the schema of its type above
    return ev as DomainEvent;
  }

  /** Start relaying through `client`; unsent rows from before a restart go first. */
  attach(client: MqttClient): void {
    this.client = client;
    // Announce the head again on every start: the retained one may be older than the
    // log (a broker that lost its last writes), and consumers learn of a lost tail from it.
    this.headSent = 0;
    this.announceHead();
    this.kick();
  }

  detach(): void {
    clearTimeout(this.headTimer);
    this.headTimer = undefined;
    this.client = undefined;
  }

  /** Events committed but not yet acknowledged by the broker (marks in the table lag up to ACK_MARK_MS). */
  backlog(): number {
    return this.unsent;
  }

  kick(): void {
    if (!this.client) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.pump().finally(() => {
      this.pumping = false;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async pump(): Promise<void> {
    const max = this.opts.maxInflight ?? 1000;
    while (this.client && this.inflight < max) {
      while (this.fresh.length > 0 && this.fresh[0].seq <= this.dispatchedUpTo) this.fresh.shift();
      const limit = Math.min(500, max - this.inflight);
      // The contiguous run of cached rows that comes next, else (after a restart, or rows
      // the cache had no room for) the table.
      let run = 0;
      while (run < limit && run < this.fresh.length && this.fresh[run].seq === this.dispatchedUpTo + 1 + run) run++;
      if (run === 0 && this.dispatchedUpTo >= this.committedUpTo) return;
      const rows =
        run > 0
          ? this.fresh.splice(0, run)
          : await this.opts.store.all<UnsentRow>('SELECT seq, type, payload FROM outbox WHERE source = ? AND sent = 0 AND seq > ? ORDER BY seq LIMIT ?', [
              this.opts.source,
              this.dispatchedUpTo,
              limit,
            ]);
      if (rows.length === 0) return;
      // detach() may have run while the rows were read (graceful stop).
      const client = this.client;
      if (!client) return;
      for (const row of rows) {
        this.dispatchedUpTo = row.seq;
        this.inflight += 1;
        // mqtt.js keeps QoS 1 publishes in its outgoing store and resends them after a
        // reconnect until PUBACK [MQTT-4.4.0-1]; a new process starts again from the table.
        client.publish(evt(this.opts.source, row.type), row.payload, { qos: 1 }, (err) => {
          this.inflight -= 1;
          if (err) {
            this.opts.log.debug({ seq: row.seq, err: err.message }, 'publish not acknowledged; resent on next start');
          } else {
            this.acked(row.seq);
          }
          if (this.inflight === max - 1) this.kick();
        });
      }
    }
  }

  private acked(seq: number): void {
    this.published += 1;
    this.unsent -= 1;
    this.ackBatch.push(seq);
    if (this.ackBatch.length >= ACK_MARK_MAX) void this.markSent();
    else if (!this.ackTimer) {
      this.ackTimer = setTimeout(() => void this.markSent(), ACK_MARK_MS);
      this.ackTimer.unref();
    }
    this.announceHead();
    if (this.unsent <= 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /**
   * Mark the acknowledged rows sent, up to ACK_MARK_MS of PUBACKs in one write, riding
   * along with the next transaction (Store.lazyRun). A mark is bookkeeping, not delivery:
   * lost in a power cut, those events are sent again and consumers drop the duplicates.
   */
  private markSent(): Promise<void> {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    const batch = this.ackBatch;
    this.ackBatch = [];
    if (batch.length > 0) this.marking = this.marks.add(batch);
    return this.marking;
  }

  private async mark(batch: number[]): Promise<void> {
    try {
      await this.opts.store.lazyRun(`UPDATE outbox SET sent = 1 WHERE source = ? AND seq IN (${batch.map(() => '?').join(',')})`, [this.opts.source, ...batch]);
      this.sinceprune += batch.length;
      if (this.sinceprune >= 1000) {
        this.sinceprune = 0;
        await this.prune();
      }
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'could not mark events sent; they will be sent again');
    }
  }

  private headTimer: NodeJS.Timeout | undefined;
  private headSent = 0;

  /** Retained `svc/<source>/head` {seq}: the newest acknowledged seq, at most every 200 ms. */
  private announceHead(): void {
    if (this.headTimer) return;
    this.headTimer = setTimeout(() => {
      this.headTimer = undefined;
      const seq = this.lastSeq() - this.unsent;
      if (!this.client || seq <= this.headSent) return;
      this.headSent = seq;
      this.client.publish(svcHead(this.opts.source), JSON.stringify({ seq }), { qos: 1, retain: true });
    }, 200);
    this.headTimer.unref();
  }

  /** Drop sent events beyond the retention; the newest `retention` rows stay, so `seq` never restarts. */
  async prune(): Promise<void> {
    const keepFrom = this.nextSeq - this.opts.retention;
    if (keepFrom <= 1) return;
    await this.opts.store.run('DELETE FROM outbox WHERE source = ? AND sent = 1 AND seq < ?', [this.opts.source, keepFrom]);
  }

  /** Resolves when every committed event is acknowledged, or after `timeoutMs`. Returns the backlog left. */
  async flush(timeoutMs: number): Promise<number> {
    if (this.unsent > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.drainWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const marked = this.markSent();
    await this.opts.store.flushLazy();
    await marked;
    return this.unsent;
  }

  /** The source's log from `from` to `to` (inclusive), for catch-up replay. */
  readLog(from: number, to: number, limit = 5000): Promise<Array<{ seq: number; type: string; payload: string }>> {
    return this.opts.store.all('SELECT seq, type, payload FROM outbox WHERE source = ? AND seq BETWEEN ? AND ? ORDER BY seq LIMIT ?', [
      this.opts.source,
      from,
      to,
      limit,
    ]);
  }

  async firstAvailable(): Promise<number> {
    const r = await this.opts.store.get<{ m: number | null }>('SELECT min(seq) AS m FROM outbox WHERE source = ?', [this.opts.source]);
    return r?.m ?? this.nextSeq;
  }

  lastSeq(): number {
    return this.nextSeq - 1;
  }
}
