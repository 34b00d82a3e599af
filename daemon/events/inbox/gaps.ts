import type { Logger } from '../../core/log.js';
import type { Metrics } from '../../core/metrics.js';

interface Gap {
  timer: NodeJS.Timeout | undefined;
  tries: number;
}

/**
 * Seq gaps and catch-up replay (the design "Order": gap -> replay request): a source
 * with events held ahead of a gap, or a position behind the head it announced, is
 * asked for the missing range after `gapWaitMs`, then with backoff until it is filled.
 */
export class GapWatcher {
  private readonly gaps = new Map<string, Gap>();
  /** Announced heads ahead of the position (`svc/<source>/head`). */
  private readonly heads = new Map<string, number>();
  /** When each source last delivered anything: a consumer that is merely behind is not missing events. */
  private readonly lastHeard = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly opts: {
      name: string;
      log: Logger;
      metrics: Metrics;
      gapWaitMs: number;
      /** The last seq of `source` applied or queued for apply. */
      upTo(source: string): number | undefined;
      /** The seqs held ahead of a gap. */
      held(source: string): number[];
      /** Queue what became next in line (and settle the gap). */
      pull(source: string): void;
      requestReplay(source: string, from: number, to: number): void;
    },
  ) {}

  heard(source: string): void {
    this.lastHeard.set(source, Date.now());
  }

  /** A head ahead of the position: asked for once the stream goes quiet. */
  head(source: string, seq: number): void {
    this.heads.set(source, Math.max(seq, this.heads.get(source) ?? 0));
    this.schedule(source);
  }

  /** The source's old log is void (it started a new one): nothing of it is missing. */
  forget(source: string): void {
    this.heads.delete(source);
    this.clear(source);
  }

  /** After a pull: the gap is closed when nothing is held and the head is reached, else watched on. */
  settle(source: string, held: number): void {
    const head = this.heads.get(source);
    const behindHead = head !== undefined && head > (this.opts.upTo(source) ?? 0);
    if (held === 0 && !behindHead) {
      this.heads.delete(source);
      this.clear(source);
    } else if (this.gaps.has(source) || held > 0) {
      this.schedule(source);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const g of this.gaps.values()) clearTimeout(g.timer);
    this.gaps.clear();
  }

  schedule(source: string): void {
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

  private clear(source: string): void {
    const gap = this.gaps.get(source);
    if (gap) clearTimeout(gap.timer);
    this.gaps.delete(source);
  }

  private askReplay(source: string, gap: Gap): void {
    if (this.stopped || !this.gaps.has(source)) return;
    const held = this.opts.held(source);
    const pos = this.opts.upTo(source);
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
      this.opts.pull(source);
      return;
    }
    gap.tries += 1;
    this.opts.metrics.replayRequests.inc({ service: this.opts.name, source });
    this.opts.log.info({ source, from, to, tries: gap.tries }, `seq gap from ${source}: asking for replay of ${from}..${to}`);
    this.opts.requestReplay(source, from, to);
    this.schedule(source);
  }
}
