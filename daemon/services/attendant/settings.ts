import { Type, type Static } from '@sinclair/typebox';

const Name = Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' });
const Lamps = Type.Record(Name, Type.String({ minLength: 1, maxLength: 32 }));

/** `services.attendant` in the config. */
export const AttendantSettings = Type.Object(
  {
    /** scrypt hash of the attendant PIN (`lanectl hash-password --pin`). Without it only the key switch overrides. */
    pinHash: Type.Optional(Type.String({ pattern: '^scrypt\\$[0-9]+\\$[0-9]+\\$[0-9]+\\$[A-Za-z0-9+/=]+\\$[A-Za-z0-9+/=]+$' })),
    /** Wrong PINs in a row before overrides by PIN are locked. */
    maxPinFailures: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    lockoutMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 24 * 3_600_000 })),
    /** Lockouts in a row (no right PIN between) from one screen or client that open a pin-lockout intervention. */
    lockoutsBeforeAlarm: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    /** gpio-input device of the attendant key switch (default: the device named keyswitch). */
    keySwitch: Type.Optional(Name),
    /** Lane state -> lamp device -> pattern (drivers/gpio/output.ts patterns). */
    lights: Type.Optional(
      Type.Object(
        {
          idle: Type.Optional(Lamps),
          shopping: Type.Optional(Lamps),
          assist: Type.Optional(Lamps),
          intervention: Type.Optional(Lamps),
          attendant: Type.Optional(Lamps),
          closed: Type.Optional(Lamps),
        },
        { additionalProperties: false },
      ),
    ),
    /** Service that runs device commands (cmd/<lightTarget>/Run). */
    lightTarget: Type.Optional(Name),
  },
  { additionalProperties: false },
);
export type AttendantSettings = Static<typeof AttendantSettings>;
