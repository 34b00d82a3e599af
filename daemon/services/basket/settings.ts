import { Type, type Static } from '@sinclair/typebox';

/** `services.basket` in the config. */
export const BasketSettings = Type.Object(
  {
    /** Produce scales whose ProduceWeighed prices items sold by weight (default: magellan, toledo8217 devices). */
    produceScales: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' }), { maxItems: 16 })),
    /** Removing a line or lowering its quantity waits for an attendant (default true). */
    removalNeedsApproval: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type BasketSettings = Static<typeof BasketSettings>;
