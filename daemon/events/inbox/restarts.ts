import type { Tx } from '../../store/store.js';
import type { Envelope } from '../envelope.js';

/**
 * A source whose log started again from nothing (its database lost): its events
 * carry a new `log` id. The consumer's position moves to just before the first
 * event of the new log (down, when the new log starts at 1); what the old log
 * had past the position is lost and recorded as a dead letter.
 */
export interface LogRestart {
  to: number;
  lost?: { from: number; to: number };
}

/** Each source's log id and announced head: what tells a source starting over from a stray message. */
export class SourceLogs {
  /** Each source's log id: committed (inbox_position.log), and as decided on arrival. */
  private readonly saved = new Map<string, string>();
  private readonly current = new Map<string, string>();
  /** Log ids a source replaced: their late redeliveries are dropped. */
  private readonly retired = new Map<string, Set<string>>();
  /** The highest head each source announced (within maxHeadAhead): where a new log may continue. */
  private readonly announced = new Map<string, number>();

  /** The committed log id of a source, at start. */
  load(source: string, log: string): void {
    this.saved.set(source, log);
  }

  known(source: string): string | undefined {
    return this.current.get(source) ?? this.saved.get(source);
  }

  isRetired(source: string, log: string): boolean {
    return this.retired.get(source)?.has(log) ?? false;
  }

  announce(source: string, seq: number): void {
    this.announced.set(source, Math.max(seq, this.announced.get(source) ?? 0));
  }

  /**
   * Why a new log id of a known source cannot be a source starting over, or undefined
   * when it can (README "A source that starts over"): a source that lost its database
   * starts again at 1 (the broker's lost too) or right after the head it announced (the
   * broker kept it). Only the source's own principal publishes under evt/<source>/
   * (broker/acl.ts), so an event here is the source's own; the seq must still fit.
   */
  implausible(source: string, ev: Envelope, upTo: number | undefined): string | undefined {
    const knownLog = this.known(source);
    if (knownLog === undefined || upTo === undefined || ev.seq === 1) return undefined;
    const after = Math.max(upTo, this.announced.get(source) ?? 0);
    if (ev.seq <= after + 1) return undefined;
    return `new log ${ev.log} of ${source} starts at seq ${ev.seq}, neither 1 nor right after its head ${after}: not a source starting over; ignored`;
  }

  /**
   * The first event of `source` under a log id other than the one known. The first
   * one ever heard (or one from before logs had ids) is recorded and changes nothing.
   * Otherwise the source started its log again from nothing: its position moves to
   * just before this event, and what the old log had past the position is lost (the
   * design: a source whose database and the broker's are both lost starts again at seq 1).
   */
  begin(source: string, ev: Envelope, upTo: number | undefined): LogRestart | undefined {
    const knownLog = this.known(source);
    this.current.set(source, ev.log!);
    if (knownLog === undefined || upTo === undefined) return undefined;
    const retired = this.retired.get(source) ?? new Set<string>();
    retired.add(knownLog);
    this.retired.set(source, retired);
    const to = ev.seq - 1;
    const lost = to > upTo ? { from: upTo + 1, to } : undefined;
    return { to, ...(lost ? { lost } : {}) };
  }

  /** Remember the log id of `ev`'s source with its position (inbox_position.log) when it is new. */
  async save(tx: Tx, ev: Envelope): Promise<void> {
    const log = ev.log;
    if (log === undefined || this.saved.get(ev.source) === log) return;
    await tx.run('UPDATE inbox_position SET log = ? WHERE source = ?', [log, ev.source]);
    tx.afterCommit(() => this.saved.set(ev.source, log));
  }

  /** After a store failure: the log decided on arrival is decided again. */
  forget(source: string): void {
    this.current.delete(source);
  }
}
