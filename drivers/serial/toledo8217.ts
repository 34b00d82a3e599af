/**
 * Mettler Toledo 8217 scale (9600 baud 7E1): polled with W; answers a weight
 * (lb or kg, N for net) or a status byte decoded bit by bit. Z zeroes, T
 * tares, C clears the tare (technician/attendant commands). Publishes
 * ScaleStatus on change and ProduceWeighed for each new stable weight.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { DeviceStatus, Driver, DriverContext } from '../driver.js';
import type { DriverEnv } from '../env.js';
import { CommandError, type CommandSpec, type Commandable } from '../command.js';
import { Publisher, RejectLimiter } from '../publish.js';
import { StatusKeeper } from '../status.js';
import type { TimerHandle } from '../timers.js';
import { printableRaw } from '../barcode/barcode.js';
import { Framer, type FrameEvent } from './framer.js';
import { SerialLink, SerialPortFields, serialLineFields } from './link.js';
import { PolledReadingFields, PolledScale, type ScaleState } from './polled-scale.js';
import { parseToledoFrame, toledoGrams, type ToledoStatus } from './toledo-frame.js';
import { ScaleState as ScaleStateSchema } from '../events.js';

/** The 8217's status bits, as its commands answer them. */
const StatusBits = Type.Object(
  {
    motion: Type.Boolean(),
    overCapacity: Type.Boolean(),
    underZero: Type.Boolean(),
    outsideZeroCapture: Type.Boolean(),
    centerOfZero: Type.Boolean(),
    net: Type.Boolean(),
  },
  { additionalProperties: false },
);
/** The results of the scale's commands: `read`, and a letter command's status after it. */
const ReadResult = Type.Object({ ...PolledReadingFields, status: Type.Union([StatusBits, Type.Null()]) }, { additionalProperties: false });
const LetterResult = Type.Object(
  { command: Type.Union([Type.Literal('Z'), Type.Literal('T'), Type.Literal('C')]), status: StatusBits, state: ScaleStateSchema },
  { additionalProperties: false },
);

export const Toledo8217Schema = Type.Object(
  {
    kind: Type.Literal('toledo8217'),
    simulate: Type.Boolean({ default: false }),
    ...SerialPortFields,
    ...serialLineFields({ baudRate: 9600, dataBits: 7, parity: 'even', stopBits: 1 }),
    pollMs: Type.Integer({ minimum: 50, maximum: 5000, default: 250 }),
    responseTimeoutMs: Type.Integer({ minimum: 50, maximum: 5000, default: 500 }),
    missedPolls: Type.Integer({ minimum: 1, maximum: 50, default: 3 }),
    /** auto: 3 decimals = kg, 2 = lb. */
    unit: Type.Union([Type.Literal('auto'), Type.Literal('kg'), Type.Literal('lb')], { default: 'auto' }),
    minChangeG: Type.Number({ minimum: 0, maximum: 1000, default: 2 }),
    /** lanectl selftest: a known test mass may read this many grams off and pass (default: 0.5 % of the mass, at least 5 g). */
    testToleranceG: Type.Optional(Type.Number({ minimum: 0, maximum: 10_000 })),
  },
  { additionalProperties: false },
);
export type Toledo8217Config = Static<typeof Toledo8217Schema>;

const STX = Buffer.from([0x02]);
const CR = Buffer.from([0x0d]);

export function stateOfStatus(s: ToledoStatus): { state: ScaleState; detail?: string } {
  if (s.overCapacity) return { state: 'overweight' };
  if (s.underZero) return { state: 'underZero' };
  if (s.motion) return { state: 'unstable' };
  if (s.outsideZeroCapture) return { state: 'notReady', detail: 'outside zero capture range: empty the platter and zero the scale' };
  if (s.centerOfZero) return { state: 'zero' };
  return { state: 'stable' };
}

export class Toledo8217Scale implements Driver, Commandable {
  readonly kind = 'toledo8217';
  readonly name: string;
  private readonly keeper: StatusKeeper;
  private readonly pub: Publisher;
  private readonly limiter = new RejectLimiter(5, 60_000);
  private readonly scale: PolledScale;
  private framer?: Framer;
  private link?: SerialLink;
  private lastStatus?: ToledoStatus;
  /** A command (Z/T/C) waiting for the line, then for its status answer. */
  private queued?: { letter: string; resolve: (s: ToledoStatus) => void; reject: (e: Error) => void };
  private pendingCommand?: { resolve: (s: ToledoStatus) => void; reject: (e: Error) => void; timer: TimerHandle };

  constructor(
    private readonly ctx: DriverContext<Toledo8217Config>,
    private readonly env: DriverEnv,
  ) {
    this.name = ctx.name;
    this.keeper = new StatusKeeper(ctx, this.kind, env.simulated);
    this.pub = new Publisher(ctx, ctx.log);
    this.scale = new PolledScale(ctx.config, env.timers, this.keeper, this.pub, {
      request: () => this.link?.write(Buffer.from('W')) ?? false,
      busy: () => this.pendingCommand !== undefined, // one request on the line at a time
      lineFree: () => this.sendQueued(),
      stopped: () => this.rejectCommands(),
      notAnswering: (missed) => `scale not answering W on ${this.link?.describe()} (${missed} polls; 9600 7E1? cable?)`,
    });
  }

  async start(): Promise<void> {
    this.framer = new Framer({ prefix: STX, suffix: CR, maxLength: 32 });
    this.keeper.set('starting');
    this.link = new SerialLink(this.ctx.config, this.env.serial, this.env.timers, this.ctx.log, {
      onOpen: () => this.scale.linkUp(),
      onData: (chunk) => this.framer?.push(chunk).forEach((ev) => this.frame(ev)),
      onDown: (detail) => {
        this.framer?.reset();
        this.scale.linkDown(detail);
      },
    });
    this.link.start();
  }

  async stop(): Promise<void> {
    this.scale.stopPolling();
    await this.link?.stop();
    this.keeper.set('stopped');
    await this.pub.idle();
  }

  status(): DeviceStatus {
    return this.keeper.get();
  }

  private rejectCommands(): void {
    const closed = new CommandError(`${this.name}: port closed before the scale answered`);
    if (this.pendingCommand) {
      this.env.timers.clearTimeout(this.pendingCommand.timer);
      this.pendingCommand.reject(closed);
      this.pendingCommand = undefined;
    }
    this.queued?.reject(closed);
    this.queued = undefined;
  }

  private frame(ev: FrameEvent): void {
    const f = ev.kind === 'frame' ? parseToledoFrame(ev.bytes) : { kind: 'reject' as const, reason: ev.reason };
    if (f.kind === 'reject') {
      const s = this.limiter.take(this.env.timers.now());
      if (s !== undefined)
        this.ctx.log.warn(
          { device: this.name, raw: printableRaw(ev.bytes), reason: f.reason, suppressed: s },
          `scale frame rejected on ${this.name}: ${f.reason}`,
        );
      return;
    }
    if (f.kind === 'status') {
      this.lastStatus = f.status;
      // a command is only sent while no W is outstanding, so this status answers it
      const p = this.scale.awaiting ? undefined : this.pendingCommand;
      if (p) {
        this.pendingCommand = undefined;
        this.env.timers.clearTimeout(p.timer);
        p.resolve(f.status);
      }
      this.scale.answered();
      const { state, detail } = stateOfStatus(f.status);
      return this.scale.setState(state, undefined, detail);
    }
    this.scale.answered();
    const { grams, unit } = toledoGrams(f, this.ctx.config.unit);
    this.scale.weighed(grams, unit, f.raw, f.net);
  }

  private sendQueued(): void {
    const q = this.queued;
    if (!q) return;
    this.queued = undefined;
    // T is followed by CR (§6.1.3.2); Z and C are single characters
    if (!this.link?.write(Buffer.from(q.letter === 'T' ? 'T\r' : q.letter))) {
      q.reject(new CommandError(`${this.name}: not connected`));
      return;
    }
    const ms = this.ctx.config.responseTimeoutMs * 2;
    const timer = this.env.timers.setTimeout(() => {
      this.pendingCommand = undefined;
      q.reject(new CommandError(`${this.name}: no answer to ${q.letter} within ${ms} ms`));
    }, ms);
    this.pendingCommand = { resolve: q.resolve, reject: q.reject, timer };
  }

  commands(): CommandSpec[] {
    return [
      { name: 'zero', describe: 'Z: zero the scale (stable, within the zero capture range)', result: LetterResult },
      { name: 'tare', describe: 'T: tare the item on the platter', result: LetterResult },
      { name: 'clear-tare', describe: 'C: clear the tare', result: LetterResult },
      { name: 'read', describe: 'scale state, last weight and status bits', result: ReadResult },
    ];
  }

  async command(name: string): Promise<unknown> {
    const letter = { zero: 'Z', tare: 'T', 'clear-tare': 'C' }[name];
    if (name === 'read') return { ...this.scale.reading(), status: this.lastStatus ?? null };
    if (!letter)
      throw new CommandError(
        `${this.name}: unknown command "${name}"; known: ${this.commands()
          .map((c) => c.name)
          .join(', ')}`,
      );
    if (this.pendingCommand || this.queued) throw new CommandError(`${this.name}: another command is waiting for the scale`);
    if (!this.link?.isOpen) throw new CommandError(`${this.name}: not connected (${this.keeper.get().detail ?? this.keeper.state})`);
    const status = await new Promise<ToledoStatus>((resolve, reject) => {
      this.queued = { letter, resolve, reject };
      // the 8217 handles one request at a time: wait for an outstanding W answer first
      if (!this.scale.awaiting) this.sendQueued();
    });
    return { command: letter, status, state: stateOfStatus(status).state };
  }
}
