/**
 * A digital input on the header (attendant key switch, bag-area presence
 * sensor, door contact): BCM number resolved through sysfs, debounced,
 * published as InputChanged with the logical state. The current state is
 * published once at start so services need not wait for the first edge.
 * Pull-ups cannot be set through sysfs: set them in config.txt
 * (`gpio=22=ip,pu`), see drivers/README.md.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { DeviceStatus, Driver, DriverContext } from '../driver.js';
import type { DriverEnv } from '../env.js';
import { Publisher } from '../publish.js';
import { StatusKeeper } from '../status.js';
import type { TimerHandle } from '../timers.js';
import type { GpioLine } from './line.js';
import { resolveBcm } from './resolve.js';

export const GpioInputSchema = Type.Object(
  {
    kind: Type.Literal('gpio-input'),
    simulate: Type.Boolean({ default: false }),
    /** BCM GPIO number (the "GPIO22" of pinout diagrams), not the header pin number. */
    bcm: Type.Integer({ minimum: 0, maximum: 53 }),
    /** Input reads 0 when on (switch to ground with a pull-up). */
    activeLow: Type.Boolean({ default: false }),
    /** The level must hold this long before it counts. */
    debounceMs: Type.Integer({ minimum: 0, maximum: 2000, default: 30 }),
    /** gpiochip label when not the SoC's header chip (pinctrl-rp1 / -bcm2711 / -bcm2835). */
    chipLabel: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type GpioInputConfig = Static<typeof GpioInputSchema>;

export class GpioInput implements Driver {
  readonly kind = 'gpio-input';
  readonly name: string;
  private readonly keeper: StatusKeeper;
  private readonly pub: Publisher;
  private line?: GpioLine;
  private timer?: TimerHandle;
  private level?: 0 | 1;
  private running = false;

  constructor(
    private readonly ctx: DriverContext<GpioInputConfig>,
    private readonly env: DriverEnv,
  ) {
    this.name = ctx.name;
    this.keeper = new StatusKeeper(ctx, this.kind, env.simulated);
    this.pub = new Publisher(ctx, ctx.log);
  }

  async start(): Promise<void> {
    const c = this.ctx.config;
    this.keeper.set('starting');
    this.running = true;
    try {
      const r = await resolveBcm(this.env.gpio.sysfsRoot, c.bcm, c.chipLabel);
      this.line = await this.env.gpio.open({ sysfs: r.sysfs, direction: 'in', edge: 'both' });
      this.ctx.log.debug({ device: this.name, ...r }, 'gpio input resolved');
      this.level = await this.line.read();
      this.line.watch((err) => {
        if (err) return this.ctx.log.debug({ err, device: this.name }, 'gpio watch error');
        this.edge();
      });
    } catch (err) {
      this.keeper.set('failed', `BCM ${c.bcm}: ${(err as Error).message}`);
      return;
    }
    this.keeper.set('ok');
    this.publish(this.level);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.env.timers.clearTimeout(this.timer);
    this.line?.close();
    this.line = undefined;
    this.keeper.set('stopped');
    await this.pub.idle();
  }

  status(): DeviceStatus {
    return this.keeper.get();
  }

  /** Logical state now (after debounce and active-low). */
  get on(): boolean | undefined {
    return this.level === undefined ? undefined : this.logical(this.level);
  }

  private logical(level: 0 | 1): boolean {
    return this.ctx.config.activeLow ? level === 0 : level === 1;
  }

  /** Every edge restarts the quiet period; the level read after it is the new state. */
  private edge(): void {
    this.env.timers.clearTimeout(this.timer);
    this.timer = this.env.timers.setTimeout(() => void this.settle(), this.ctx.config.debounceMs);
  }

  private async settle(): Promise<void> {
    const line = this.line;
    if (!this.running || !line) return;
    let level: 0 | 1;
    try {
      level = await line.read();
    } catch (err) {
      this.keeper.set('degraded', `BCM ${this.ctx.config.bcm}: read failed: ${(err as Error).message}`);
      return;
    }
    if (this.keeper.state === 'degraded') this.keeper.set('ok');
    if (level === this.level) return;
    this.level = level;
    this.publish(level);
  }

  private publish(level: 0 | 1): void {
    const on = this.logical(level);
    void this.pub.emit('InputChanged', { on, level });
    this.keeper.reading({ on, level });
  }
}
