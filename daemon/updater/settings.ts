import { Type, type Static } from '@sinclair/typebox';
import { WINDOW_PATTERN } from './window.js';

/** `updater` in the config: where the slots are, when and how a new version is tried. */
export const UpdaterSettings = Type.Object(
  {
    /** The folder holding `slots/a`, `slots/b`, `current` and `updater.json`; default: the one this package runs from (/opt/laned), else `<state dir>/updater`. */
    root: Type.Optional(Type.String({ minLength: 1, pattern: '^/' })),
    /** Local time when a staged version may be switched to, `02:00-05:00` (an en dash works too; it may wrap midnight), or `any`. */
    window: Type.String({ pattern: WINDOW_PATTERN, default: 'any' }),
    /** Starts a new version gets to reach READY and stay healthy before the lane goes back to the last good one. */
    tries: Type.Integer({ minimum: 1, maximum: 10, default: 3 }),
    /** How long a new version must stay healthy after READY to be marked good. */
    trialSeconds: Type.Number({ minimum: 0, maximum: 86_400, default: 120 }),
    /** An idle lease not used for the switch within this is given back (the lane opens again). */
    leaseSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 3600, default: 60 }),
  },
  { additionalProperties: false, default: {} },
);

export type UpdaterSettings = Static<typeof UpdaterSettings>;
