import { Type, type Static } from '@sinclair/typebox';

/** `services.weightcheck` in the config. */
export const WeightcheckSettings = Type.Object(
  {
    /** Bagging-area scales (default: every nau7802 device). */
    baggingScales: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' }), { maxItems: 16 })),
    /** Time to bag an item after it was added, or to take it out after it was removed. */
    notBaggedTimeoutMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 3_600_000 })),
    noiseG: Type.Optional(Type.Number({ minimum: 0, maximum: 1000 })),
    toleranceG: Type.Optional(Type.Number({ minimum: 0, maximum: 10_000 })),
    tolerancePct: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    /** Closed transactions whose inputs are kept (for lanectl and support). */
    keepTransactions: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  },
  { additionalProperties: false },
);
export type WeightcheckSettings = Static<typeof WeightcheckSettings>;
