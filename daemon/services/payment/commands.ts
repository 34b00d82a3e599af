import { Type } from '@sinclair/typebox';
import { defineCommands, NoArgs } from '../../events/command.js';
import { SIM_OUTCOMES, SimLedgerEntry } from './simulated.js';

/** `cmd/payment/<Name>`: the payments at the terminal, and the simulated terminal's plan. */
export const PAYMENT_COMMANDS = defineCommands({
  Cancel: {
    description: 'The shopper cancelled on the screen: stop the payment (the one in progress, or `payment`) at the terminal.',
    args: Type.Object({ payment: Type.Optional(Type.String({ maxLength: 64 })) }),
    result: Type.Object({ payment: Type.String(), cancelling: Type.Boolean() }, { additionalProperties: false }),
  },
  List: {
    description: 'The newest payments (at most 100), optionally of one transaction.',
    args: Type.Object({ txn: Type.Optional(Type.String({ maxLength: 64 })) }),
    result: Type.Array(
      Type.Object(
        {
          payment: Type.String(),
          txn: Type.String(),
          corr: Type.Union([Type.String(), Type.Null()]),
          request: Type.String(),
          idem_key: Type.String(),
          amount: Type.Integer(),
          currency: Type.String(),
          state: Type.Union([Type.Literal('requested'), Type.Literal('in-flight'), Type.Literal('authorized'), Type.Literal('declined')]),
          tries: Type.Integer({ minimum: 0 }),
          outcome: Type.Unknown({ description: "the terminal's outcome, null while there is none" }),
        },
        { additionalProperties: true },
      ),
    ),
  },
  SimQueue: {
    description: 'Simulated terminal: the outcomes of the next payments.',
    args: Type.Object({ outcomes: Type.Array(Type.Union(SIM_OUTCOMES.map((o) => Type.Literal(o))), { minItems: 1, maxItems: 100 }) }),
    result: Type.Object({ queued: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
  },
  SimLedger: {
    description: 'Simulated terminal: its ledger of charges, oldest first.',
    args: NoArgs,
    result: Type.Array(SimLedgerEntry),
  },
});
