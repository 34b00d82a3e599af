/** Schemas of the uplink's own events (daemon/services/uplink/service.ts): what it could not, or may soon not, send to the store. */
import { Type, defineEvent, type Static } from '../schema.js';

const Source = Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' });

/**
 * Events of `source` from `from` to `to` (inclusive) were dropped from its log before
 * the uplink had sent them to the store broker: the store never gets them.
 */
export const UplinkGap = defineEvent(
  'UplinkGap',
  1,
  Type.Object(
    {
      source: Source,
      log: Type.Optional(Type.String({ maxLength: 64 })),
      from: Type.Integer({ minimum: 1 }),
      to: Type.Integer({ minimum: 1 }),
      count: Type.Integer({ minimum: 1 }),
    },
    { additionalProperties: false },
  ),
);
export type UplinkGap = Static<typeof UplinkGap>;

/** A source's unsent events reached `uplink.alarmAtPct` of its log: if the store stays away, events will be lost. */
export const UplinkBacklogAlarm = defineEvent(
  'UplinkBacklogAlarm',
  1,
  Type.Object(
    {
      source: Source,
      unsent: Type.Integer({ minimum: 0 }),
      retention: Type.Integer({ minimum: 1 }),
      pct: Type.Integer({ minimum: 0 }),
      /** The oldest unsent seq: the first to go. */
      from: Type.Integer({ minimum: 1 }),
    },
    { additionalProperties: false },
  ),
);
export type UplinkBacklogAlarm = Static<typeof UplinkBacklogAlarm>;

/** Store IT's sender of a command (its `by`, at most STORE_SENDER_MAX characters) is journaled as `store:<by>`. */
export const STORE_SENDER_PREFIX = 'store:';
export const STORE_SENDER_MAX = 64;

/** A command from store IT (lane open/close, a message for the attendant), journaled with who sent it. */
export const StoreCommandApplied = defineEvent(
  'StoreCommandApplied',
  1,
  Type.Object(
    {
      id: Type.String({ maxLength: 64 }),
      command: Type.String({ maxLength: 32 }),
      by: Type.String({ maxLength: STORE_SENDER_PREFIX.length + STORE_SENDER_MAX }),
      ok: Type.Boolean(),
      detail: Type.Optional(Type.String({ maxLength: 500 })),
      text: Type.Optional(Type.String({ maxLength: 500 })),
    },
    { additionalProperties: false },
  ),
);
