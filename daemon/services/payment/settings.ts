import { Type, type Static } from '@sinclair/typebox';

const Outcome = Type.Union([Type.Literal('approve'), Type.Literal('decline'), Type.Literal('timeout'), Type.Literal('cancel')]);

/** `services.payment` in the config. */
export const PaymentSettings = Type.Object(
  {
    /** The payment terminal; `simulated` is the only kind so far. */
    terminal: Type.Optional(
      Type.Object(
        {
          kind: Type.Literal('simulated'),
          /** How long the simulated shopper takes at the terminal. */
          delayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
          /** Outcomes of the next payments, in order. */
          script: Type.Optional(Type.Array(Outcome, { maxItems: 1000 })),
          /** Outcome when the script is used up. */
          fallback: Type.Optional(Outcome),
        },
        { additionalProperties: false },
      ),
    ),
    /** No answer from the terminal for this long: the payment is cancelled there and declined here. */
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 3_600_000 })),
    /** Wait before asking an unreachable terminal again. */
    retryMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })),
  },
  { additionalProperties: false },
);
export type PaymentSettings = Static<typeof PaymentSettings>;
