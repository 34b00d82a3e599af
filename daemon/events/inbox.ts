import type { Store, Tx } from '../store/store.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { parseEvent, type Envelope } from './envelope.js';
import type { DeadLetters } from './deadletter.js';
import { KeyedExecutor } from './executor.js';

export const INBOX_DDL = `
CREATE TABLE IF NOT EXISTS inbox_seen (id TEXT PRIMARY KEY, source TEXT NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox_position (source TEXT PRIMARY KEY, last_seq INTEGER NOT NULL) WITHOUT ROWID;
-- Recording an event as seen moves its source's position in the same statement.
CREATE TRIGGER IF NOT EXISTS inbox_seen_position AFTER INSERT ON inbox_seen BEGIN
  INSERT INTO inbox_position (source, last_seq) VALUES (NEW.source, NEW.seq)
    ON CONFLICT(source) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq);
END;
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
  maxAttempts: number;
  maxPayloadBytes: number;
  gapWaitMs: number;
  /** Events committed together at most (group commit). */
  maxBatch?: number;
  /** Apply one event inside the inbox transaction; throw to retry. */
  handle(ev: Envelope, tx: Tx): Promise<void>;
  /**
   * A head this far ahead of the position is not believed (no log keeps more to replay):
   * it would have the consumer ask for replays forever. Default: 50,000.
   */
  maxHeadAhead?: number;
  /** Ask `source` to publish its log from..to on replay/<source>/<name>. */
  requestReplay(source: string, from: number, to: number): void;
  /** Serialization key; default: the transaction, else the source. */
  keyOf?(ev: Envelope): string;
}

/** Event ids kept in inbox_seen, and how often it is pruned to them. */
const SEEN_KEPT = 20_000;
const SEEN_PRUNE_EVERY = 1000;

interface Gap {
  timer: NodeJS.Timeout | undefined;
  tries: number;
}

/**
 * A source whose log started again from nothing (its database lost): its events
 * carry a new `log` id. The consumer's position moves to just before the first
 * event of the new log (down, when the new log starts at 1); what the old log
 * had past the position is lost and recorded as a dead letter.
 */
interface LogRestart {
  to: number;
  lost?: { from: number; to: number };
}

/** An event held until the events before it have arrived (mirrors inbox_pending). */
interface Held {
  ev: Envelope;
  topic: string;
  payload: string;
}

/** One unit of inbox work: applied inside a group-commit transaction. */
interface Work {
  key: string;
  source: string;
  /** The source's generation when this work was queued: a reset source drops stale work. */
  gen: number;
  /** Throws on failure: the transaction rolls back. */
  run(tx: Tx): Promise<void>;
  /** For an event: record it as a dead letter once it failed `maxAttempts` times. */
  giveUp?(tx: Tx, lastError: string): Promise<void>;
  /** The event this work applies (absent for buffering and bookkeeping work). */
  event?: { ev: Envelope; fromPending: boolean; restart?: LogRestart };
  /** Failed attempts so far. */
  tries: number;
  what?: string;
  resolve(): void;
  reject(err: Error): void;
}

/**
 * The consumer side of the design "Delivery guarantees": dedup by event id in the
 * consumer's own transaction, per-source `seq` order with a durable reorder
 * buffer, catch-up replay on a gap, dead letters after `maxAttempts`.
 *
 * `receive` may be called for the next message before the previous one is
 * committed: the order decision is taken at once (in memory), the work queues,
 * and what queued while one transaction committed commits together in the next
 * (group commit: one fsync for many events). Inside a batch the keyed executor
 * runs one transaction's events one at a time, different transactions side by
 * side. `receive` resolves only after its event's commit; the caller then sends
 * PUBACK, in arrival order [MQTT-4.6.0-2].
 */
export class Inbox {
  /** Committed: every seq up to it is applied (or dead-lettered). */
  private readonly positions = new Map<string, number>();
  /** Queued for apply: the order decision for the next arrival. */
  private readonly accepted = new Map<string, number>();
  /** Events ahead of a gap, by source and seq (their rows are in inbox_pending). */
  private readonly held = new Map<string, Map<number, Held>>();
  /** The latest queued work per source: a redelivery is acknowledged after it. */
  private readonly lastWork = new Map<string, Promise<void>>();
  private readonly generation = new Map<string, number>();
  private readonly gaps = new Map<string, Gap>();
  private readonly heads = new Map<string, number>();
  /** The highest head each source announced (within maxHeadAhead): where a new log may continue. */
  private readonly announced = new Map<string, number>();
  /** When each source last delivered anything: a consumer that is merely behind is not missing events. */
  private readonly lastHeard = new Map<string, number>();
  /** Each source's log id: committed (inbox_position.log), and as decided on arrival. */
  private readonly savedLogs = new Map<string, string>();
  private readonly logs = new Map<string, string>();
  /** Log ids a source replaced: their late redeliveries are dropped. */
  private readonly retiredLogs = new Map<string, Set<string>>();
  private queue: Work[] = [];
  private flushing: Promise<void> | undefined;
  private stopped = false;
  private seenSincePrune = 0;
  applied = 0;
  /** Heads and log restarts ignored as implausible. */
  ignored = 0;

  constructor(private readonly opts: InboxOptions) {}

  async init(): Promise<void> {
    await this.opts.store.exec(INBOX_DDL);
    const columns = await this.opts.store.all<{ name: string }>('PRAGMA table_info(inbox_position)');
    if (!columns.some((c) => c.name === 'log')) await this.opts.store.exec('ALTER TABLE inbox_position ADD COLUMN log TEXT');
    for (const row of await this.opts.store.all<{ source: string; last_seq: number; log: string | null }>('SELECT source, last_seq, log FROM inbox_position')) {
      this.positions.set(row.source, row.last_seq);
      if (row.log) this.savedLogs.set(row.source, row.log);
    }
    await this.loadHeld();
    for (const source of this.held.keys()) this.scheduleGap(source);
  }

  stop(): void {
    this.stopped = true;
    for (const g of this.gaps.values()) clearTimeout(g.timer);
    this.gaps.clear();
  }

  /** Resolves when every queued event is committed. */
  async idle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  position(source: string): number | undefined {
    return this.positions.get(source);
  }

  /** One payload from the broker (evt/... or replay/...); resolves after its commit. Rejects only when the store fails. */
  receive(topic: string, payload: Buffer): Promise<void> {
    const { name, metrics, log } = this.opts;
    const parsed = parseEvent(topic, payload, this.opts.maxPayloadBytes);
    if (!parsed.ok) {
      metrics.rejected.inc({ service: name, reason: parsed.reason.split(':')[0].slice(0, 40) });
      log.warn({ topic, eventId: parsed.id, reason: parsed.reason }, `rejected event on ${topic}: ${parsed.reason}`);
      return this.deadLetter(topic, payload, parsed.reason, parsed.id);
    }
    const ev = parsed.event;
    const source = ev.source;
    this.lastHeard.set(source, Date.now());
    if (topic.startsWith('replay/') && topic.split('/')[1] !== source) {
      const reason = `replayed event of source ${source} on ${topic}`;
      log.warn({ topic, eventId: ev.id }, reason);
      return this.deadLetter(topic, payload, reason, ev.id);
    }
    let restart: LogRestart | undefined;
    const knownLog = this.logs.get(source) ?? this.savedLogs.get(source);
    if (ev.log !== undefined && ev.log !== knownLog) {
      if (this.retiredLogs.get(source)?.has(ev.log)) {
        metrics.duplicates.inc({ service: name });
        log.debug({ eventId: ev.id, source, seq: ev.seq, log: ev.log }, 'event of a log its source has replaced: dropped');
        return this.lastWork.get(source) ?? Promise.resolve();
      }
      const implausible = this.implausibleRestart(source, ev, knownLog);
      if (implausible) {
        this.alarm(source, 'restart', implausible, { eventId: ev.id, seq: ev.seq, log: ev.log });
        return this.deadLetter(topic, payload, implausible, ev.id);
      }
      restart = this.newLog(source, ev, knownLog);
    }
    const upTo = this.upTo(source) ?? ev.seq - 1;
    const held = this.heldOf(source);
    if (ev.seq <= upTo || held.has(ev.seq)) {
      metrics.duplicates.inc({ service: name });
      log.debug({ eventId: ev.id, source, seq: ev.seq, position: upTo }, 'event at or below the position, or already held: a redelivery');
      return this.lastWork.get(source) ?? Promise.resolve();
    }
    const text = payload.toString('utf8');
    if (ev.seq > upTo + 1) {
      held.set(ev.seq, { ev, topic, payload: text });
      const work = this.enqueue(this.key(ev), source, (tx) =>
        tx
          .run('INSERT OR IGNORE INTO inbox_pending (source, seq, id, topic, payload) VALUES (?,?,?,?,?)', [source, ev.seq, ev.id, topic, text])
          .then(() => undefined),
      );
      this.lastWork.set(source, work);
      this.scheduleGap(source);
      return work;
    }
    const work = this.accept(ev, topic, text, false, restart);
    this.pull(source);
    return work;
  }

  /**
   * The source's newest seq (retained `svc/<source>/head`). Behind it with nothing
   * pending means the tail of the stream was lost (e.g. a broker crash after PUBACK):
   * ask for it after the usual wait.
   */
  noteHead(source: string, seq: number): void {
    const pos = this.upTo(source);
    const max = this.opts.maxHeadAhead ?? 50_000;
    if (pos !== undefined && seq > pos + max) {
      this.alarm(source, 'head', `head ${seq} of ${source} is ${seq - pos} ahead of position ${pos}, more than a log keeps (${max}): ignored`, {
        seq,
        position: pos,
      });
      return;
    }
    this.announced.set(source, Math.max(seq, this.announced.get(source) ?? 0));
    if (pos === undefined || seq <= pos) return;
    this.heads.set(source, Math.max(seq, this.heads.get(source) ?? 0));
    this.scheduleGap(source);
  }

  /** The source has answered a replay: events it no longer holds are a permanent gap. */
  async replayEnded(source: string, firstAvailable: number): Promise<void> {
    const pos = this.upTo(source);
    if (pos === undefined || firstAvailable <= pos + 1) return;
    const reason = `events ${pos + 1}..${firstAvailable - 1} of ${source} are gone from its log (retention); skipped`;
    this.opts.log.error({ source, from: pos + 1, to: firstAvailable - 1 }, reason);
    this.accepted.set(source, firstAvailable - 1);
    const work = this.enqueue(`source:${source}`, source, async (tx) => {
      await this.opts.deadLetters.add(tx, { topic: `evt/${source}`, payload: '', reason });
      await this.storePosition(tx, source, firstAvailable - 1);
    });
    this.lastWork.set(source, work);
    this.pull(source);
    await work;
  }

  /**
   * The first event of `source` under a log id other than the one known. The first
   * one ever heard (or one from before logs had ids) is recorded and changes nothing.
   * Otherwise the source started its log again from nothing: its position moves to
   * just before this event, events held from the old log are void, and what the old
   * log had past the position is lost (the design: a source whose database and the
   * broker's are both lost starts again at seq 1).
   */
  private newLog(source: string, ev: Envelope, knownLog: string | undefined): LogRestart | undefined {
    this.logs.set(source, ev.log!);
    const upTo = this.upTo(source);
    if (knownLog === undefined || upTo === undefined) return undefined;
    const retired = this.retiredLogs.get(source) ?? new Set<string>();
    retired.add(knownLog);
    this.retiredLogs.set(source, retired);
    this.heldOf(source).clear();
    this.heads.delete(source);
    const gap = this.gaps.get(source);
    if (gap) clearTimeout(gap.timer);
    this.gaps.delete(source);
    const to = ev.seq - 1;
    const lost = to > upTo ? { from: upTo + 1, to } : undefined;
    this.accepted.set(source, to);
    this.opts.metrics.logRestarts.inc({ service: this.opts.name, source });
    this.opts.log.warn(
      { source, from: upTo, to, log: ev.log, lost },
      `${source} started a new log (its database was replaced): position ${upTo} -> ${to}${lost ? `; events ${lost.from}..${lost.to} of the old log are lost` : ''}`,
    );
    return { to, ...(lost ? { lost } : {}) };
  }

  /**
   * Why a new log id of a known source cannot be a source starting over, or undefined
   * when it can (README "A source that starts over"): a source that lost its database
   * starts again at 1 (the broker's lost too) or right after the head it announced (the
   * broker kept it). Only the source's own principal publishes under evt/<source>/
   * (broker/acl.ts), so an event here is the source's own; the seq must still fit.
   */
  private implausibleRestart(source: string, ev: Envelope, knownLog: string | undefined): string | undefined {
    const upTo = this.upTo(source);
    if (knownLog === undefined || upTo === undefined || ev.seq === 1) return undefined;
    const after = Math.max(upTo, this.announced.get(source) ?? 0);
    if (ev.seq <= after + 1) return undefined;
    return `new log ${ev.log} of ${source} starts at seq ${ev.seq}, neither 1 nor right after its head ${after}: not a source starting over; ignored`;
  }

  /** An announcement not believed: counted, logged, shown in the service's status. */
  private alarm(source: string, what: 'head' | 'restart', message: string, detail: Record<string, unknown>): void {
    this.ignored += 1;
    this.opts.metrics.sourceImplausible.inc({ service: this.opts.name, source, what });
    this.opts.log.warn({ source, what, ...detail }, message);
  }

  /** The last seq of `source` applied or queued for apply (undefined: never heard of). */
  private upTo(source: string): number | undefined {
    return this.accepted.get(source) ?? this.positions.get(source);
  }

  private key(ev: Envelope): string {
    return this.opts.keyOf?.(ev) ?? ev.txn ?? `source:${ev.source}`;
  }

  private heldOf(source: string): Map<number, Held> {
    let m = this.held.get(source);
    if (!m) {
      m = new Map();
      this.held.set(source, m);
    }
    return m;
  }

  private async loadHeld(source?: string): Promise<void> {
    const rows = await this.opts.store.all<{ source: string; seq: number; topic: string; payload: string }>(
      `SELECT source, seq, topic, payload FROM inbox_pending${source ? ' WHERE source = ?' : ''}`,
      source ? [source] : [],
    );
    for (const row of rows) {
      const parsed = parseEvent(row.topic, row.payload, Number.MAX_SAFE_INTEGER);
      if (!parsed.ok) {
        await this.opts.store.run('DELETE FROM inbox_pending WHERE source = ? AND seq = ?', [row.source, row.seq]);
        continue;
      }
      this.heldOf(row.source).set(row.seq, { ev: parsed.event, topic: row.topic, payload: row.payload });
    }
  }

  /**
   * The committed position in memory. In the table the trigger on inbox_seen moved it
   * (with max(): events of one source under different keys commit in one batch in any
   * order); an id already seen was recorded with a position at least its seq. Only a
   * source's new log moves it down (`down`).
   */
  private positionAfterCommit(tx: Tx, source: string, seq: number, down = false): void {
    tx.afterCommit(() => this.positions.set(source, down ? seq : Math.max(seq, this.positions.get(source) ?? 0)));
  }

  /** Write a position without an event to record (a skipped range, a new log), and keep it after COMMIT. */
  private async storePosition(tx: Tx, source: string, seq: number, down = false): Promise<void> {
    await tx.run(
      `INSERT INTO inbox_position (source, last_seq) VALUES (?, ?) ON CONFLICT(source) DO UPDATE SET last_seq = ${down ? 'excluded.last_seq' : 'max(last_seq, excluded.last_seq)'}`,
      [source, seq],
    );
    this.positionAfterCommit(tx, source, seq, down);
  }

  /** Queue the next event of its source for apply. */
  private accept(ev: Envelope, topic: string, payload: string, fromPending: boolean, restart?: LogRestart): Promise<void> {
    this.accepted.set(ev.source, ev.seq);
    const work = this.enqueue(this.key(ev), ev.source, (tx) => this.applyIn(tx, ev, fromPending, restart), {
      what: `${ev.type} ${ev.id}`,
      event: { ev, fromPending, ...(restart ? { restart } : {}) },
      giveUp: async (tx, lastError) => {
        await this.opts.deadLetters.add(tx, {
          eventId: ev.id,
          topic,
          payload,
          reason: `failed ${this.opts.maxAttempts} times: ${lastError}`,
          attempts: this.opts.maxAttempts,
        });
        await this.markOne(tx, ev, restart);
        if (fromPending) await this.unpend(tx, ev);
        tx.afterCommit(() => this.opts.metrics.deadLettered.inc({ service: this.opts.name }));
      },
    });
    this.lastWork.set(ev.source, work);
    return work;
  }

  /** Queue the held events that are now next in line, then settle the source's gap. */
  private pull(source: string): void {
    const held = this.heldOf(source);
    for (;;) {
      const next = (this.upTo(source) ?? 0) + 1;
      const h = held.get(next);
      if (!h) break;
      held.delete(next);
      void this.accept(h.ev, h.topic, h.payload, true).catch(() => undefined);
    }
    const head = this.heads.get(source);
    const behindHead = head !== undefined && head > (this.upTo(source) ?? 0);
    if (held.size === 0 && !behindHead) {
      this.heads.delete(source);
      const gap = this.gaps.get(source);
      if (gap) clearTimeout(gap.timer);
      this.gaps.delete(source);
    } else if (this.gaps.has(source) || held.size > 0) {
      this.scheduleGap(source);
    }
  }

  /** Record one event as seen and its source's position; true when it was not seen before. */
  private async markOne(tx: Tx, ev: Envelope, restart?: LogRestart): Promise<boolean> {
    if (restart) await this.restartLog(tx, ev.source, restart);
    const r = await tx.run('INSERT OR IGNORE INTO inbox_seen (id, source, seq) VALUES (?,?,?)', [ev.id, ev.source, ev.seq]);
    await this.saveLog(tx, ev);
    this.positionAfterCommit(tx, ev.source, ev.seq, restart !== undefined);
    this.pruneSeen(tx);
    return r.changes > 0;
  }

  /**
   * inbox_seen keeps the newest SEEN_KEPT ids (event ids are ULIDs: they sort by time);
   * older redeliveries are caught by the position. Pruned every SEEN_PRUNE_EVERY events,
   * lazily: a prune lost in a crash is done the next time.
   */
  private pruneSeen(tx: Tx, added = 1): void {
    tx.afterCommit(() => {
      this.seenSincePrune += added;
      if (this.seenSincePrune < SEEN_PRUNE_EVERY) return;
      this.seenSincePrune = 0;
      this.opts.store
        .lazyRun('DELETE FROM inbox_seen WHERE id < (SELECT id FROM inbox_seen ORDER BY id DESC LIMIT 1 OFFSET ?)', [SEEN_KEPT])
        .catch((err: Error) => this.opts.log.warn({ err: err.message }, 'could not prune inbox_seen; tried again later'));
    });
  }

  /** The position moves to where the new log starts (down, too); the old log's held events and lost tail are settled. */
  private async restartLog(tx: Tx, source: string, restart: LogRestart): Promise<void> {
    await this.storePosition(tx, source, restart.to, true);
    await tx.run('DELETE FROM inbox_pending WHERE source = ?', [source]);
    if (restart.lost) {
      await this.opts.deadLetters.add(tx, {
        topic: `evt/${source}`,
        payload: '',
        reason: `events ${restart.lost.from}..${restart.lost.to} of ${source} were lost with its log (the source started a new one)`,
      });
    }
  }

  /** Remember the log id of `ev`'s source with its position (inbox_position.log) when it is new. */
  private async saveLog(tx: Tx, ev: Envelope): Promise<void> {
    const log = ev.log;
    if (log === undefined || this.savedLogs.get(ev.source) === log) return;
    await tx.run('UPDATE inbox_position SET log = ? WHERE source = ?', [log, ev.source]);
    tx.afterCommit(() => this.savedLogs.set(ev.source, log));
  }

  private async unpend(tx: Tx, ev: Envelope): Promise<void> {
    await tx.run('DELETE FROM inbox_pending WHERE source = ? AND seq = ?', [ev.source, ev.seq]);
  }

  /** Apply one event in `tx`; throws when its handler does (the transaction rolls back). */
  private async applyIn(tx: Tx, ev: Envelope, fromPending: boolean, restart?: LogRestart): Promise<void> {
    await this.handleIn(tx, { ev, fromPending }, await this.markOne(tx, ev, restart));
  }

  private enqueue(key: string, source: string, run: (tx: Tx) => Promise<void>, extra: Pick<Work, 'giveUp' | 'what' | 'event'> = {}): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ key, source, gen: this.generation.get(source) ?? 0, run, tries: 0, ...extra, resolve, reject });
      this.flushing ??= this.flush().finally(() => {
        this.flushing = undefined;
      });
    });
  }

  private stale(w: Work): boolean {
    if (w.gen === (this.generation.get(w.source) ?? 0)) return false;
    w.reject(new Error(`${w.source} was reset after a failure; the broker redelivers`));
    return true;
  }

  /** Group commit: whatever queued while the previous transaction ran commits together. */
  private async flush(): Promise<void> {
    const max = this.opts.maxBatch ?? 256;
    while (this.queue.length > 0) {
      // An event that restarts its source's log moves the position down: it commits in a
      // batch of its own, after everything queued before it.
      let n = 1;
      if (!this.queue[0].event?.restart) while (n < this.queue.length && n < max && !this.queue[n].event?.restart) n++;
      const batch = this.queue.splice(0, n).filter((w) => !this.stale(w));
      if (batch.length === 0) continue;
      let results: PromiseSettledResult<void>[] = [];
      try {
        await this.opts.store.tx(async (tx) => {
          const fresh = await this.markSeen(tx, batch);
          const keyed = new KeyedExecutor();
          results = await Promise.allSettled(batch.map((w) => keyed.run(w.key, () => (w.event ? this.handleIn(tx, w.event, fresh.has(w)) : w.run(tx)))));
          const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
          if (failed) throw failed.reason;
        });
        this.opts.metrics.inboxBatch.observe({ service: this.opts.name }, batch.length);
        for (const w of batch) w.resolve();
      } catch (err) {
        // One event failed (or the commit did): each again in a transaction of its own.
        batch.forEach((w, i) => {
          const r = results[i];
          if (r?.status === 'rejected') this.failed(w, (r.reason as Error).message);
        });
        if (!results.length) this.opts.log.warn({ err: (err as Error).message }, `a batch of ${batch.length} events did not commit; applying them one by one`);
        await this.runAlone(batch);
      }
    }
  }

  /**
   * The bookkeeping of a batch in a few statements instead of a few per event: which
   * events are new (their ids into inbox_seen) and each source's new position.
   */
  private async markSeen(tx: Tx, batch: Work[]): Promise<Set<Work>> {
    const events = batch.filter((w) => w.event);
    const fresh = new Set<Work>();
    if (events.length === 0) return fresh;
    if (events.length === 1) {
      // One event (the usual case at a lane's pace): one statement says whether it is new.
      if (await this.markOne(tx, events[0].event!.ev, events[0].event!.restart)) fresh.add(events[0]);
      return fresh;
    }
    const ids = events.map((w) => w.event!.ev.id);
    const known = new Set((await tx.all<{ id: string }>(`SELECT id FROM inbox_seen WHERE id IN (${ids.map(() => '?').join(',')})`, ids)).map((r) => r.id));
    const top = new Map<string, number>();
    for (const w of events) {
      const { ev } = w.event!;
      top.set(ev.source, Math.max(ev.seq, top.get(ev.source) ?? 0));
      if (known.has(ev.id)) continue;
      known.add(ev.id);
      fresh.add(w);
    }
    if (fresh.size > 0) {
      const rows = [...fresh].map((w) => w.event!.ev);
      await tx.run(
        `INSERT INTO inbox_seen (id, source, seq) VALUES ${rows.map(() => '(?,?,?)').join(',')}`,
        rows.flatMap((ev) => [ev.id, ev.source, ev.seq]),
      );
    }
    for (const [source, seq] of top) this.positionAfterCommit(tx, source, seq);
    // the newest log id of each source in the batch
    const lastOf = new Map(events.map((w) => [w.event!.ev.source, w.event!.ev]));
    for (const ev of lastOf.values()) await this.saveLog(tx, ev);
    this.pruneSeen(tx, fresh.size);
    return fresh;
  }

  /** A batched event after markSeen: its handler, or a duplicate counted. */
  private async handleIn(tx: Tx, { ev, fromPending }: { ev: Envelope; fromPending: boolean }, fresh: boolean): Promise<void> {
    if (fromPending) await this.unpend(tx, ev);
    if (!fresh) {
      tx.afterCommit(() => this.opts.metrics.duplicates.inc({ service: this.opts.name }));
      return;
    }
    await this.opts.handle(ev, tx);
    tx.afterCommit(() => {
      this.applied += 1;
      this.opts.metrics.eventsIn.inc({ service: this.opts.name });
    });
  }

  private failed(w: Work, message: string): void {
    w.tries += 1;
    if (w.what)
      this.opts.log.warn({ work: w.what, attempt: w.tries, err: message }, `processing ${w.what} failed (attempt ${w.tries} of ${this.opts.maxAttempts})`);
  }

  /** Each event in its own transaction, retried; after `maxAttempts` a dead letter. */
  private async runAlone(batch: Work[]): Promise<void> {
    for (const w of batch) {
      if (this.stale(w)) continue;
      let lastError = '';
      let done = false;
      while (!done && w.tries < this.opts.maxAttempts && !this.stopped) {
        try {
          await this.opts.store.tx((tx) => w.run(tx));
          done = true;
        } catch (err) {
          lastError = (err as Error).message;
          this.failed(w, lastError);
        }
      }
      try {
        if (!done && w.giveUp && !this.stopped) {
          await this.opts.store.tx((tx) => w.giveUp!(tx, lastError));
          done = true;
        }
        if (!done) throw new Error(lastError || 'stopped');
        w.resolve();
      } catch (err) {
        this.opts.log.error(
          { source: w.source, err: (err as Error).message },
          `could not apply or dead-letter an event of ${w.source}; the broker redelivers it`,
        );
        await this.reset(w.source);
        w.reject(err as Error);
      }
    }
  }

  /** After a store failure: forget the in-memory order of `source`, queued work of it is dropped and redelivered. */
  private async reset(source: string): Promise<void> {
    this.generation.set(source, (this.generation.get(source) ?? 0) + 1);
    this.accepted.delete(source);
    this.logs.delete(source);
    this.lastWork.delete(source);
    this.held.delete(source);
    await this.loadHeld(source).catch(() => undefined);
  }

  private deadLetter(topic: string, payload: Buffer, reason: string, eventId: string | undefined): Promise<void> {
    return this.opts.store
      .tx((tx) => this.opts.deadLetters.add(tx, { eventId, topic, payload, reason, attempts: 0 }))
      .then(
        () => this.opts.metrics.deadLettered.inc({ service: this.opts.name }),
        (err: Error) => this.opts.log.error({ topic, err: err.message }, 'could not store a dead letter'),
      );
  }

  private scheduleGap(source: string): void {
    if (this.stopped) return;
    const gap = this.gaps.get(source) ?? { timer: undefined, tries: 0 };
    this.gaps.set(source, gap);
    if (gap.timer) return;
    const wait = gap.tries === 0 ? this.opts.gapWaitMs : Math.min(30_000, 1000 * 2 ** Math.min(gap.tries - 1, 5));
    gap.timer = setTimeout(() => {
      gap.timer = undefined;
      this.askReplay(source, gap);
    }, wait);
    gap.timer.unref();
  }

  private askReplay(source: string, gap: Gap): void {
    if (this.stopped || !this.gaps.has(source)) return;
    const held = [...this.heldOf(source).keys()];
    const pos = this.upTo(source);
    const head = this.heads.get(source);
    let to: number;
    if (held.length > 0) to = Math.min(...held) - 1;
    else if (head !== undefined && pos !== undefined && head > pos) {
      // Behind the head while the stream still flows is a backlog, not a loss: ask only once it went quiet.
      const quietFor = Date.now() - (this.lastHeard.get(source) ?? 0);
      const quiet = Math.max(1000, this.opts.gapWaitMs * 4);
      if (quietFor < quiet) {
        gap.timer = setTimeout(() => {
          gap.timer = undefined;
          this.askReplay(source, gap);
        }, quiet - quietFor);
        gap.timer.unref();
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
      this.pull(source);
      return;
    }
    gap.tries += 1;
    this.opts.metrics.replayRequests.inc({ service: this.opts.name, source });
    this.opts.log.info({ source, from, to, tries: gap.tries }, `seq gap from ${source}: asking for replay of ${from}..${to}`);
    this.opts.requestReplay(source, from, to);
    this.scheduleGap(source);
  }
}
