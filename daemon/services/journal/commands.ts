import { Type, type Static, type TObject } from '@sinclair/typebox';
import { defineCommands } from '../../events/command.js';
import { AttendantModeChanged, ItemAddedToBasket, OverrideApplied, OverrideRefused } from '../../events/schemas/checkout.js';

/** Lines (and removed lines) a `Show` reply carries at most: 200 lines of long names stay far below the payload limit. */
export const SHOW_MAX_LINES = 200;

const Time = Type.String({ maxLength: 40 });

/**
 * The fields of each kind of receipt row, spelled once: the journal's `Show` reply and
 * the store's LaneReceipt (which allows no other fields) are both built on them.
 */
export const RECEIPT_ROWS = {
  line: Type.Pick(ItemAddedToBasket, ['line', 'gtin', 'name', 'unit', 'quantity', 'unitPrice', 'price', 'grams', 'label']),
  removed: { line: Type.String(), name: Type.String(), reason: Type.String(), by: Type.Optional(Type.String()) },
  payment: {
    payment: Type.String(),
    /** Minor units of the receipt's currency. */
    amount: Type.Integer({ minimum: 0 }),
    outcome: Type.Union([Type.Literal('authorized'), Type.Literal('declined')]),
    reason: Type.Optional(Type.String()),
    authCode: Type.Optional(Type.String()),
    method: Type.Optional(Type.String()),
  },
  intervention: {
    intervention: Type.String(),
    kind: Type.String(),
    reason: Type.String(),
    raised: Time,
    cleared: Type.Optional(Time),
    resolution: Type.Optional(Type.String()),
    by: Type.Optional(Type.String()),
  },
  override: {
    intervention: Type.String(),
    kind: Type.String(),
    action: Type.String(),
    by: Type.String(),
    method: Type.String(),
    reason: Type.Optional(Type.String()),
    time: Time,
  },
};

/** The receipt of one transaction: what was bought, paid, and what attendants did. */
export const ReceiptSchema = Type.Object({
  txn: Type.String(),
  lane: Type.Optional(Type.String()),
  status: Type.Union([Type.Literal('open'), Type.Literal('completed'), Type.Literal('cancelled')]),
  started: Type.Optional(Type.String()),
  closed: Type.Optional(Type.String()),
  currency: Type.Optional(Type.String()),
  lines: Type.Array(RECEIPT_ROWS.line),
  removed: Type.Array(Type.Object(RECEIPT_ROWS.removed)),
  total: Type.Integer(),
  payments: Type.Array(Type.Object(RECEIPT_ROWS.payment)),
  interventions: Type.Array(Type.Object(RECEIPT_ROWS.intervention)),
  overrides: Type.Array(Type.Object(RECEIPT_ROWS.override)),
  cancelReason: Type.Optional(Type.String()),
});
export type Receipt = Static<typeof ReceiptSchema>;

/** A receipt as one `Show` reply: lines and removed lines from `from`, at most `max` of each, with their counts. */
export const ReceiptPageSchema = Type.Composite([
  ReceiptSchema,
  Type.Object({
    page: Type.Object({ from: Type.Integer({ minimum: 0 }), lineCount: Type.Integer({ minimum: 0 }), removedCount: Type.Integer({ minimum: 0 }) }),
  }),
]);
export type ReceiptPage = Static<typeof ReceiptPageSchema>;

/** One entry of the overrides journal: an override applied or refused, or staff mode switched, with its event's data. */
const overrideEntry = <N extends string, D extends TObject>(type: N, data: D) =>
  Type.Composite([Type.Object({ type: Type.Literal(type), txn: Type.Union([Type.String(), Type.Null()]), time: Type.String() }), data]);
export const OverrideEntry = Type.Union([
  overrideEntry('OverrideApplied', OverrideApplied),
  overrideEntry('OverrideRefused', OverrideRefused),
  overrideEntry('AttendantModeChanged', AttendantModeChanged),
]);
export type OverrideEntry = Static<typeof OverrideEntry>;

const Limit = Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 }));

/** `cmd/journal/<Name>`: receipts and the overrides journal. */
export const JOURNAL_COMMANDS = defineCommands({
  List: {
    description: 'The newest receipts, newest first.',
    args: Type.Object({ limit: Limit }),
    result: Type.Array(
      Type.Object(
        { txn: Type.String(), status: Type.String(), total: Type.Integer(), currency: Type.Union([Type.String(), Type.Null()]), closed: Type.String() },
        { additionalProperties: false },
      ),
    ),
  },
  Show: {
    description: "A transaction's receipt, a page of its lines at a time (`from`, `max`); the UI sees only the newest.",
    args: Type.Object({
      txn: Type.String({ maxLength: 64 }),
      from: Type.Optional(Type.Integer({ minimum: 0 })),
      max: Type.Optional(Type.Integer({ minimum: 1, maximum: SHOW_MAX_LINES })),
    }),
    result: ReceiptPageSchema,
  },
  Overrides: {
    description: 'The overrides journal, newest first, optionally of one transaction.',
    args: Type.Object({ limit: Limit, txn: Type.Optional(Type.String({ maxLength: 64 })) }),
    result: Type.Array(OverrideEntry),
  },
});
