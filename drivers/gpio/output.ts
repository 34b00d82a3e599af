/**
 * A lamp on a header pin (lane light, candle): off, on, or a blink pattern
 * run on the driver's clock. Publishes OutputChanged when the pattern changes.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { DeviceStatus, Driver, DriverContext } from '../driver.js';
import type { DriverEnv } from '../env.js';
import { CommandError, type CommandSpec, type Commandable } from '../command.js';
import { Publisher } from '../publish.js';
import { StatusKeeper } from '../status.js';
import type { TimerHandle } from '../timers.js';
import type { GpioLine } from './line.js';
import { resolveBcm } from './resolve.js';

/** The results of the lamp's commands. */
const SetResult = Type.Object({ pattern: Type.String() }, { additionalProperties: false });
const TestResult = Type.Object(
  { pattern: Type.Literal('fast-blink'), restoresTo: Type.String(), afterMs: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);

/** Built-in patterns: alternating on/off durations in ms, starting with on. */
export const BUILTIN_PATTERNS: Record<string, number[]> = {
  off: [],
  on: [],
  blink: [500, 500],
  'fast-blink': [125, 125],
  flash: [100, 900],
  /** Two short flashes, then dark: a device the lane needs is missing (the lane is closed). */
  fault: [150, 150, 150, 1050],
};

export const GpioOutputSchema = Type.Object(
  {
    kind: Type.Literal('gpio-output'),
    simulate: Type.Boolean({ default: false }),
    bcm: Type.Integer({ minimum: 0, maximum: 53 }),
    /** Lamp lit when the pin is low (sinking driver). */
    activeLow: Type.Boolean({ default: false }),
    initial: Type.String({ default: 'off', pattern: '^[a-z][a-z0-9-]{0,31}$' }),
    /** Extra patterns: name -> alternating on/off ms (even count, each 20..60000). */
    patterns: Type.Optional(
      Type.Record(
        Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' }),
        Type.Array(Type.Integer({ minimum: 20, maximum: 60_000 }), { minItems: 2, maxItems: 32 }),
      ),
    ),
    chipLabel: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type GpioOutputConfig = Static<typeof GpioOutputSchema>;

export class GpioOutput implements Driver, Commandable {
  readonly kind = 'gpio-output';
  readonly name: string;
  private readonly keeper: StatusKeeper;
  private readonly pub: Publisher;
  private readonly patterns: Record<string, number[]>;
  private line?: GpioLine;
  private timer?: TimerHandle;
  private pattern = 'off';
  private lit = false;

  constructor(
    private readonly ctx: DriverContext<GpioOutputConfig>,
    private readonly env: DriverEnv,
  ) {
    this.name = ctx.name;
    this.keeper = new StatusKeeper(ctx, this.kind, env.simulated);
    this.pub = new Publisher(ctx, ctx.log);
    this.patterns = { ...BUILTIN_PATTERNS, ...(ctx.config.patterns ?? {}) };
  }

  async start(): Promise<void> {
    const c = this.ctx.config;
    this.keeper.set('starting');
    try {
      const r = await resolveBcm(this.env.gpio.sysfsRoot, c.bcm, c.chipLabel);
      this.line = await this.env.gpio.open({ sysfs: r.sysfs, direction: 'out', edge: 'none' });
    } catch (err) {
      this.keeper.set('failed', `BCM ${c.bcm}: ${(err as Error).message}`);
      return;
    }
    this.keeper.set('ok');
    await this.set(this.patterns[c.initial] ? c.initial : 'off');
  }

  async stop(): Promise<void> {
    this.env.timers.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.line) await this.drive(false).catch(() => undefined);
    this.line?.close();
    this.line = undefined;
    this.keeper.set('stopped');
    await this.pub.idle();
  }

  status(): DeviceStatus {
    return this.keeper.get();
  }

  get current(): string {
    return this.pattern;
  }

  /** Switch to a pattern; unknown names are refused with the known ones. */
  async set(pattern: string): Promise<void> {
    const steps = this.patterns[pattern];
    if (!steps) throw new CommandError(`${this.name}: unknown pattern "${pattern}"; known: ${Object.keys(this.patterns).join(', ')}`);
    if (!this.line) throw new CommandError(`${this.name} is not running (${this.keeper.get().detail ?? this.keeper.state})`);
    this.env.timers.clearTimeout(this.timer);
    this.timer = undefined;
    const changed = pattern !== this.pattern || this.keeper.get().lastReading === undefined;
    this.pattern = pattern;
    if (pattern === 'off' || pattern === 'on') await this.drive(pattern === 'on');
    else this.run(steps, 0);
    if (changed) {
      void this.pub.emit('OutputChanged', { pattern });
      this.keeper.reading({ pattern });
    }
  }

  private run(steps: number[], i: number): void {
    void this.drive(i % 2 === 0);
    this.timer = this.env.timers.setTimeout(() => this.run(steps, (i + 1) % steps.length), steps[i]);
  }

  private async drive(on: boolean): Promise<void> {
    this.lit = on;
    const level = (on !== this.ctx.config.activeLow ? 1 : 0) as 0 | 1;
    try {
      await this.line?.write(level);
      if (this.keeper.state === 'degraded') this.keeper.set('ok');
    } catch (err) {
      this.keeper.set('degraded', `BCM ${this.ctx.config.bcm}: write failed: ${(err as Error).message}`);
    }
  }

  /** Whether the lamp is lit right now (for selftest). */
  get isLit(): boolean {
    return this.lit;
  }

  commands(): CommandSpec[] {
    return [
      { name: 'set', describe: 'switch the lamp to a pattern', args: { pattern: Object.keys(this.patterns).join('|') }, result: SetResult },
      { name: 'test', describe: 'blink fast for 3 s, then back to the current pattern', result: TestResult },
    ];
  }

  async command(name: string, args: Record<string, unknown>): Promise<unknown> {
    if (name === 'set') {
      await this.set(typeof args.pattern === 'string' ? args.pattern : '');
      return { pattern: this.pattern };
    }
    if (name === 'test') {
      const back = this.pattern;
      await this.set('fast-blink');
      this.env.timers.setTimeout(() => void this.set(back).catch(() => undefined), 3000);
      return { pattern: 'fast-blink', restoresTo: back, afterMs: 3000 };
    }
    throw new CommandError(`${this.name}: unknown command "${name}"; known: set, test`);
  }
}
