import { Type, type Static } from '@sinclair/typebox';

/** `services.journal` in the config. */
export const JournalSettings = Type.Object(
  {
    /** Receipts kept (oldest dropped first; default 10,000). */
    keepReceipts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
  },
  { additionalProperties: false },
);
export type JournalSettings = Static<typeof JournalSettings>;
