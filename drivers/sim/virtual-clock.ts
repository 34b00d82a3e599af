import type { Timers, TimerHandle } from '../timers.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when told to. Between timers it lets Node drain
 * process.nextTick, promise jobs and setImmediate callbacks, which is all the
 * serialport mock binding and the fake I2C bus use, so real driver code runs
 * unchanged and tests assert on device time ("within 2 s of the port coming
 * back") without ever reading the wall clock.
 */
export class VirtualClock implements Timers {
  private t = 0;
  private seq = 0;
  private queue: Pending[] = [];

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const p: Pending = { at: this.t + Math.max(0, ms), seq: ++this.seq, fn, cancelled: false };
    this.queue.push(p);
    return p;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle && 'cancelled' in handle) (handle as Pending).cancelled = true;
  }

  /** Let queued I/O callbacks, ticks and promise jobs run without moving time. */
  async settle(rounds = 6): Promise<void> {
    for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
  }

  /** Move time forward by `ms`, firing every timer due on the way in order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await this.settle();
    for (;;) {
      this.queue = this.queue.filter((p) => !p.cancelled);
      let next: Pending | undefined;
      for (const p of this.queue) {
        if (p.at <= end && (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      }
      if (!next) break;
      this.queue.splice(this.queue.indexOf(next), 1);
      this.t = Math.max(this.t, next.at);
      next.fn();
      await this.settle();
    }
    this.t = end;
    await this.settle();
  }

  /**
   * Advance in steps of `stepMs` until `done()` holds or `limitMs` passed;
   * returns the time it took (device time).
   */
  async until(done: () => boolean, limitMs: number, stepMs = 10): Promise<number> {
    const start = this.t;
    while (!done() && this.t - start < limitMs) await this.advance(stepMs);
    return this.t - start;
  }
}
