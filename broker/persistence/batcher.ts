interface Entry<T> {
  item: T;
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

export interface BatcherOptions<T> {
  /** Writes one batch, in the order the items were added; each add() settles as it does. */
  flush(batch: T[]): Promise<void>;
  /** Items in one batch at most (default: all that wait). */
  maxBatch?: number;
  /** An item for which this is true goes in a batch of its own, after everything added before it. */
  alone?(item: T): boolean;
  /**
   * When a flush starts: `'now'` (default) at once, so the first item of a quiet spell goes
   * alone; `'turn'` on the next turn of the event loop, so the items of one turn share it;
   * a number of milliseconds: that long after the first item of the batch was added.
   */
  start?: 'now' | 'turn' | number;
}

/**
 * Group commit: items added while a flush runs are flushed together in the next.
 * Flushes never overlap and run in the order their items were added; each add()
 * resolves or rejects with the flush of its batch.
 */
export class Batcher<T = void> {
  private pending: Array<Entry<T>> = [];
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** The waiting items have waited their `start` milliseconds. */
  private due = false;

  constructor(private readonly opts: BatcherOptions<T>) {}

  /** Resolves once `item` is flushed; rejects when its batch's flush does. */
  add(item: T): Promise<void> {
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // a caller that drops the promise must not crash the process
    promise.catch(() => undefined);
    const start = this.opts.start;
    if (typeof start === 'number' && this.pending.length === 0 && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.due = true;
        this.kick();
      }, start);
    }
    this.pending.push({ item, promise, resolve, reject });
    this.kick();
    return promise;
  }

  /** Resolves when nothing waits or runs. */
  async idle(): Promise<void> {
    while (this.running || this.pending.length > 0) {
      await (this.running ?? this.pending[this.pending.length - 1].promise).catch(() => undefined);
    }
  }

  /** Drops the items not yet flushing (they reject with `err`) and any wait for a flush. */
  cancel(err: Error): void {
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    this.due = false;
    for (const e of this.pending.splice(0)) e.reject(err);
  }

  private kick(): void {
    if (this.running || this.pending.length === 0) return;
    const start = this.opts.start ?? 'now';
    if (start === 'now' || this.due) this.run();
    else if (start === 'turn') {
      this.immediate ??= setImmediate(() => {
        this.immediate = undefined;
        this.due = true;
        this.kick();
      });
    }
  }

  private run(): void {
    const batch = this.cut();
    this.due = this.pending.length > 0 && this.opts.start !== 'turn';
    this.running = this.opts.flush(batch.map((e) => e.item)).then(
      () => {
        for (const e of batch) e.resolve();
      },
      (err: unknown) => {
        for (const e of batch) e.reject(err);
      },
    );
    void this.running.then(() => {
      this.running = undefined;
      this.kick();
    });
  }

  /** The next batch: up to maxBatch items, split before and after an item that goes alone. */
  private cut(): Array<Entry<T>> {
    const max = this.opts.maxBatch ?? Infinity;
    const alone = (i: number): boolean => this.opts.alone?.(this.pending[i].item) ?? false;
    let n = 1;
    if (!alone(0)) while (n < this.pending.length && n < max && !alone(n)) n++;
    return this.pending.splice(0, n);
  }
}
