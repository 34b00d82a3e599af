import { Type, type Static } from '@sinclair/typebox';

/** `services.probe` in the config: the event-path self-check. */
export const ProbeSettings = Type.Object(
  {
    /** Ticks to emit after start (0: only on command). */
    count: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000_000 })),
    /** One transaction every `intervalMs` (0: back to back). */
    intervalMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000 })),
    /** Ticks committed per transaction. */
    batch: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    /** Bytes of padding per tick, to load the path with realistic payloads. */
    padBytes: Type.Optional(Type.Integer({ minimum: 0, maximum: 4096 })),
  },
  { additionalProperties: false },
);
export type ProbeSettings = Static<typeof ProbeSettings>;

/** `services.probe-sink` in the config. */
export const ProbeSinkSettings = Type.Object(
  {
    sources: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' }), { maxItems: 64 })),
    /** Ticks whose processing fails (dead-letter tests). */
    failTicks: Type.Optional(Type.Array(Type.Integer({ minimum: 0 }), { maxItems: 10_000 })),
  },
  { additionalProperties: false },
);
export type ProbeSinkSettings = Static<typeof ProbeSinkSettings>;
