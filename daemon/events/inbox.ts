import type { Store, Tx } from '../store.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { parseEvent, type Envelope } from './envelope.js';
import type { DeadLetters } from './deadletter.js';
import type { KeyedExecutor } from './executor.js';

export const INBOX_DDL = `
CREATE TABLE IF NOT EXISTS inbox_seen (id TEXT PRIMARY KEY, source TEXT NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox_position (source TEXT PRIMARY KEY, last_seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox_pending (
  source TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, topic TEXT NOT NULL, payload TEXT NOT NULL,
  PRIMARY KEY (source, seq)
) WITHOUT ROWID;`;

export interface InboxOptions {
  store: Store;
  /** The consuming service, for logs, counters and replay replies. */
  name: string;
  log: Logger;
  metrics: Metrics;
  deadLetters: DeadLetters;
  executor: KeyedExecutor;
  maxAttempts: number;
  maxPayloadBytes: number;
  gapWaitMs: number;
  /** Apply one event inside the inbox transaction; throw to retry. */
  handle(ev: Envelope, tx: Tx): Promise<void>;
  /** Ask `source` to publish its log from..to on replay/<source>/<name>. */
  requestReplay(source: string, from: number, to: number): void;
  /** Serialization key; default: the transaction, else the source. */
  keyOf?(ev: Envelope): string;
}

interface Gap {
  timer: NodeJS.Timeout | undefined;
  tries: number;
}

/**
 * The consumer side of DESIGN.md "Delivery guarantees": dedup by event id in the
 * consumer's own transaction, per-source `seq` order with a durable reorder
 * buffer, catch-up replay on a gap, dead letters after `maxAttempts`.
 * `receive` resolves only after the commit; the caller then sends PUBACK.
 */
export class Inbox {
  private readonly positions = new Map<string, number>();
  private readonly gaps = new Map<string, Gap>();
  private readonly heads = new Map<string, number>();
  /** Events waiting in inbox_pending per source (kept in memory to spare a query per event). */
  private readonly pending = new Map<string, number>();
  /** When each source last delivered anything: a consumer that is merely behind is not missing events. */
  private readonly lastHeard = new Map<string, number>();
  private stopped = false;
  applied = 0;

  constructor(private readonly opts: InboxOptions) {}

  async init(): Promise<void> {
    await this.opts.store.exec(INBOX_DDL);
    for (const row of await this.opts.store.all<{ source: string; last_seq: number }>('SELECT source, last_seq FROM inbox_position')) {
      this.positions.set(row.source, row.last_seq);
    }
    for (const row of await this.opts.store.all<{ source: string; c: number }>('SELECT source, count(*) AS c FROM inbox_pending GROUP BY source')) {
      this.pending.set(row.source, row.c);
      this.scheduleGap(row.source);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const g of this.gaps.values()) clearTimeout(g.timer);
    this.gaps.clear();
  }

  position(source: string): number | undefined {
    return this.positions.get(source);
  }

  /** One payload from the broker (evt/... or replay/...). Never throws. */
  async receive(topic: string, payload: Buffer): Promise<void> {
    const { name, metrics, log } = this.opts;
    const parsed = parseEvent(topic, payload, this.opts.maxPayloadBytes);
    if (!parsed.ok) {
      metrics.rejected.inc({ service: name, reason: parsed.reason.split(':')[0].slice(0, 40) });
      log.warn({ topic, eventId: parsed.id, reason: parsed.reason }, `rejected event on ${topic}: ${parsed.reason}`);
      await this.deadLetter(topic, payload, parsed.reason, parsed.id, 0);
      return;
    }
    const ev = parsed.event;
    this.lastHeard.set(ev.source, Date.now());
    if (topic.startsWith('replay/') && topic.split('/')[1] !== ev.source) {
      const reason = `replayed event of source ${ev.source} on ${topic}`;
      log.warn({ topic, eventId: ev.id }, reason);
      await this.deadLetter(topic, payload, reason, ev.id, 0);
      return;
    }
    const seen = await this.opts.store.get('SELECT 1 FROM inbox_seen WHERE id = ?', [ev.id]);
    if (seen) {
      metrics.duplicates.inc({ service: name });
      return;
    }
    const pos = this.positions.get(ev.source) ?? ev.seq - 1;
    if (ev.seq <= pos) {
      metrics.duplicates.inc({ service: name });
      log.debug({ eventId: ev.id, source: ev.source, seq: ev.seq, position: pos }, 'event at or below the position: already applied');
      return;
    }
    if (ev.seq > pos + 1) {
      const r = await this.opts.store.run('INSERT OR IGNORE INTO inbox_pending (source, seq, id, topic, payload) VALUES (?,?,?,?,?)', [
        ev.source,
        ev.seq,
        ev.id,
        topic,
        payload.toString('utf8'),
      ]);
      if (r.changes > 0) this.pending.set(ev.source, (this.pending.get(ev.source) ?? 0) + 1);
      this.scheduleGap(ev.source);
      return;
    }
    await this.apply(ev, topic, payload, false);
    if (this.pending.get(ev.source) || this.gaps.has(ev.source)) await this.drain(ev.source);
  }

  /**
   * The source's newest seq (retained `svc/<source>/head`). Behind it with nothing
   * pending means the tail of the stream was lost (e.g. a broker crash after PUBACK):
   * ask for it after the usual wait.
   */
  noteHead(source: string, seq: number): void {
    const pos = this.positions.get(source);
    if (pos === undefined || seq <= pos) return;
    this.heads.set(source, Math.max(seq, this.heads.get(source) ?? 0));
    this.scheduleGap(source);
  }

  /** The source has answered a replay: events it no longer holds are a permanent gap. */
  async replayEnded(source: string, firstAvailable: number): Promise<void> {
    const pos = this.positions.get(source);
    if (pos === undefined || firstAvailable <= pos + 1) return;
    const reason = `events ${pos + 1}..${firstAvailable - 1} of ${source} are gone from its log (retention); skipped`;
    this.opts.log.error({ source, from: pos + 1, to: firstAvailable - 1 }, reason);
    await this.opts.store.tx(async (tx) => {
      await this.opts.deadLetters.add(tx, { topic: `evt/${source}`, payload: '', reason });
      await this.setPosition(tx, source, firstAvailable - 1);
    });
    this.positions.set(source, firstAvailable - 1);
    await this.drain(source);
  }

  private key(ev: Envelope): string {
    return this.opts.keyOf?.(ev) ?? ev.txn ?? `source:${ev.source}`;
  }

  private async setPosition(tx: Tx, source: string, seq: number): Promise<void> {
    await tx.run('INSERT INTO inbox_position (source, last_seq) VALUES (?, ?) ON CONFLICT(source) DO UPDATE SET last_seq = excluded.last_seq', [source, seq]);
  }

  private apply(ev: Envelope, topic: string, payload: Buffer | string, fromPending: boolean): Promise<void> {
    return this.opts.executor.run(this.key(ev), async () => {
      // A replay, a drain and a redelivery can race to the same event: the position decides.
      if ((this.positions.get(ev.source) ?? ev.seq - 1) >= ev.seq) {
        this.opts.metrics.duplicates.inc({ service: this.opts.name });
        return;
      }
      let lastError = '';
      for (let attempt = 1; attempt <= this.opts.maxAttempts; attempt++) {
        try {
          const fresh = await this.opts.store.tx(async (tx) => {
            const seen = await tx.run('INSERT OR IGNORE INTO inbox_seen (id, source, seq) VALUES (?,?,?)', [ev.id, ev.source, ev.seq]);
            await this.setPosition(tx, ev.source, ev.seq);
            if (fromPending) await this.unpend(tx, ev.source, ev.seq);
            if (seen.changes === 0) return false;
            await this.opts.handle(ev, tx);
            return true;
          });
          this.positions.set(ev.source, ev.seq);
          if (fresh) {
            this.applied += 1;
            this.opts.metrics.eventsIn.inc({ service: this.opts.name });
          } else {
            this.opts.metrics.duplicates.inc({ service: this.opts.name });
          }
          return;
        } catch (err) {
          lastError = (err as Error).message;
          this.opts.log.warn(
            { eventId: ev.id, type: ev.type, attempt, err: lastError },
            `processing ${ev.type} ${ev.id} failed (attempt ${attempt} of ${this.opts.maxAttempts})`,
          );
          if (this.stopped) throw err;
        }
      }
      await this.opts.store.tx(async (tx) => {
        await this.opts.deadLetters.add(tx, {
          eventId: ev.id,
          topic,
          payload,
          reason: `failed ${this.opts.maxAttempts} times: ${lastError}`,
          attempts: this.opts.maxAttempts,
        });
        await tx.run('INSERT OR IGNORE INTO inbox_seen (id, source, seq) VALUES (?,?,?)', [ev.id, ev.source, ev.seq]);
        await this.setPosition(tx, ev.source, ev.seq);
        if (fromPending) await this.unpend(tx, ev.source, ev.seq);
      });
      this.positions.set(ev.source, ev.seq);
      this.opts.metrics.deadLettered.inc({ service: this.opts.name });
    });
  }

  private async unpend(tx: Tx, source: string, seq: number): Promise<void> {
    const r = await tx.run('DELETE FROM inbox_pending WHERE source = ? AND seq = ?', [source, seq]);
    if (r.changes > 0) tx.afterCommit(() => this.pending.set(source, Math.max(0, (this.pending.get(source) ?? 1) - 1)));
  }

  private async deadLetter(topic: string, payload: Buffer, reason: string, eventId: string | undefined, attempts: number): Promise<void> {
    try {
      await this.opts.store.tx((tx) => this.opts.deadLetters.add(tx, { eventId, topic, payload, reason, attempts }));
      this.opts.metrics.deadLettered.inc({ service: this.opts.name });
    } catch (err) {
      this.opts.log.error({ topic, err: (err as Error).message }, 'could not store a dead letter');
    }
  }

  /** Apply buffered events that are now next in line. */
  private async drain(source: string): Promise<void> {
    for (;;) {
      const next = (this.positions.get(source) ?? 0) + 1;
      const row = await this.opts.store.get<{ topic: string; payload: string }>('SELECT topic, payload FROM inbox_pending WHERE source = ? AND seq = ?', [
        source,
        next,
      ]);
      if (!row) break;
      const parsed = parseEvent(row.topic, row.payload, Number.MAX_SAFE_INTEGER);
      if (!parsed.ok) {
        await this.opts.store.tx((tx) => this.unpend(tx, source, next));
        continue;
      }
      await this.apply(parsed.event, row.topic, row.payload, true);
    }
    const left = await this.opts.store.get('SELECT 1 FROM inbox_pending WHERE source = ? LIMIT 1', [source]);
    const head = this.heads.get(source);
    const behindHead = head !== undefined && head > (this.positions.get(source) ?? 0);
    if (!left && !behindHead) {
      this.heads.delete(source);
      const gap = this.gaps.get(source);
      if (gap) clearTimeout(gap.timer);
      this.gaps.delete(source);
    } else {
      this.scheduleGap(source);
    }
  }

  private scheduleGap(source: string): void {
    if (this.stopped) return;
    const gap = this.gaps.get(source) ?? { timer: undefined, tries: 0 };
    this.gaps.set(source, gap);
    if (gap.timer) return;
    const wait = gap.tries === 0 ? this.opts.gapWaitMs : Math.min(30_000, 1000 * 2 ** Math.min(gap.tries - 1, 5));
    gap.timer = setTimeout(() => {
      gap.timer = undefined;
      this.askReplay(source, gap).catch((err: Error) => {
        this.opts.log.error({ source, err: err.message }, `catch-up of ${source} failed; retrying`);
        this.scheduleGap(source);
      });
    }, wait);
    gap.timer.unref();
  }

  private async askReplay(source: string, gap: Gap): Promise<void> {
    if (this.stopped || !this.gaps.has(source)) return;
    const first = await this.opts.store.get<{ s: number | null }>('SELECT min(seq) AS s FROM inbox_pending WHERE source = ?', [source]);
    const pos = this.positions.get(source);
    const head = this.heads.get(source);
    let to: number;
    if (first?.s != null) to = first.s - 1;
    else if (head !== undefined && pos !== undefined && head > pos) {
      // Behind the head while the stream still flows is a backlog, not a loss: ask only once it went quiet.
      const quietFor = Date.now() - (this.lastHeard.get(source) ?? 0);
      const quiet = Math.max(1000, this.opts.gapWaitMs * 4);
      if (quietFor < quiet) {
        const gap = this.gaps.get(source);
        if (gap && !gap.timer) {
          gap.timer = setTimeout(() => {
            gap.timer = undefined;
            void this.askReplay(source, gap).catch(() => this.scheduleGap(source));
          }, quiet - quietFor);
          gap.timer.unref();
        }
        return;
      }
      to = head;
    } else {
      this.gaps.delete(source);
      this.heads.delete(source);
      return;
    }
    const from = (pos ?? to) + 1;
    if (to < from) {
      await this.drain(source);
      return;
    }
    gap.tries += 1;
    this.opts.metrics.replayRequests.inc({ service: this.opts.name, source });
    this.opts.log.info({ source, from, to, tries: gap.tries }, `seq gap from ${source}: asking for replay of ${from}..${to}`);
    this.opts.requestReplay(source, from, to);
    this.scheduleGap(source);
  }
}
