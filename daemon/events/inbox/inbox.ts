import type { Store, Tx } from '../../store/store.js';
import type { Logger } from '../../core/log.js';
import type { Metrics } from '../../core/metrics.js';
import { parseEvent } from '../envelope.js';
import type { DeadLetters } from '../deadletter.js';
import { openTables, writePosition, SeenPruner } from './tables.js';
import { SourceLogs, type LogRestart } from './restarts.js';
import { GapWatcher } from './gaps.js';
import { GroupCommitQueue, type Applied, type Work } from './group-commit.js';
import { parseTopic } from '../../../broker/topics.js';
import type { DomainEvent } from '../schemas/index.js';

export { INBOX_DDL } from './tables.js';

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
  handle(ev: DomainEvent, tx: Tx): Promise<void>;
  /**
   * A head this far ahead of the position is not believed (no log keeps more to replay):
   * it would have the consumer ask for replays forever. Default: 50,000.
   */
  maxHeadAhead?: number;
  /** Ask `source` to publish its log from..to on replay/<source>/<name>. */
  requestReplay(source: string, from: number, to: number): void;
  /** Serialization key; default: the transaction, else the source. */
  keyOf?(ev: DomainEvent): string;
}

/** An event held until the events before it have arrived (mirrors inbox_pending). */
interface Held {
  ev: DomainEvent;
  topic: string;
  payload: string;
}

/**
 * The consumer side of the design "Delivery guarantees": dedup by event id in the
 * consumer's own transaction, per-source `seq` order with a durable reorder
 * buffer, catch-up replay on a gap (gaps.ts), a source starting a new log
 * (restarts.ts), dead letters after `maxAttempts`.
 *
 * `receive` may be called for the next message before the previous one is
 * committed: the order decision is taken at once (in memory), the work queues,
 * and what queued while one transaction committed commits together in the next
 * (group-commit.ts). `receive` resolves only after its event's commit; the caller
 * then sends PUBACK, in arrival order [MQTT-4.6.0-2].
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
  private readonly logs = new SourceLogs();
  private readonly gaps: GapWatcher;
  private readonly commits: GroupCommitQueue;
  private readonly seen: SeenPruner;
  private stopped = false;
  applied = 0;
  /** Heads and log restarts ignored as implausible. */
  ignored = 0;

  constructor(private readonly opts: InboxOptions) {
    this.seen = new SeenPruner(opts.store, opts.log);
    this.gaps = new GapWatcher({
      ...opts,
      upTo: (source) => this.upTo(source),
      held: (source) => [...this.heldOf(source).keys()],
      pull: (source) => this.pull(source),
    });
    this.commits = new GroupCommitQueue({
      store: opts.store,
      log: opts.log,
      maxAttempts: opts.maxAttempts,
      maxBatch: opts.maxBatch ?? 256,
      stopped: () => this.stopped,
      markSeen: (tx, batch) => this.markSeen(tx, batch),
      apply: (tx, event, fresh) => this.handleIn(tx, event, fresh),
      committed: (n) => opts.metrics.inboxBatch.observe({ service: opts.name }, n),
      reset: (source) => this.reset(source),
    });
  }

  async init(): Promise<void> {
    for (const row of await openTables(this.opts.store)) {
      this.positions.set(row.source, row.last_seq);
      if (row.log) this.logs.load(row.source, row.log);
    }
    await this.loadHeld();
    for (const source of this.held.keys()) this.gaps.schedule(source);
  }

  stop(): void {
    this.stopped = true;
    this.gaps.stop();
  }

  /** Resolves when every queued event is committed. */
  idle(): Promise<void> {
    return this.commits.idle();
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
    this.gaps.heard(source);
    const t = parseTopic(topic);
    if (t?.kind === 'replay' && t.source !== source) {
      const reason = `replayed event of source ${source} on ${topic}`;
      log.warn({ topic, eventId: ev.id }, reason);
      return this.deadLetter(topic, payload, reason, ev.id);
    }
    let restart: LogRestart | undefined;
    if (ev.log !== undefined && ev.log !== this.logs.known(source)) {
      if (this.logs.isRetired(source, ev.log)) {
        metrics.duplicates.inc({ service: name });
        log.debug({ eventId: ev.id, source, seq: ev.seq, log: ev.log }, 'event of a log its source has replaced: dropped');
        return this.lastWork.get(source) ?? Promise.resolve();
      }
      const implausible = this.logs.implausible(source, ev, this.upTo(source));
      if (implausible) {
        this.alarm(source, 'restart', implausible, { eventId: ev.id, seq: ev.seq, log: ev.log });
        return this.deadLetter(topic, payload, implausible, ev.id);
      }
      restart = this.newLog(source, ev);
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
      const work = this.commits.enqueue(this.key(ev), source, (tx) =>
        tx
          .run('INSERT OR IGNORE INTO inbox_pending (source, seq, id, topic, payload) VALUES (?,?,?,?,?)', [source, ev.seq, ev.id, topic, text])
          .then(() => undefined),
      );
      this.lastWork.set(source, work);
      this.gaps.schedule(source);
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
    this.logs.announce(source, seq);
    if (pos === undefined || seq <= pos) return;
    this.gaps.head(source, seq);
  }

  /** The source has answered a replay: events it no longer holds are a permanent gap. */
  async replayEnded(source: string, firstAvailable: number): Promise<void> {
    const pos = this.upTo(source);
    if (pos === undefined || firstAvailable <= pos + 1) return;
    const reason = `events ${pos + 1}..${firstAvailable - 1} of ${source} are gone from its log (retention); skipped`;
    this.opts.log.error({ source, from: pos + 1, to: firstAvailable - 1 }, reason);
    this.accepted.set(source, firstAvailable - 1);
    const work = this.commits.enqueue(`source:${source}`, source, async (tx) => {
      await this.opts.deadLetters.add(tx, { topic: `evt/${source}`, payload: '', reason });
      await this.storePosition(tx, source, firstAvailable - 1);
    });
    this.lastWork.set(source, work);
    this.pull(source);
    await work;
  }

  /** A new log of a known source: events held from the old log are void, the position moves to just before this event. */
  private newLog(source: string, ev: DomainEvent): LogRestart | undefined {
    const upTo = this.upTo(source);
    const restart = this.logs.begin(source, ev, upTo);
    if (!restart || upTo === undefined) return undefined;
    this.heldOf(source).clear();
    this.gaps.forget(source);
    const { to, lost } = restart;
    this.accepted.set(source, to);
    this.opts.metrics.logRestarts.inc({ service: this.opts.name, source });
    this.opts.log.warn(
      { source, from: upTo, to, log: ev.log, lost },
      `${source} started a new log (its database was replaced): position ${upTo} -> ${to}${lost ? `; events ${lost.from}..${lost.to} of the old log are lost` : ''}`,
    );
    return restart;
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

  private key(ev: DomainEvent): string {
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
    await writePosition(tx, source, seq, down);
    this.positionAfterCommit(tx, source, seq, down);
  }

  /** Queue the next event of its source for apply. */
  private accept(ev: DomainEvent, topic: string, payload: string, fromPending: boolean, restart?: LogRestart): Promise<void> {
    this.accepted.set(ev.source, ev.seq);
    const work = this.commits.enqueue(this.key(ev), ev.source, (tx) => this.applyIn(tx, ev, fromPending, restart), {
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
    this.gaps.settle(source, held.size);
  }

  /** Record one event as seen and its source's position; true when it was not seen before. */
  private async markOne(tx: Tx, ev: DomainEvent, restart?: LogRestart): Promise<boolean> {
    if (restart) await this.restartLog(tx, ev.source, restart);
    const r = await tx.run('INSERT OR IGNORE INTO inbox_seen (id, source, seq) VALUES (?,?,?)', [ev.id, ev.source, ev.seq]);
    await this.logs.save(tx, ev);
    this.positionAfterCommit(tx, ev.source, ev.seq, restart !== undefined);
    this.seen.note(tx);
    return r.changes > 0;
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

  private async unpend(tx: Tx, ev: DomainEvent): Promise<void> {
    await tx.run('DELETE FROM inbox_pending WHERE source = ? AND seq = ?', [ev.source, ev.seq]);
  }

  /** Apply one event in `tx`; throws when its handler does (the transaction rolls back). */
  private async applyIn(tx: Tx, ev: DomainEvent, fromPending: boolean, restart?: LogRestart): Promise<void> {
    await this.handleIn(tx, { ev, fromPending }, await this.markOne(tx, ev, restart));
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
    for (const ev of lastOf.values()) await this.logs.save(tx, ev);
    this.seen.note(tx, fresh.size);
    return fresh;
  }

  /** A batched event after markSeen: its handler, or a duplicate counted. */
  private async handleIn(tx: Tx, { ev, fromPending }: Applied, fresh: boolean): Promise<void> {
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

  /** After a store failure: forget the in-memory order of `source`, queued work of it is dropped and redelivered. */
  private async reset(source: string): Promise<void> {
    this.commits.invalidate(source);
    this.accepted.delete(source);
    this.logs.forget(source);
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
}
