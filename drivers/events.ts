/**
 * Schemas of the `data` of device events (the design "Devices"). The `source` of
 * each event is the device's name from config. Drivers publish them and own them:
 * the daemon registers each with its event schemas (daemon/events/schemas/devices.ts).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { firstError } from './schema-check.js';

const schemas = new Map<string, TSchema>();

/**
 * Declare the schema of one device event type (version 1: device events have not changed shape yet).
 * The type's name rides along for the compiler only (`~event`), as with the daemon's defineEvent:
 * the daemon's event map is derived from these exports.
 */
function deviceEvent<const N extends string, S extends TSchema>(type: N, v: 1, schema: S): S & { readonly '~event': N } {
  schemas.set(type, schema);
  return schema as S & { readonly '~event': N };
}

/** Every device event type and the schema of its `data`. */
export function deviceEventSchemas(): ReadonlyMap<string, TSchema> {
  return schemas;
}

/** First problem of `data` against the schema of device event `type`, or undefined when it is valid. */
export function deviceEventProblem(type: string, data: unknown): string | undefined {
  const schema = schemas.get(type);
  if (!schema) return `unknown device event type ${type}`;
  const problem = firstError(schema, data);
  return problem && `data${problem}`;
}

const Digits14 = Type.String({ pattern: '^[0-9]{14}$' });

export const Symbology = Type.Union(
  [
    'ean13',
    'upca',
    'upce',
    'ean8',
    'ean-addon',
    'gs1-128',
    'code128',
    'gs1-databar',
    'datamatrix',
    'gs1-datamatrix',
    'qr',
    'gs1-qr',
    'dotcode',
    'gs1-dotcode',
    'code39',
    'code93',
    'codabar',
    'itf',
    'pdf417',
    'aztec',
    'other',
    'unknown',
  ].map((s) => Type.Literal(s)),
);

export const RcnData = Type.Object(
  {
    /** National layout used: de, gb, se, no, generic or custom. */
    layout: Type.String(),
    prefix: Type.String({ pattern: '^(02|2[0-9])$' }),
    item: Type.String({ pattern: '^[0-9]*$' }),
    measure: Type.Union([Type.Literal('price'), Type.Literal('weight'), Type.Literal('count')]),
    value: Type.Integer({ minimum: 0 }),
    decimals: Type.Integer({ minimum: 0, maximum: 5 }),
    grams: Type.Optional(Type.Integer({ minimum: 0 })),
    price: Type.Optional(
      Type.Object(
        { minor: Type.Integer({ minimum: 0 }), decimals: Type.Integer({ minimum: 0 }), currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })) },
        { additionalProperties: false },
      ),
    ),
    count: Type.Optional(Type.Integer({ minimum: 0 })),
    /** GTIN-14 with the variable digits zeroed: what to look up in the catalog. */
    lookupGtin: Digits14,
  },
  { additionalProperties: false },
);

/** A barcode read and accepted (check digits verified). */
export const BarcodeScanned = deviceEvent(
  'BarcodeScanned',
  1,
  Type.Object(
    {
      /** Data as read, without AIM identifier and suffix; FNC1 separators as GS (\u001d). */
      raw: Type.String({ maxLength: 4096 }),
      symbology: Symbology,
      /** AIM symbology identifier when the scanner sent one, e.g. "]E0". */
      aim: Type.Optional(Type.String({ pattern: '^\\][A-Za-z][0-9A-Za-z]$' })),
      gtin: Type.Optional(Digits14),
      addOn: Type.Optional(Type.String({ pattern: '^[0-9]{2}([0-9]{3})?$' })),
      /** GS1 element string: AI -> value. */
      ais: Type.Optional(Type.Record(Type.String({ pattern: '^[0-9]{2,4}$' }), Type.String())),
      rcn: Type.Optional(RcnData),
    },
    { additionalProperties: false },
  ),
);
export type BarcodeScannedData = Static<typeof BarcodeScanned>;

/** A frame that is not an acceptable barcode (bad check digit, garbage, overlong, ...). */
export const BarcodeRejected = deviceEvent(
  'BarcodeRejected',
  1,
  Type.Object(
    {
      /** The bytes, printable with \xNN escapes, at most 131 characters. */
      raw: Type.String({ maxLength: 140 }),
      reason: Type.String({ maxLength: 500 }),
      /** Rejections not published (rate limit) since the previous BarcodeRejected. */
      suppressed: Type.Optional(Type.Integer({ minimum: 1 })),
    },
    { additionalProperties: false },
  ),
);
export type BarcodeRejectedData = Static<typeof BarcodeRejected>;

/** The bagging scale settled on a new weight (only stable changes >= the threshold). */
export const WeightHasChanged = deviceEvent(
  'WeightHasChanged',
  1,
  Type.Object(
    {
      /** New stable gross weight in grams, rounded to the division. */
      grams: Type.Number(),
      /** Change since the previous WeightHasChanged. */
      delta: Type.Number(),
      stable: Type.Literal(true),
      /** Scale division d in grams (1, 2 or 5). */
      division: Type.Number({ minimum: 0 }),
    },
    { additionalProperties: false },
  ),
);
export type WeightHasChangedData = Static<typeof WeightHasChanged>;

export const ScaleState = Type.Union(['stable', 'unstable', 'zero', 'underZero', 'overweight', 'notReady'].map((s) => Type.Literal(s)));

/** UnifiedPOS-style state of a scale, published when it changes. */
export const ScaleStatus = deviceEvent(
  'ScaleStatus',
  1,
  Type.Object(
    {
      state: ScaleState,
      grams: Type.Optional(Type.Number()),
      detail: Type.Optional(Type.String({ maxLength: 300 })),
    },
    { additionalProperties: false },
  ),
);
export type ScaleStatusData = Static<typeof ScaleStatus>;

export const Calibration = Type.Object(
  { zeroCounts: Type.Number(), countsPerGram: Type.Number(), spanGrams: Type.Optional(Type.Number()) },
  { additionalProperties: false },
);

/** A technician calibrated a load-cell scale (lanectl calibrate): who, the calibration before and after. */
export const ScaleCalibrated = deviceEvent(
  'ScaleCalibrated',
  1,
  Type.Object(
    {
      step: Type.Union([Type.Literal('zero'), Type.Literal('span')]),
      by: Type.String({ maxLength: 64 }),
      before: Type.Union([Calibration, Type.Null()]),
      after: Calibration,
      /** Done with --force: during a transaction, or a span far from the expected counts per gram. */
      forced: Type.Boolean(),
      /** The transaction that was open, when forced during one. */
      duringTxn: Type.Optional(Type.String({ maxLength: 64 })),
    },
    { additionalProperties: false },
  ),
);
export type ScaleCalibratedData = Static<typeof ScaleCalibrated>;

/** A stable weight on a produce scale (Magellan scanner-scale platter, Toledo 8217). */
export const ProduceWeighed = deviceEvent(
  'ProduceWeighed',
  1,
  Type.Object(
    {
      grams: Type.Number({ minimum: 0 }),
      stable: Type.Literal(true),
      /** Unit the scale reported in; grams are converted from it. */
      unit: Type.Union([Type.Literal('kg'), Type.Literal('lb')]),
      /** The weight field as received, e.g. "01.250" or "01250". */
      raw: Type.String({ maxLength: 32 }),
      net: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
);
export type ProduceWeighedData = Static<typeof ProduceWeighed>;

/** A debounced digital input changed (key switch, bag-area presence, door). */
export const InputChanged = deviceEvent(
  'InputChanged',
  1,
  Type.Object(
    {
      /** Logical state after active-low inversion. */
      on: Type.Boolean(),
      /** Pin level read from sysfs. */
      level: Type.Union([Type.Literal(0), Type.Literal(1)]),
    },
    { additionalProperties: false },
  ),
);
export type InputChangedData = Static<typeof InputChanged>;

/** A lamp output changed its pattern (off, on, blink, ...). */
export const OutputChanged = deviceEvent('OutputChanged', 1, Type.Object({ pattern: Type.String({ maxLength: 32 }) }, { additionalProperties: false }));
export type OutputChangedData = Static<typeof OutputChanged>;

/** A device's state as technicians see it in `lanectl devices` (drivers/driver.ts DeviceStatus). */
export const DeviceStatusEvent = deviceEvent(
  'DeviceStatus',
  1,
  Type.Object(
    {
      name: Type.String(),
      kind: Type.String(),
      state: Type.Union(['starting', 'ok', 'degraded', 'disconnected', 'failed', 'stopped'].map((s) => Type.Literal(s))),
      simulated: Type.Boolean(),
      since: Type.String(),
      detail: Type.Optional(Type.String()),
      lastReading: Type.Optional(Type.Unknown()),
    },
    { additionalProperties: false },
  ),
);
export type DeviceStatusData = Static<typeof DeviceStatusEvent>;
