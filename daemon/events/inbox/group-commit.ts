import type { Store, Tx } from '../../store/store.js';
import type { Logger } from '../../core/log.js';
import type { DomainEvent } from '../schemas/index.js';
import { KeyedExecutor } from '../executor.js';
import { Batcher } from '../../../broker/persistence/batcher.js';
import type { LogRestart } from './restarts.js';

/** The event a unit of work applies. */
export interface Applied {
  ev: DomainEvent;
  fromPending: boolean;
  restart?: LogRestart;
}

/** One unit of inbox work: applied inside a group-commit transaction. */
export interface Work {
  key: string;
  source: string;
  /** The source's generation when this work was queued: a reset source drops stale work. */
  gen: number;
  /** Throws on failure: the transaction rolls back. */
  run(tx: Tx): Promise<void>;
  /** For an event: record it as a dead letter once it failed `maxAttempts` times. */
  giveUp?(tx: Tx, lastError: string): Promise<void>;
  /** The event this work applies (absent for buffering and bookkeeping work). */
  event?: Applied;
  /** Failed attempts so far. */
  tries: number;
  what?: string;
  resolve(): void;
  reject(err: Error): void;
}

/**
 * Group commit of inbox work: whatever queued while one transaction committed
 * commits together in the next (one fsync for many events). Inside a batch the
 * keyed executor runs one key's work one at a time, different keys side by side.
 * A batch that fails is applied again one unit at a time, each retried up to
 * `maxAttempts`, then given up (dead-lettered) or, when even that fails, its
 * source is reset and the broker redelivers.
 */
export class GroupCommitQueue {
  /**
   * An event that restarts its source's log moves the position down: it commits in a
   * batch of its own, after everything queued before it. Each unit settles itself (in a
   * batch, or one by one after a failure), so the batcher's own promise is not used.
   */
  private readonly batches: Batcher<Work>;
  private readonly generation = new Map<string, number>();

  constructor(
    private readonly opts: {
      store: Store;
      log: Logger;
      maxAttempts: number;
      maxBatch: number;
      stopped(): boolean;
      /** The bookkeeping of a batch: which of its events were not seen before. */
      markSeen(tx: Tx, batch: Work[]): Promise<Set<Work>>;
      /** Apply a batched event after markSeen. */
      apply(tx: Tx, event: Applied, fresh: boolean): Promise<void>;
      committed(n: number): void;
      /** A unit that could neither be applied nor given up. */
      reset(source: string): Promise<void>;
    },
  ) {
    this.batches = new Batcher<Work>({ flush: (batch) => this.flush(batch), maxBatch: opts.maxBatch, alone: (w) => !!w.event?.restart });
  }

  /** Resolves when every queued unit is committed. */
  idle(): Promise<void> {
    return this.batches.idle();
  }

  enqueue(key: string, source: string, run: (tx: Tx) => Promise<void>, extra: Pick<Work, 'giveUp' | 'what' | 'event'> = {}): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      void this.batches.add({ key, source, gen: this.generation.get(source) ?? 0, run, tries: 0, ...extra, resolve, reject });
    });
  }

  /** Work queued for `source` so far is stale: dropped (rejected) when its turn comes. */
  invalidate(source: string): void {
    this.generation.set(source, (this.generation.get(source) ?? 0) + 1);
  }

  private stale(w: Work): boolean {
    if (w.gen === (this.generation.get(w.source) ?? 0)) return false;
    w.reject(new Error(`${w.source} was reset after a failure; the broker redelivers`));
    return true;
  }

  private async flush(queued: Work[]): Promise<void> {
    const batch = queued.filter((w) => !this.stale(w));
    if (batch.length === 0) return;
    let results: PromiseSettledResult<void>[] = [];
    try {
      await this.opts.store.tx(async (tx) => {
        const fresh = await this.opts.markSeen(tx, batch);
        const keyed = new KeyedExecutor();
        results = await Promise.allSettled(batch.map((w) => keyed.run(w.key, () => (w.event ? this.opts.apply(tx, w.event, fresh.has(w)) : w.run(tx)))));
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      });
      this.opts.committed(batch.length);
      for (const w of batch) w.resolve();
    } catch (err) {
      // One unit failed (or the commit did): each again in a transaction of its own.
      batch.forEach((w, i) => {
        const r = results[i];
        if (r?.status === 'rejected') this.failed(w, (r.reason as Error).message);
      });
      if (!results.length) this.opts.log.warn({ err: (err as Error).message }, `a batch of ${batch.length} events did not commit; applying them one by one`);
      await this.runAlone(batch);
    }
  }

  private failed(w: Work, message: string): void {
    w.tries += 1;
    if (w.what)
      this.opts.log.warn({ work: w.what, attempt: w.tries, err: message }, `processing ${w.what} failed (attempt ${w.tries} of ${this.opts.maxAttempts})`);
  }

  /** Each unit in its own transaction, retried; after `maxAttempts` given up. */
  private async runAlone(batch: Work[]): Promise<void> {
    for (const w of batch) {
      if (this.stale(w)) continue;
      let lastError = '';
      let done = false;
      while (!done && w.tries < this.opts.maxAttempts && !this.opts.stopped()) {
        try {
          await this.opts.store.tx((tx) => w.run(tx));
          done = true;
        } catch (err) {
          lastError = (err as Error).message;
          this.failed(w, lastError);
        }
      }
      try {
        if (!done && w.giveUp && !this.opts.stopped()) {
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
        await this.opts.reset(w.source);
        w.reject(err as Error);
      }
    }
  }
}
