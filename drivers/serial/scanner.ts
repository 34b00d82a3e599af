/**
 * Serial barcode scanner (USB-CDC or RS-232): frames by prefix/suffix, decodes
 * AIM identifiers, GTIN check digits, GS1 element strings and
 * restricted-circulation numbers, publishes BarcodeScanned / BarcodeRejected.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { Driver, DeviceStatus, DriverContext } from '../driver.js';
import type { DriverEnv } from '../env.js';
import { Publisher, RejectLimiter } from '../publish.js';
import { StatusKeeper } from '../status.js';
import { decodeBarcode, printableRaw, type BarcodeOptions, type BarcodeReading } from './barcode.js';
import { bytesFromConfig, Framer, type FrameEvent } from './framer.js';
import { SerialLink, SerialPortFields, serialLineFields } from './link.js';
import { RCN_LAYOUTS, type RcnLayout } from './rcn.js';

export const RcnRuleSchema = Type.Object(
  {
    prefix: Type.String({ pattern: '^(02|2[0-9])$' }),
    pattern: Type.String({ pattern: '^PP[IKV]{10}C$' }),
    measure: Type.Union([Type.Literal('price'), Type.Literal('weight'), Type.Literal('count')]),
    decimals: Type.Integer({ minimum: 0, maximum: 3 }),
  },
  { additionalProperties: false },
);

/** Fields every scanner (serial, HID) shares: how to decode what it reads. */
export const DecodeFields = {
  /** AIM symbology identifiers: auto = use when present; always = reject frames without; never = treat "]" as data. */
  aimIds: Type.Union([Type.Literal('auto'), Type.Literal('always'), Type.Literal('never')], { default: 'auto' }),
  /** 8 digits without AIM identifier: EAN-8 or UPC-E. */
  eightDigits: Type.Union([Type.Literal('ean8'), Type.Literal('upce')], { default: 'ean8' }),
  /** National layout of restricted-circulation numbers (02, 20-29). */
  rcnLayout: Type.Union(
    ['de', 'gb', 'se', 'no', 'generic', 'none'].map((s) => Type.Literal(s)),
    { default: 'none' },
  ),
  /** Store-specific rules, tried before the layout's own. */
  rcnRules: Type.Optional(Type.Array(RcnRuleSchema, { maxItems: 20 })),
  /** Published BarcodeRejected per 10 s at most; the rest are counted. */
  rejectLimit: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
};

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

const DecodeSchema = Type.Object(DecodeFields);
type DecodeConfig = Static<typeof DecodeSchema>;

export function barcodeOptions(c: DecodeConfig): BarcodeOptions {
  let rcn: RcnLayout | undefined = c.rcnLayout === 'none' ? undefined : RCN_LAYOUTS[c.rcnLayout as keyof typeof RCN_LAYOUTS];
  if (c.rcnRules?.length) rcn = { name: rcn ? `${rcn.name}+store` : 'store', currency: rcn?.currency, rules: [...c.rcnRules, ...(rcn?.rules ?? [])] };
  return { rcn, eightDigits: c.eightDigits, aimIds: c.aimIds !== 'never' };
}

/** The event data of a reading, without undefined fields. */
export function scannedData(r: BarcodeReading): Record<string, unknown> {
  const d: Record<string, unknown> = { raw: r.raw, symbology: r.symbology };
  if (r.aim) d.aim = r.aim;
  if (r.gtin) d.gtin = r.gtin;
  if (r.addOn) d.addOn = r.addOn;
  if (r.ais) d.ais = r.ais;
  if (r.rcn) d.rcn = r.rcn;
  return d;
}

/**
 * Turns decoded frames into events; shared by the serial scanner, the HID
 * wedge and the Magellan scanner-scale's barcode side.
 */
export class BarcodePublisher {
  private readonly limiter: RejectLimiter;
  private readonly opts: BarcodeOptions;
  scanned = 0;
  rejected = 0;

  constructor(
    private readonly ctx: DriverContext<DecodeConfig>,
    private readonly env: DriverEnv,
    private readonly pub: Publisher,
    private readonly status: StatusKeeper,
  ) {
    this.limiter = new RejectLimiter(ctx.config.rejectLimit, 10_000);
    this.opts = barcodeOptions(ctx.config);
  }

  text(text: string, raw: Buffer | string = text): void {
    const mode = this.ctx.config.aimIds;
    const hasAim = /^\][A-Za-z][0-9A-Za-z]/.test(text);
    if (mode === 'always' && !hasAim) return this.reject(raw, 'no AIM symbology identifier (scanner configured with aimIds: always)');
    const r = decodeBarcode(text, this.opts);
    if (!r.ok) return this.reject(raw, r.reason);
    this.scanned++;
    const data = scannedData(r.reading);
    void this.pub.emit('BarcodeScanned', data);
    this.status.reading({ barcode: r.reading.raw, symbology: r.reading.symbology, ...(r.reading.gtin ? { gtin: r.reading.gtin } : {}) });
  }

  reject(raw: Buffer | string, reason: string): void {
    this.rejected++;
    const suppressed = this.limiter.take(this.env.timers.now());
    if (suppressed === undefined) return;
    const data: Record<string, unknown> = { raw: printableRaw(raw), reason };
    if (suppressed > 0) data.suppressed = suppressed;
    this.ctx.log.warn({ device: this.ctx.name, raw: data.raw, reason, suppressed }, `barcode rejected on ${this.ctx.name}: ${reason}`);
    void this.pub.emit('BarcodeRejected', data);
  }
}

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
  counters(): { scanned: number; rejected: number } {
    return { scanned: this.barcodes.scanned, rejected: this.barcodes.rejected };
  }

  private frame(ev: FrameEvent): void {
    if (ev.kind === 'reject') this.barcodes.reject(ev.bytes, ev.reason);
    else this.barcodes.text(ev.bytes.toString('latin1'), ev.bytes);
  }
}
