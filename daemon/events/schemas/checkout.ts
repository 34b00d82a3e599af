/**
 * Schemas of the checkout services' events: catalog, basket,
 * weightcheck, attendant, payment, journal. Money is in integer minor units of
 * the lane's currency; weights in grams.
 */
import { Type, defineEvent, defineUpcaster, type Static } from '../schema.js';
import { RcnData } from './devices.js';

const Id = Type.String({ minLength: 1, maxLength: 64 });
const Gtin14 = Type.String({ pattern: '^[0-9]{14}$' });
const Minor = Type.Integer({ minimum: 0 });
const Grams = Type.Number({ minimum: 0 });
const Currency = Type.String({ pattern: '^[A-Z]{3}$' });
const LineId = Type.String({ pattern: '^L[0-9]{1,6}$' });
/** How an item came in when not by the scanner: keyed on the touch UI (a code typed, a product picked). */
const Entry = Type.Literal('keyed');

/** One product as the catalog holds it. */
export const ProductSchema = Type.Object(
  {
    gtin: Gtin14,
    name: Type.String({ minLength: 1, maxLength: 120 }),
    /** Per piece (unit each) or per kilogram (unit kg), minor units. */
    price: Minor,
    unit: Type.Union([Type.Literal('each'), Type.Literal('kg')]),
    /** Expected weight of one piece in the bagging area. */
    weightG: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100_000 })),
    toleranceG: Type.Optional(Type.Number({ minimum: 0, maximum: 10_000 })),
    tolerancePct: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    /** Minimum age of the buyer; absent when not restricted. */
    ageRestricted: Type.Optional(Type.Integer({ minimum: 1, maximum: 99 })),
    /** Heavy or bulky: not expected in the bagging area. */
    skipBagging: Type.Optional(Type.Boolean()),
    /** Sold by weight from the produce scale. */
    mustWeigh: Type.Optional(Type.Boolean()),
    /** Price look-up code keyed on the touch UI's number pad (produce: IFPS PLU, 4 or 5 digits). */
    plu: Type.Optional(Type.String({ pattern: '^[0-9]{4,5}$' })),
    /** Picture shown on the touch UI: a path on the lane's UI origin or an https URL. */
    image: Type.Optional(Type.String({ maxLength: 300 })),
  },
  { additionalProperties: false },
);
export type Product = Static<typeof ProductSchema>;

// ---- catalog ----

export const CatalogImported = defineEvent(
  'CatalogImported',
  1,
  Type.Object(
    {
      version: Type.Integer({ minimum: 1 }),
      products: Type.Integer({ minimum: 0 }),
      rejected: Type.Integer({ minimum: 0 }),
      origin: Type.String({ maxLength: 300 }),
      sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    },
    { additionalProperties: false },
  ),
);

/** A scan looked up in the catalog: `product` absent means unknown. Cause: the BarcodeScanned. */
export const ScanResolved = defineEvent(
  'ScanResolved',
  1,
  Type.Object(
    {
      scan: Id,
      device: Type.String({ maxLength: 32 }),
      code: Type.String({ maxLength: 200 }),
      gtin: Type.Optional(Gtin14),
      rcn: Type.Optional(RcnData),
      product: Type.Optional(ProductSchema),
      reason: Type.Optional(Type.String({ maxLength: 300 })),
      entry: Type.Optional(Entry),
    },
    { additionalProperties: false },
  ),
);
export type ScanResolvedData = Static<typeof ScanResolved>;

// ---- basket ----

export const TransactionStarted = defineEvent(
  'TransactionStarted',
  1,
  Type.Object({ txn: Id, lane: Type.String({ maxLength: 32 }), currency: Currency }, { additionalProperties: false }),
);

/** What weightcheck needs of an item, per piece; absent when it is not expected in the bagging area. */
export const BaggingSpec = Type.Object(
  {
    unitG: Grams,
    /** From the catalog; weightcheck's defaults apply when absent. */
    toleranceG: Type.Optional(Type.Number({ minimum: 0 })),
    tolerancePct: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
  },
  { additionalProperties: false },
);
export type BaggingSpecData = Static<typeof BaggingSpec>;

export const ItemAddedToBasket = defineEvent(
  'ItemAddedToBasket',
  1,
  Type.Object(
    {
      line: LineId,
      gtin: Gtin14,
      name: Type.String({ maxLength: 120 }),
      unit: Type.Union([Type.Literal('each'), Type.Literal('kg')]),
      quantity: Type.Integer({ minimum: 1, maximum: 999 }),
      /** Catalog price per piece or per kg. */
      unitPrice: Minor,
      /** Line total. */
      price: Minor,
      /** Weighed or label weight of a by-weight line. */
      grams: Type.Optional(Grams),
      /** Restricted-circulation label measure the price came from. */
      label: Type.Optional(Type.Union([Type.Literal('price'), Type.Literal('weight'), Type.Literal('count')])),
      bagging: Type.Optional(BaggingSpec),
      ageRestricted: Type.Optional(Type.Integer({ minimum: 1, maximum: 99 })),
      scan: Type.Optional(Id),
      entry: Type.Optional(Entry),
    },
    { additionalProperties: false },
  ),
);
export type ItemAddedData = Static<typeof ItemAddedToBasket>;

export const UnknownItemScanned = defineEvent(
  'UnknownItemScanned',
  1,
  Type.Object(
    { scan: Id, code: Type.String({ maxLength: 200 }), gtin: Type.Optional(Gtin14), reason: Type.String({ maxLength: 300 }) },
    { additionalProperties: false },
  ),
);

/** The shopper asked to remove a line (quantity 0) or lower its quantity; an attendant must approve. */
export const ItemRemovalRequested = defineEvent(
  'ItemRemovalRequested',
  1,
  Type.Object({ line: LineId, name: Type.String({ maxLength: 120 }), quantity: Type.Integer({ minimum: 0, maximum: 999 }) }, { additionalProperties: false }),
);

export const ItemRemovalRejected = defineEvent(
  'ItemRemovalRejected',
  1,
  Type.Object({ line: LineId, by: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false }),
);

export const ItemRemovedFromBasket = defineEvent(
  'ItemRemovedFromBasket',
  1,
  Type.Object(
    {
      line: LineId,
      reason: Type.Union([Type.Literal('customer'), Type.Literal('approved'), Type.Literal('age-check-rejected')]),
      by: Type.Optional(Type.String({ maxLength: 64 })),
    },
    { additionalProperties: false },
  ),
);

export const QuantityChanged = defineEvent(
  'QuantityChanged',
  1,
  Type.Object(
    {
      line: LineId,
      from: Type.Integer({ minimum: 1 }),
      quantity: Type.Integer({ minimum: 1, maximum: 999 }),
      price: Minor,
      by: Type.Optional(Type.String({ maxLength: 64 })),
    },
    { additionalProperties: false },
  ),
);

export const PaymentRequested = defineEvent(
  'PaymentRequested',
  1,
  Type.Object(
    { payment: Id, amount: Type.Integer({ minimum: 1 }), currency: Currency, attempt: Type.Integer({ minimum: 1 }) },
    { additionalProperties: false },
  ),
);

export const TransactionCompleted = defineEvent(
  'TransactionCompleted',
  1,
  Type.Object({ total: Minor, currency: Currency, items: Type.Integer({ minimum: 0 }), payment: Type.Optional(Id) }, { additionalProperties: false }),
);

export const TransactionCancelled = defineEvent(
  'TransactionCancelled',
  1,
  Type.Object({ total: Minor, reason: Type.String({ maxLength: 200 }), by: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false }),
);

/**
 * The shopper put their own bag in the bagging area: weightcheck accepts a weight
 * between `minG` and `maxG` for it without an alarm and counts from there (tare).
 */
export const OwnBagDeclared = defineEvent(
  'OwnBagDeclared',
  1,
  Type.Object({ bag: Type.String({ pattern: '^B[0-9]{1,3}$' }), minG: Grams, maxG: Grams }, { additionalProperties: false }),
);
export type OwnBagDeclaredData = Static<typeof OwnBagDeclared>;

/** A scan the basket did not take, and why (an audit trail of what the shopper scanned). */
export const ScanRefused = defineEvent(
  'ScanRefused',
  1,
  Type.Object(
    {
      scan: Id,
      code: Type.String({ maxLength: 200 }),
      reason: Type.Union([Type.Literal('payment-in-progress'), Type.Literal('lane-closed')]),
      detail: Type.String({ maxLength: 300 }),
    },
    { additionalProperties: false },
  ),
);

// ---- weightcheck: verdicts, each named by a stable `key` (retroactive.ts) ----

const Lines = Type.Array(LineId, { maxItems: 999 });
const Clears = Type.Array(Type.String({ maxLength: 80 }), { maxItems: 999 });
const VerdictBase = {
  key: Type.String({ maxLength: 80 }),
  /** Measured bagging-area weight since the transaction started. */
  actualG: Type.Number(),
  expectedG: Type.Number(),
  /** Keys of earlier alarms this verdict resolves. */
  clears: Clears,
};

export const WeightVerified = defineEvent(
  'WeightVerified',
  1,
  Type.Object(
    {
      ...VerdictBase,
      lines: Lines,
      bags: Type.Optional(Type.Array(Type.String({ pattern: '^B[0-9]{1,3}$' }), { maxItems: 999 })),
      override: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
);
export const ItemNotBagged = defineEvent('ItemNotBagged', 1, Type.Object({ ...VerdictBase, line: LineId }, { additionalProperties: false }));
export const UnexpectedItemInBaggingArea = defineEvent(
  'UnexpectedItemInBaggingArea',
  1,
  Type.Object({ ...VerdictBase, excessG: Type.Number() }, { additionalProperties: false }),
);
export const ItemRemovedFromBaggingArea = defineEvent(
  'ItemRemovedFromBaggingArea',
  1,
  Type.Object({ ...VerdictBase, missingG: Type.Number() }, { additionalProperties: false }),
);
export const WeightMismatch = defineEvent('WeightMismatch', 1, Type.Object({ ...VerdictBase, lines: Lines }, { additionalProperties: false }));

/** A verdict that later inputs show should not have been published (the seeds' compensating event). */
export const VerdictRetracted = defineEvent(
  'VerdictRetracted',
  1,
  Type.Object({ retracts: Id, key: Type.String({ maxLength: 80 }), type: Type.String({ maxLength: 64 }) }, { additionalProperties: false }),
);

export const ALARM_VERDICTS = ['ItemNotBagged', 'UnexpectedItemInBaggingArea', 'ItemRemovedFromBaggingArea', 'WeightMismatch'] as const;

// ---- attendant ----

const INTERVENTION_KINDS = ['weight', 'age-check', 'unknown-item', 'removal', 'payment-declined', 'assistance', 'device', 'pin-lockout'] as const;
export const InterventionKind = Type.Union(INTERVENTION_KINDS.map((k) => Type.Literal(k)));
/** `device`: a device the lane needs is missing (key: the need); `pin-lockout`: PIN sign-in was locked again and again. */
export type InterventionKindName = (typeof INTERVENTION_KINDS)[number];

/** A need of the lane (lane.needs) that no device meets now, and why. */
export const MissingNeed = Type.Object(
  {
    /** `scanner`, `bagging-scale`, `produce-scale` or a device name. */
    need: Type.String({ maxLength: 32 }),
    devices: Type.Array(Type.String({ maxLength: 32 }), { maxItems: 32 }),
    /** Each device's state and detail, e.g. "bagscale disconnected: no ACK on /dev/i2c-1 at 0x2a". */
    fault: Type.String({ maxLength: 300 }),
  },
  { additionalProperties: false },
);

/** Store IT closed the lane (the uplink's Close): who, and why if they said. */
export const StoreClosure = Type.Object(
  {
    /** The sender as the uplink names it, e.g. `store:it-alice` (store IT's 64 characters and the prefix). */
    by: Type.String({ minLength: 1, maxLength: 80 }),
    reason: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

defineEvent('LaneClosed', 1, Type.Object({ missing: Type.Array(MissingNeed, { maxItems: 16 }) }, { additionalProperties: false }));
defineUpcaster('LaneClosed', 1, (data) => data);
/**
 * The lane is closed to new shoppers, with every cause that keeps it closed now: the
 * devices it needs that are missing, and store IT's closure. Emitted again when the
 * causes change; a transaction already open finishes unless a device is missing.
 */
export const LaneClosed = defineEvent(
  'LaneClosed',
  2,
  Type.Object({ missing: Type.Array(MissingNeed, { maxItems: 16 }), store: Type.Optional(StoreClosure) }, { additionalProperties: false }),
);

defineEvent('LaneReopened', 1, Type.Object({}, { additionalProperties: false }));
defineUpcaster('LaneReopened', 1, (data) => data);
/** No cause keeps the lane closed any more; `by`: who opened it when that was store IT. */
export const LaneReopened = defineEvent(
  'LaneReopened',
  2,
  Type.Object({ by: Type.Optional(Type.String({ minLength: 1, maxLength: 80 })) }, { additionalProperties: false }),
);

/** Store IT's message for the staff (the uplink's Message), shown on the attendant screen. */
export const StoreMessageReceived = defineEvent(
  'StoreMessageReceived',
  1,
  Type.Object({ text: Type.String({ minLength: 1, maxLength: 500 }), by: Type.String({ minLength: 1, maxLength: 80 }) }, { additionalProperties: false }),
);

/** The shopper (or anyone at the screen) called for an attendant. */
export const AssistanceRequested = defineEvent(
  'AssistanceRequested',
  1,
  Type.Object({ by: Type.String({ minLength: 1, maxLength: 64 }), reason: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }),
);

export const InterventionRequired = defineEvent(
  'InterventionRequired',
  1,
  Type.Object(
    {
      intervention: Id,
      kind: InterventionKind,
      reason: Type.String({ maxLength: 300 }),
      /** Payment waits until it is cleared. */
      blocking: Type.Boolean(),
      /** The event that raised it. */
      ref: Id,
      /** Verdict key (weight) or basket line (age-check, removal). */
      key: Type.Optional(Type.String({ maxLength: 80 })),
      line: Type.Optional(LineId),
    },
    { additionalProperties: false },
  ),
);

export const InterventionCleared = defineEvent(
  'InterventionCleared',
  1,
  Type.Object(
    {
      intervention: Id,
      kind: InterventionKind,
      resolution: Type.Union(['resolved', 'retracted', 'approved', 'rejected', 'transaction-ended'].map((k) => Type.Literal(k))),
      key: Type.Optional(Type.String({ maxLength: 80 })),
      line: Type.Optional(LineId),
      by: Type.Optional(Type.String({ maxLength: 64 })),
    },
    { additionalProperties: false },
  ),
);

export const OverrideMethod = Type.Union([Type.Literal('pin'), Type.Literal('key')]);

export const OverrideApplied = defineEvent(
  'OverrideApplied',
  1,
  Type.Object(
    {
      intervention: Id,
      kind: InterventionKind,
      action: Type.Union([Type.Literal('approve'), Type.Literal('reject')]),
      by: Type.String({ maxLength: 64 }),
      method: OverrideMethod,
      reason: Type.Optional(Type.String({ maxLength: 200 })),
      key: Type.Optional(Type.String({ maxLength: 80 })),
      line: Type.Optional(LineId),
    },
    { additionalProperties: false },
  ),
);

export const OverrideRefused = defineEvent(
  'OverrideRefused',
  1,
  Type.Object(
    {
      by: Type.String({ maxLength: 64 }),
      reason: Type.String({ maxLength: 200 }),
      failures: Type.Integer({ minimum: 0 }),
      lockedUntil: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  ),
);

export const AttendantModeChanged = defineEvent(
  'AttendantModeChanged',
  1,
  Type.Object({ on: Type.Boolean(), method: OverrideMethod }, { additionalProperties: false }),
);

// ---- payment ----

export const PaymentStarted = defineEvent(
  'PaymentStarted',
  1,
  Type.Object(
    { payment: Id, amount: Type.Integer({ minimum: 1 }), currency: Currency, terminal: Type.String({ maxLength: 64 }), idempotencyKey: Id },
    { additionalProperties: false },
  ),
);

export const PaymentAuthorized = defineEvent(
  'PaymentAuthorized',
  1,
  Type.Object(
    {
      payment: Id,
      amount: Type.Integer({ minimum: 1 }),
      currency: Currency,
      terminal: Type.String({ maxLength: 64 }),
      authCode: Type.String({ maxLength: 32 }),
      method: Type.String({ maxLength: 32 }),
    },
    { additionalProperties: false },
  ),
);

export const PaymentDeclined = defineEvent(
  'PaymentDeclined',
  1,
  Type.Object(
    {
      payment: Id,
      amount: Type.Integer({ minimum: 1 }),
      reason: Type.Union(['declined', 'timeout', 'cancelled', 'error'].map((k) => Type.Literal(k))),
      detail: Type.Optional(Type.String({ maxLength: 300 })),
    },
    { additionalProperties: false },
  ),
);

// ---- journal ----

const ReceiptSummary = {
  status: Type.Union([Type.Literal('completed'), Type.Literal('cancelled')]),
  total: Minor,
  currency: Currency,
  items: Type.Integer({ minimum: 0 }),
};

/** A transaction closed and its receipt is in the journal (revision 1 of the receipt). */
export const ReceiptRecorded = defineEvent('ReceiptRecorded', 1, Type.Object(ReceiptSummary, { additionalProperties: false }));

/**
 * A recorded receipt changed: an event of its transaction arrived after the close (another
 * source at its own pace: an intervention raised or cleared, an override). `revision` counts
 * from 1, the ReceiptRecorded; `supersedes` is the id of the ReceiptRecorded or
 * ReceiptAmended event whose receipt this one replaces.
 */
export const ReceiptAmended = defineEvent(
  'ReceiptAmended',
  1,
  Type.Object({ ...ReceiptSummary, revision: Type.Integer({ minimum: 2 }), supersedes: Id }, { additionalProperties: false }),
);

/** The basket's transaction lifecycle events: what weightcheck and the journal follow of a basket. */
export const BASKET_LIFECYCLE = [
  'TransactionStarted',
  'ItemAddedToBasket',
  'QuantityChanged',
  'ItemRemovedFromBasket',
  'OwnBagDeclared',
  'TransactionCompleted',
  'TransactionCancelled',
] as const;
export type BasketLifecycleType = (typeof BASKET_LIFECYCLE)[number];
