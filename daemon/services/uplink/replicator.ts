import type { Logger } from '../../core/log.js';
import type { Store, Tx } from '../../store/store.js';

/** The uplink's durable position per source: every seq at or below `seq` of log `log` is at the store (or reported lost). */
export const OFFSETS_DDL = `CREATE TABLE IF NOT EXISTS uplink_offsets (source TEXT PRIMARY KEY, log TEXT, seq INTEGER NOT NULL, time TEXT NOT NULL) WITHOUT ROWID;`;

/** A replay answers at most this many events (the sources' answerReplay). */
const REPLAY_MAX = 5000;
/**
 * Publishes to the store broker awaiting PUBACK, per source. More do not catch up faster on
 * two cores, and with 500 the lane's own path waited seconds behind a catch-up (test/bench/uplink.ts).
 */
const MAX_INFLIGHT = 20;
/**
 * Publishes handed to the store link in one turn of the event loop, per source; the rest
 * after the lane's own I/O (setImmediate), so a catch-up does not hold up a scan.
 */
export const SEND_BATCH = 20;
/** Events held per source ahead of the next one to send; beyond, they are read again from the log. */
export const MAX_PENDING = 10_000;
/** Sends the rate limit (`rate()`) lets through at once after a pause. */
export const RATE_BURST = 20;
/** A replay request without an end marker in this time is asked again (the source refused it for its rate). */
const REPLAY_TIMEOUT_MS = 5000;

interface Pending {
  id: string;
  type: string;
  log?: string;
  payload: Buffer;
}

/** Seqs handed on, in order; `done` once the store broker acknowledged them (or they were skipped or lost). */
interface Span {
  from: number;
  to: number;
  done: boolean;
}

export interface SourceProgress {
  source: string;
  log?: string;
  /** Everything up to here is at the store. */
  offset: number;
  /** The newest seq the source is known to have. */
  head: number;
  unsent: number;
  inflight: number;
  sent: number;
  skipped: number;
  lost: number;
  alarmed: boolean;
}

class SourceState {
  log: string | undefined;
  offset = 0;
  next = 1;
  head = 0;
  /** No offset stored yet: the first replay says where the log begins, and that is no loss. */
  fresh = true;
  pending = new Map<number, Pending>();
  spans: Span[] = [];
  inflight = 0;
  replayAskedAt = 0;
  /** A pump is scheduled for the next turn of the event loop. */
  yielded = false;
  alarmed = false;
  dirty = false;
  sent = 0;
  skipped = 0;
  lost = 0;
  constructor(readonly name: string) {}
}

export interface ReplicatorOptions {
  store: Store;
  log: Logger;
  /** Events each source keeps (logRetention): what the alarm is measured against. */
  retention: number;
  alarmAtPct: number;
  /** Is this event forwarded (uplink.events)? Others advance the offset unsent, unless `carries` them. */
  forwards(source: string, type: string): boolean;
  /** Does this event carry something else to the store (a receipt) whether or not it is forwarded itself? */
  carries?(source: string, type: string): boolean;
  /** Is the store broker there to take events now? */
  ready(): boolean;
  /** Events per second it may send now, all sources together; undefined or 0: no limit. */
  rate?(): number | undefined;
  /** Publish one event to the store (when `forwards` it) and what it `carries`; `done` once the store broker acknowledged all of it. */
  send(source: string, type: string, payload: Buffer, done: (err?: Error) => void): void;
  /** Ask a source for its log from `from` to `to` (cmd/<source>/Replay). */
  askReplay(source: string, from: number, to: number): void;
  /** Record a loss (UplinkGap) or an alarm (UplinkBacklogAlarm) in the uplink's own log, in `tx`. */
  gap(tx: Tx, g: { source: string; log?: string; from: number; to: number; count: number }): Promise<void>;
  alarm(tx: Tx, a: { source: string; unsent: number; retention: number; pct: number; from: number }): Promise<void>;
  /** The source must not be one the uplink writes itself while it stores (its own log is forwarded too). */
  metrics?: { sent(source: string): void; lost(source: string, n: number): void };
}

/**
 * Replicates the lane's sources' logs to the store broker (the design "Leaving the
 * board"): live events as they come, the rest read back from each source's log
 * (replay) from the uplink's own durable offset, in `seq` order per source. An
 * offset moves only over events the store broker acknowledged (PUBACK), events
 * `uplink.events` leaves out, and events reported lost (UplinkGap): a crash or an
 * outage only sends some events again, with the same `id`.
 */
export class Replicator {
  private readonly sources = new Map<string, SourceState>();
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  /** The rate limit's bucket: sends allowed now, and when it was last filled. */
  private tokens = RATE_BURST;
  private filledAt = 0;

  constructor(private readonly o: ReplicatorOptions) {}

  async init(): Promise<void> {
    await this.o.store.exec(OFFSETS_DDL);
    for (const r of await this.o.store.all<{ source: string; log: string | null; seq: number }>('SELECT source, log, seq FROM uplink_offsets')) {
      const s = new SourceState(r.source);
      s.log = r.log ?? undefined;
      s.offset = r.seq;
      s.next = r.seq + 1;
      s.head = r.seq;
      s.fresh = false;
      this.sources.set(r.source, s);
    }
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), 250);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.save();
  }

  private state(source: string): SourceState {
    let s = this.sources.get(source);
    if (!s) {
      s = new SourceState(source);
      this.sources.set(source, s);
    }
    return s;
  }

  /** A source's retained `svc/<source>/head`: it has events up to `seq`. */
  noteHead(source: string, seq: number): void {
    const s = this.state(source);
    if (seq > s.head) s.head = seq;
    this.pump(s);
  }

  /** An event from the lane broker, live (`evt/…`) or from a replay. */
  receive(source: string, seq: number, ev: { id: string; type: string; log?: string }, payload: Buffer): void {
    const s = this.state(source);
    if (ev.log && s.log && ev.log !== s.log && seq <= s.offset) {
      // The source started a new log (its database was lost): follow it from this event.
      this.o.log.warn({ source, oldLog: s.log, log: ev.log, seq, offset: s.offset }, `source ${source} started a new log at seq ${seq}; the uplink follows it`);
      s.offset = seq - 1;
      s.next = seq;
      s.head = Math.max(seq, 0);
      s.pending.clear();
      s.spans = [];
      s.dirty = true;
    }
    if (ev.log) s.log = ev.log;
    if (seq > s.head) s.head = seq;
    if (seq < s.next || s.pending.has(seq)) return;
    if (seq < s.next + MAX_PENDING) s.pending.set(seq, { id: ev.id, type: ev.type, log: ev.log, payload });
    this.pump(s);
  }

  /** The end of a replay: `firstAvailable` is the oldest seq the source's log still holds. */
  async replayEnded(source: string, firstAvailable: number): Promise<void> {
    const s = this.state(source);
    s.replayAskedAt = 0;
    if (firstAvailable > s.next) {
      const from = s.next;
      const to = firstAvailable - 1;
      if (s.fresh) {
        s.offset = Math.max(s.offset, to);
      } else {
        const count = to - from + 1;
        s.lost += count;
        this.o.metrics?.lost(source, count);
        this.o.log.error(
          { source, from, to, count },
          `events ${from}..${to} of ${source} left its log before the uplink sent them: ${count} lost to the store (UplinkGap)`,
        );
        await this.o.store.tx((tx) => this.o.gap(tx, { source, ...(s.log ? { log: s.log } : {}), from, to, count }));
      }
      s.spans.push({ from, to, done: true });
      s.next = firstAvailable;
      for (const k of s.pending.keys()) if (k < s.next) s.pending.delete(k);
      this.advance(s);
    }
    s.fresh = false;
    this.pump(s);
  }

  private pump(s: SourceState): void {
    if (!this.o.ready() || s.yielded) return;
    for (let handed = 0; s.inflight < MAX_INFLIGHT; handed++) {
      const p = s.pending.get(s.next);
      if (!p) break;
      const wait = this.rateWait();
      if (wait > 0) {
        s.yielded = true;
        setTimeout(() => {
          s.yielded = false;
          this.pump(s);
        }, wait);
        break;
      }
      if (handed === SEND_BATCH) {
        s.yielded = true;
        setImmediate(() => {
          s.yielded = false;
          this.pump(s);
        });
        break;
      }
      s.pending.delete(s.next);
      const seq = s.next++;
      const forward = this.o.forwards(s.name, p.type);
      if (!forward && !this.o.carries?.(s.name, p.type)) {
        s.skipped += 1;
        s.spans.push({ from: seq, to: seq, done: true });
        continue;
      }
      const span: Span = { from: seq, to: seq, done: false };
      s.spans.push(span);
      s.inflight += 1;
      this.tokens -= 1;
      this.o.send(s.name, p.type, p.payload, (err) => {
        s.inflight -= 1;
        if (err) return; // the store link resends it on reconnect, or a restart reads it again
        span.done = true;
        if (forward) {
          s.sent += 1;
          this.o.metrics?.sent(s.name);
        } else s.skipped += 1;
        this.advance(s);
        this.pump(s);
      });
    }
    this.advance(s);
    if (s.next <= s.head && !s.pending.has(s.next) && !s.replayAskedAt) {
      s.replayAskedAt = Date.now();
      this.o.askReplay(s.name, s.next, Math.min(s.head, s.next + REPLAY_MAX - 1));
    }
  }

  /** Milliseconds until the rate limit lets one more send through; 0 now (a token is there to take). */
  private rateWait(): number {
    const rate = this.o.rate?.() ?? 0;
    const now = performance.now();
    if (!rate) {
      this.tokens = RATE_BURST;
    } else {
      this.tokens = Math.min(RATE_BURST, this.tokens + ((now - this.filledAt) * rate) / 1000);
    }
    this.filledAt = now;
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / rate);
  }

  private advance(s: SourceState): void {
    while (s.spans.length && s.spans[0].done) {
      s.offset = Math.max(s.offset, s.spans[0].to);
      s.spans.shift();
      s.dirty = true;
    }
  }

  /** The store broker is back: send what waits. After a drop, what was unacknowledged is sent again by the client. */
  resume(): void {
    for (const s of this.sources.values()) this.pump(s);
  }

  private tick(): void {
    const now = Date.now();
    for (const s of this.sources.values()) {
      if (s.replayAskedAt && now - s.replayAskedAt > REPLAY_TIMEOUT_MS) s.replayAskedAt = 0;
      this.pump(s);
      void this.checkAlarm(s);
    }
    void this.save();
  }

  private async checkAlarm(s: SourceState): Promise<void> {
    const unsent = Math.max(0, s.head - s.offset);
    const threshold = Math.ceil((this.o.retention * this.o.alarmAtPct) / 100);
    if (!s.alarmed && unsent >= threshold) {
      s.alarmed = true;
      const pct = Math.floor((unsent * 100) / this.o.retention);
      this.o.log.error(
        { source: s.name, unsent, retention: this.o.retention, pct },
        `uplink: ${unsent} events of ${s.name} not yet at the store, ${pct}% of its log of ${this.o.retention}; beyond it the oldest are lost`,
      );
      await this.o.store.tx((tx) => this.o.alarm(tx, { source: s.name, unsent, retention: this.o.retention, pct, from: s.offset + 1 }));
    } else if (s.alarmed && unsent < threshold / 2) {
      s.alarmed = false;
      this.o.log.info({ source: s.name, unsent }, `uplink: ${s.name} caught up (${unsent} unsent)`);
    }
  }

  /** Write the offsets that moved (one statement per source, one transaction). */
  save(): Promise<void> {
    const dirty = [...this.sources.values()].filter((s) => s.dirty);
    if (dirty.length === 0) return this.saving;
    for (const s of dirty) s.dirty = false;
    const rows = dirty.map((s) => [s.name, s.log ?? null, s.offset, new Date().toISOString()]);
    this.saving = this.saving.then(() =>
      this.o.store
        .tx(async (tx) => {
          for (const r of rows) {
            await tx.run(
              'INSERT INTO uplink_offsets (source, log, seq, time) VALUES (?,?,?,?) ON CONFLICT(source) DO UPDATE SET log = excluded.log, seq = excluded.seq, time = excluded.time',
              r,
            );
          }
        })
        .catch((err: Error) => {
          for (const s of dirty) s.dirty = true;
          this.o.log.warn({ err: err.message }, 'uplink offsets not saved; tried again');
        }),
    );
    return this.saving;
  }

  progress(): SourceProgress[] {
    return [...this.sources.values()]
      .map((s) => ({
        source: s.name,
        ...(s.log ? { log: s.log } : {}),
        offset: s.offset,
        head: s.head,
        unsent: Math.max(0, s.head - s.offset),
        inflight: s.inflight,
        sent: s.sent,
        skipped: s.skipped,
        lost: s.lost,
        alarmed: s.alarmed,
      }))
      .sort((a, b) => a.source.localeCompare(b.source));
  }

  backlog(): number {
    let n = 0;
    for (const s of this.sources.values()) n += Math.max(0, s.head - s.offset);
    return n;
  }
}
