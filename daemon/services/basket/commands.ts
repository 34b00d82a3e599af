import { Type, type Static } from '@sinclair/typebox';
import { defineCommands, NoArgs, OptionalArgs } from '../../events/command.js';
import { ItemAddedToBasket } from '../../events/schemas/checkout.js';
import { LEASE_COMMANDS } from '../../updater/lease.js';

const Line = Type.String({ pattern: '^L[0-9]{1,6}$' });
const Status = Type.Union([Type.Literal('open'), Type.Literal('paying'), Type.Literal('completed'), Type.Literal('cancelled')]);
/** A line's quantity after RemoveItem or ChangeQuantity; `pending`: the removal waits for an attendant. */
export const LineChange = Type.Object(
  { line: Type.String(), quantity: Type.Integer({ minimum: 0 }), pending: Type.Boolean() },
  { additionalProperties: false },
);

/** `cmd/basket/<Name>`: the shopper's basket. */
export const BASKET_COMMANDS = defineCommands({
  ...LEASE_COMMANDS,
  RemoveItem: {
    description: 'Remove a line (quantity 0, the default) or lower its quantity; an attendant may have to approve.',
    args: Type.Object({ line: Line, quantity: Type.Optional(Type.Integer({ minimum: 0, maximum: 998 })) }),
    result: LineChange,
  },
  ChangeQuantity: {
    description: "Set a line's quantity: higher at once, lower as a removal.",
    args: Type.Object({ line: Line, quantity: Type.Integer({ minimum: 1, maximum: 999 }) }),
    result: LineChange,
  },
  DeclareBag: {
    description: 'The shopper put an own bag in the bagging area: weightcheck tares it (OwnBagDeclared); opens a transaction when none is.',
    args: NoArgs,
    result: Type.Object({ txn: Type.String(), bag: Type.String(), minG: Type.Number(), maxG: Type.Number() }, { additionalProperties: false }),
  },
  Pay: {
    description: 'Ask the payment service to take the total (PaymentRequested).',
    args: NoArgs,
    result: Type.Object({ txn: Type.String(), payment: Type.String(), amount: Type.Integer(), currency: Type.String() }, { additionalProperties: false }),
  },
  Cancel: {
    description: 'Cancel the open transaction (not while a payment is in progress).',
    args: OptionalArgs(Type.Object({ reason: Type.Optional(Type.String({ maxLength: 200 })) })),
    result: Type.Object({ txn: Type.String(), status: Type.Literal('cancelled') }, { additionalProperties: false }),
  },
  Get: {
    description: 'The current transaction with all its lines, or `idle`.',
    args: NoArgs,
    result: Type.Union([
      Type.Object({ txn: Type.Null(), status: Type.Literal('idle') }, { additionalProperties: false }),
      Type.Object({
        txn: Type.String(),
        n: Type.Integer(),
        status: Status,
        corr: Type.String(),
        total: Type.Integer(),
        payment: Type.Union([Type.String(), Type.Null()]),
        attempts: Type.Integer({ minimum: 0 }),
        notice: Type.Union([Type.String(), Type.Null()]),
        blocked: Type.Optional(Type.Integer({ minimum: 0 })),
        lines: Type.Array(
          Type.Composite([Type.Omit(ItemAddedToBasket, ['quantity']), Type.Object({ quantity: Type.Integer({ minimum: 0 }), removed: Type.Boolean() })]),
        ),
      }),
    ]),
  },
});

export type LineChange = Static<typeof LineChange>;
