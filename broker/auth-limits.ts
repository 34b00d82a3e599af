/** A token bucket: `burst` tokens, `perSecond` back; a monotonic clock in ms. */
class Bucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
  }

  has(now: number): boolean {
    this.refill(now);
    return this.tokens >= 1;
  }

  take(now: number): void {
    this.refill(now);
    this.tokens = Math.max(0, this.tokens - 1);
  }

  full(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }
}

export interface Rate {
  /** Failures allowed at once. */
  burst: number;
  /** Failures allowed per second after that. */
  perSecond: number;
}

/** Failed authentications per source and in all; a source or the whole over its rate is not checked. */
export class FailureLimits {
  private readonly sources = new Map<string, Bucket>();
  private readonly all: Bucket;

  constructor(
    private readonly perSource: Rate,
    global: Rate,
    private readonly maxSources = 1024,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.all = new Bucket(global.burst, global.perSecond, this.now());
  }

  /** Whether a check that may fail (and cost a hash) is allowed now for `source`. */
  allows(source: string): boolean {
    const now = this.now();
    return this.all.has(now) && (this.sources.get(source)?.has(now) ?? true);
  }

  failed(source: string): void {
    const now = this.now();
    this.all.take(now);
    let b = this.sources.get(source);
    if (!b) {
      if (this.sources.size >= this.maxSources) this.prune(now);
      b = new Bucket(this.perSource.burst, this.perSource.perSecond, now);
      this.sources.set(source, b);
    }
    b.take(now);
  }

  private prune(now: number): void {
    for (const [k, b] of this.sources) if (b.full(now)) this.sources.delete(k);
    // still full of sources that keep failing: forget the oldest
    while (this.sources.size >= this.maxSources) this.sources.delete(this.sources.keys().next().value as string);
  }
}

/**
 * At most `max` tasks at once, `maxWaiting` more queued, the rest turned away (undefined):
 * hashing stays off most of libuv's pool, which SQLite's queries use too.
 */
export class Semaphore {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly max: number,
    private readonly maxWaiting: number,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T | undefined> {
    if (this.running >= this.max) {
      if (this.waiting.length >= this.maxWaiting) return undefined;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
