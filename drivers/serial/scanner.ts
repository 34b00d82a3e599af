/**
 * Serial barcode scanner (USB-CDC or RS-232): frames by prefix/suffix, decodes
 * AIM identifiers, GTIN check digits, GS1 element strings and
 * restricted-circulation numbers, publishes BarcodeScanned / BarcodeRejected.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { Driver, DeviceStatus, DriverContext } from '../driver.js';
import type { DriverEnv } from '../env.js';
import { BarcodePublisher, DecodeFields, type BarcodeCounters } from '../barcode-publisher.js';
import { Publisher } from '../publish.js';
import { StatusKeeper } from '../status.js';
import { bytesFromConfig, Framer, type FrameEvent } from './framer.js';
import { SerialLink, SerialPortFields, serialLineFields } from './link.js';

export const ScriptSchema = Type.Array(
  Type.Object(
    { after_ms: Type.Integer({ minimum: 0, maximum: 3_600_000 }), code: Type.String({ minLength: 1, maxLength: 512 }) },
    { additionalProperties: false },
  ),
  { maxItems: 1000 },
);

export const SerialScannerSchema = Type.Object(
  {
    kind: Type.Literal('serial-scanner'),
    simulate: Type.Boolean({ default: false }),
    ...SerialPortFields,
    ...serialLineFields({ baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 }),
    /** Bytes before each code (e.g. STX), if the scanner is programmed to send one. */
    prefix: Type.Optional(Type.String({ minLength: 1, maxLength: 16 })),
    /** CR, LF, CRLF, ETX, TAB or literal bytes with \xNN escapes. */
    suffix: Type.String({ minLength: 1, maxLength: 16, default: 'CR' }),
    maxLength: Type.Integer({ minimum: 8, maximum: 4096, default: 512 }),
    ...DecodeFields,
    /** Simulation only: scans the twin sends by itself, `after_ms` after the previous one. */
    script: Type.Optional(ScriptSchema),
    loop: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);
export type SerialScannerConfig = Static<typeof SerialScannerSchema>;

export class SerialScanner implements Driver {
  readonly kind = 'serial-scanner';
  readonly name: string;
  private readonly keeper: StatusKeeper;
  private readonly pub: Publisher;
  private readonly barcodes: BarcodePublisher;
  private framer?: Framer;
  private link?: SerialLink;

  constructor(
    private readonly ctx: DriverContext<SerialScannerConfig>,
    private readonly env: DriverEnv,
  ) {
    this.name = ctx.name;
    this.keeper = new StatusKeeper(ctx, this.kind, env.simulated);
    this.pub = new Publisher(ctx, ctx.log);
    this.barcodes = new BarcodePublisher(ctx, env, this.pub, this.keeper);
  }

  async start(): Promise<void> {
    const c = this.ctx.config;
    this.framer = new Framer({ prefix: c.prefix ? bytesFromConfig(c.prefix) : undefined, suffix: bytesFromConfig(c.suffix), maxLength: c.maxLength });
    this.keeper.set('starting');
    this.link = new SerialLink(c, this.env.serial, this.env.timers, this.ctx.log, {
      onOpen: () => this.keeper.set('ok'),
      onData: (chunk) => this.framer?.push(chunk).forEach((ev) => this.frame(ev)),
      onDown: (detail) => {
        this.framer?.flush().forEach((ev) => this.frame(ev));
        this.keeper.set('disconnected', detail);
      },
    });
    this.link.start();
  }

  async stop(): Promise<void> {
    await this.link?.stop();
    this.framer?.reset();
    this.keeper.set('stopped');
    await this.pub.idle();
  }

  status(): DeviceStatus {
    return this.keeper.get();
  }

  /** Counters for `lanectl selftest`. */
  counters(): BarcodeCounters {
    return this.barcodes.counters();
  }

  private frame(ev: FrameEvent): void {
    if (ev.kind === 'reject') this.barcodes.reject(ev.bytes, ev.reason);
    else this.barcodes.text(ev.bytes.toString('latin1'), ev.bytes);
  }
}
