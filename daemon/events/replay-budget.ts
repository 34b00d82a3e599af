/**
 * How many replay requests one requester may make of one source: a bucket of
 * `burst` requests that refills one every `everyMs`. A consumer asks once per gap
 * and backs off (daemon/events/inbox.ts), so only a flood runs dry; each request
 * republishes up to 5,000 events.
 */
export class ReplayBudget {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly burst = 5,
    private readonly everyMs = 2000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Take one request of `requester` for `source`; false when its budget is spent. */
  take(requester: string, source: string): boolean {
    const key = `${requester}\u0000${source}`;
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) / this.everyMs);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
