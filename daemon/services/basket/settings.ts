import { Type, type Static } from '@sinclair/typebox';

/** `services.basket` in the config. */
export const BasketSettings = Type.Object(
  {
    /** Produce scales whose ProduceWeighed prices items sold by weight (default: magellan, toledo8217 devices). */
    produceScales: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' }), { maxItems: 16 })),
    /** Removing a line or lowering its quantity waits for an attendant (default true). */
    removalNeedsApproval: Type.Optional(Type.Boolean()),
    /**
     * With removalNeedsApproval: a removal or lower quantity worth at most this much
     * (minor units: the pieces taken off times their price) applies at once (default 0).
     */
    removalFreeUpTo: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    /** The weight an own bag the shopper declares may have in the bagging area (default 5 … 250 g). */
    ownBag: Type.Optional(
      Type.Object(
        { minG: Type.Number({ minimum: 0, maximum: 5000 }), maxG: Type.Number({ exclusiveMinimum: 0, maximum: 5000 }) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type BasketSettings = Static<typeof BasketSettings>;
