/**
 * Scanner-scale on one RS-232/USB-COM cable (Datalogic Magellan, NCR style):
 * S08 barcode frames, and the scale polled with S14 (or S11) as a state
 * machine that publishes only on change: ScaleStatus when the scale state
 * moves, ProduceWeighed when a new stable weight appears. A scale that stops
 * answering trips a no-data watchdog; the barcode side keeps working.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { DeviceStatus, Driver, DriverContext } from '../driver.js';
import type { DriverEnv } from '../env.js';
import { BarcodePublisher, DecodeFields, barcodeOptions } from '../barcode-publisher.js';
import type { CommandSpec, Commandable } from '../command.js';
import { CommandError } from '../command.js';
import { Publisher } from '../publish.js';
import { StatusKeeper } from '../status.js';
import { decodeBarcode } from '../barcode/barcode.js';
import { bytesFromConfig, Framer, type FrameEvent } from './framer.js';
import { SerialLink, SerialPortFields, serialLineFields } from './link.js';
import { PolledReadingFields, PolledScale, type ScaleState } from './polled-scale.js';
import { magellanAsText, magellanGrams, parseMagellanFrame } from './magellan-frame.js';

/** The result of `read`: the platter's state and the barcodes read and refused since start. */
const ReadResult = Type.Object(
  {
    ...PolledReadingFields,
    counters: Type.Object({ scanned: Type.Integer({ minimum: 0 }), rejected: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);

export const MagellanSchema = Type.Object(
  {
    kind: Type.Literal('magellan'),
    simulate: Type.Boolean({ default: false }),
    ...SerialPortFields,
    ...serialLineFields({ baudRate: 9600, dataBits: 7, parity: 'odd', stopBits: 1 }),
    /** The scanner-scale's programmed STX ("S" by default) and ETX (CR). */
    prefix: Type.String({ minLength: 1, maxLength: 4, default: 'S' }),
    terminator: Type.String({ minLength: 1, maxLength: 8, default: 'CR' }),
    /** S14 scale monitor (status + weight) or S11 (stable weight only). */
    weightCommand: Type.Union([Type.Literal('S14'), Type.Literal('S11')], { default: 'S14' }),
    pollMs: Type.Integer({ minimum: 50, maximum: 5000, default: 200 }),
    responseTimeoutMs: Type.Integer({ minimum: 50, maximum: 5000, default: 500 }),
    /** Unanswered polls in a row before the scale counts as not answering. */
    missedPolls: Type.Integer({ minimum: 1, maximum: 50, default: 3 }),
    /** Weight unit: 4 digits = lb, 5 digits = kg when auto. */
    unit: Type.Union([Type.Literal('auto'), Type.Literal('kg'), Type.Literal('lb')], { default: 'auto' }),
    /** Stable weights must differ by at least this to count as a new weighing. */
    minChangeG: Type.Number({ minimum: 0, maximum: 1000, default: 2 }),
    ...DecodeFields,
    /** lanectl selftest: a known test mass may read this many grams off and pass (default: 0.5 % of the mass, at least 5 g). */
    testToleranceG: Type.Optional(Type.Number({ minimum: 0, maximum: 10_000 })),
  },
  { additionalProperties: false },
);
export type MagellanConfig = Static<typeof MagellanSchema>;

const STATE_OF_STATUS: Record<number, ScaleState> = { 0: 'notReady', 1: 'unstable', 2: 'overweight', 3: 'zero', 4: 'stable', 5: 'underZero' };

export class MagellanScannerScale implements Driver, Commandable {
  readonly kind = 'magellan';
  readonly name: string;
  private readonly keeper: StatusKeeper;
  private readonly pub: Publisher;
  private readonly barcodes: BarcodePublisher;
  private readonly scale: PolledScale;
  private framer?: Framer;
  private link?: SerialLink;

  constructor(
    private readonly ctx: DriverContext<MagellanConfig>,
    private readonly env: DriverEnv,
  ) {
    this.name = ctx.name;
    this.keeper = new StatusKeeper(ctx, this.kind, env.simulated);
    this.pub = new Publisher(ctx, ctx.log);
    this.barcodes = new BarcodePublisher(ctx, env, this.pub, this.keeper);
    this.scale = new PolledScale(ctx.config, env.timers, this.keeper, this.pub, {
      request: () => {
        const c = this.ctx.config;
        const cmd = Buffer.concat([Buffer.from(c.weightCommand.slice(1)), bytesFromConfig(c.terminator)]);
        return this.link?.write(Buffer.concat([bytesFromConfig(c.prefix), cmd])) ?? false;
      },
      notAnswering: (missed) =>
        `scale not answering ${this.ctx.config.weightCommand} on ${this.link?.describe()} (${missed} polls); the scanner side keeps working`,
    });
  }

  async start(): Promise<void> {
    const c = this.ctx.config;
    this.framer = new Framer({ prefix: bytesFromConfig(c.prefix), suffix: bytesFromConfig(c.terminator), maxLength: 512 });
    this.keeper.set('starting');
    this.link = new SerialLink(c, this.env.serial, this.env.timers, this.ctx.log, {
      onOpen: () => this.scale.linkUp(),
      onData: (chunk) => this.framer?.push(chunk).forEach((ev) => this.frame(ev)),
      onDown: (detail) => {
        this.framer?.flush().forEach((ev) => this.frame(ev));
        this.scale.linkDown(detail);
      },
    });
    this.link.start();
  }

  async stop(): Promise<void> {
    this.scale.stopPolling();
    await this.link?.stop();
    this.framer?.reset();
    this.keeper.set('stopped');
    await this.pub.idle();
  }

  status(): DeviceStatus {
    return this.keeper.get();
  }

  private frame(ev: FrameEvent): void {
    if (ev.kind === 'reject') return this.barcodes.reject(ev.bytes, ev.reason);
    const f = parseMagellanFrame(ev.bytes.toString('latin1'));
    switch (f.kind) {
      case 'reject':
        return this.barcodes.reject(ev.bytes, f.reason);
      case 'other':
        return this.ctx.log.debug({ device: this.name, frame: f.body }, 'scanner-scale frame ignored');
      case 'barcode': {
        const { text, eightDigits } = magellanAsText(f);
        const r = decodeBarcode(text, { ...barcodeOptions(this.ctx.config), eightDigits });
        if (!r.ok) return this.barcodes.reject(ev.bytes, r.reason);
        const reading = { ...r.reading, symbology: f.symbology };
        delete reading.aim; // synthesised from the label id, not sent by the device
        return this.barcodes.publish(reading);
      }
      case 'weight':
        return this.weight(f.status, f.digits);
    }
  }

  private weight(status: number, digits?: string): void {
    this.scale.answered();
    const state = STATE_OF_STATUS[status];
    if (state !== 'stable' || !digits) return this.scale.setState(state);
    const { grams, unit } = magellanGrams(digits, this.ctx.config.unit);
    this.scale.weighed(grams, unit, digits);
  }

  commands(): CommandSpec[] {
    return [{ name: 'read', describe: 'scale state and last stable weight', result: ReadResult }];
  }

  async command(name: string): Promise<unknown> {
    if (name === 'read') return { ...this.scale.reading(), counters: this.barcodes.counters() };
    throw new CommandError(`${this.name}: unknown command "${name}"; known: read`);
  }
}
