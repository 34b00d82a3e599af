import type { DriverContext } from './driver.js';
import type { Logger } from './log.js';

/**
 * Serialises a driver's emits so events commit in the order the device
 * produced them; a failed commit is logged with the event type, never thrown
 * into the byte-parsing path.
 */
export class Publisher {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: Pick<DriverContext<unknown>, 'emit' | 'name'>,
    private readonly log: Logger,
  ) {}

  emit(type: string, data: unknown): Promise<void> {
    this.chain = this.chain.then(async () => {
      try {
        await this.ctx.emit(type, data);
      } catch (err) {
        this.log.error({ err, type, device: this.ctx.name }, `could not commit ${type} of device ${this.ctx.name}; the reading is lost`);
      }
    });
    return this.chain;
  }

  /** Resolves when everything emitted so far has been handed over. */
  idle(): Promise<void> {
    return this.chain;
  }
}

/**
 * At most `limit` rejections per `windowMs`; the rest are counted and the
 * count travels with the next published one. Bad bytes from a device must not
 * flood the outbox or the journal (the code conventions "Errors").
 */
export class RejectLimiter {
  private windowStart = -Infinity;
  private inWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** undefined: drop this one; otherwise publish it with the given suppressed count (0 = none). */
  take(now: number): number | undefined {
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.limit) {
      this.suppressed++;
      return undefined;
    }
    this.inWindow++;
    const s = this.suppressed;
    this.suppressed = 0;
    return s;
  }
}
