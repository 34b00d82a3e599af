import { Type } from '@sinclair/typebox';
import { defineCommands, NoArgs } from '../../events/command.js';
import { InterventionKind, OverrideMethod } from '../../events/schemas/checkout.js';
import { LEASE_COMMANDS } from '../../updater/lease.js';

/** Who acts, when the sender names someone else than itself (store IT through the uplink, lanectl). */
const By = Type.Optional(Type.String({ minLength: 1, maxLength: 64 }));
const StoreBy = Type.Optional(Type.String({ minLength: 1, maxLength: 80 }));
const Reason = Type.Optional(Type.String({ maxLength: 200 }));

/** `cmd/attendant/<Name>`: assistance, overrides, the lane's closures. */
export const ATTENDANT_COMMANDS = defineCommands({
  Call: {
    description: '"Call attendant": one open assistance intervention at a time (asking again answers with it).',
    args: Type.Object({ by: By, reason: Reason }),
    result: Type.Object({ intervention: Type.String(), already: Type.Boolean() }, { additionalProperties: false }),
  },
  CheckPin: {
    description: "The attendant screen's sign-in: the same check as an override, nothing overridden.",
    args: Type.Object({ pin: Type.Optional(Type.String({ maxLength: 64 })), by: By }),
    result: Type.Object({ method: OverrideMethod }, { additionalProperties: false }),
  },
  Override: {
    description: 'Approve or reject one open intervention (or all of them), with the key switch turned or the PIN.',
    args: Type.Object({
      intervention: Type.Optional(Type.String({ maxLength: 64 })),
      action: Type.Union([Type.Literal('approve'), Type.Literal('reject')]),
      pin: Type.Optional(Type.String({ maxLength: 64 })),
      by: By,
      reason: Reason,
    }),
    result: Type.Object(
      {
        method: OverrideMethod,
        by: Type.String(),
        applied: Type.Array(
          Type.Object(
            { intervention: Type.String(), kind: InterventionKind, action: Type.Union([Type.Literal('approve'), Type.Literal('reject')]) },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false },
    ),
  },
  ...LEASE_COMMANDS,
  StoreClose: {
    description: "Store IT's Close: no new shopper; a transaction already open finishes.",
    args: Type.Object({ reason: Reason, by: StoreBy }, { additionalProperties: false }),
    result: Type.Object({ closed: Type.Boolean(), already: Type.Boolean(), finishing: Type.Optional(Type.String()) }, { additionalProperties: false }),
  },
  StoreOpen: {
    description: "Store IT's Open: takes back its own closure; a missing device or an update keeps the lane closed (`stillClosed`).",
    args: Type.Object({ reason: Reason, by: StoreBy }, { additionalProperties: false }),
    result: Type.Object(
      { open: Type.Boolean(), wasClosedByStore: Type.Boolean(), stillClosed: Type.Optional(Type.Array(Type.String())) },
      { additionalProperties: false },
    ),
  },
  StoreMessage: {
    description: "Store IT's message for the staff: on the attendant screen and journaled.",
    args: Type.Object({ text: Type.String({ minLength: 1, maxLength: 500 }), by: StoreBy }, { additionalProperties: false }),
    result: Type.Object({ shown: Type.Boolean() }, { additionalProperties: false }),
  },
  List: {
    description: "The open interventions, staff mode and the lane's state.",
    args: NoArgs,
    result: Type.Object(
      {
        open: Type.Array(
          Type.Object({
            id: Type.String(),
            n: Type.Integer(),
            txn: Type.Union([Type.String(), Type.Null()]),
            kind: InterventionKind,
            reason: Type.String(),
            blocking: Type.Integer(),
            ref: Type.String(),
            event: Type.String(),
            okey: Type.Union([Type.String(), Type.Null()]),
            line: Type.Union([Type.String(), Type.Null()]),
            age: Type.Union([Type.Integer(), Type.Null()]),
            open: Type.Integer(),
            raised: Type.String(),
          }),
        ),
        attendantMode: Type.Boolean(),
        state: Type.Optional(Type.Union((['idle', 'shopping', 'assist', 'intervention', 'attendant', 'closed'] as const).map((s) => Type.Literal(s)))),
      },
      { additionalProperties: false },
    ),
  },
});
