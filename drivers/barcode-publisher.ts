/**
 * What every barcode reader (serial scanner, HID wedge, the Magellan
 * scanner-scale's scanner side) shares: the decode config fields and the
 * publishing of BarcodeScanned / BarcodeRejected.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { DriverContext } from './driver.js';
import type { DriverEnv } from './env.js';
import { type Publisher, RejectLimiter } from './publish.js';
import type { StatusKeeper } from './status.js';
import { decodeBarcode, printableRaw, type BarcodeOptions, type BarcodeReading } from './barcode/barcode.js';
import { RCN_LAYOUTS, type RcnLayout } from './barcode/rcn.js';

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

type DecodeConfig = Static<ReturnType<typeof Type.Object<typeof DecodeFields>>>;

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
export interface BarcodeCounters {
  scanned: number;
  rejected: number;
}

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
    this.publish(r.reading);
  }

  /** A decoded reading: BarcodeScanned, and the last reading for `lanectl devices`. */
  publish(reading: BarcodeReading): void {
    this.scanned++;
    void this.pub.emit('BarcodeScanned', scannedData(reading));
    this.status.reading({ barcode: reading.raw, symbology: reading.symbology, ...(reading.gtin ? { gtin: reading.gtin } : {}) });
  }

  counters(): BarcodeCounters {
    return { scanned: this.scanned, rejected: this.rejected };
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
