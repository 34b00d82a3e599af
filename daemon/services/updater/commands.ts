import { Type } from '@sinclair/typebox';
import { defineCommands, NoArgs } from '../../events/command.js';
import { UpdaterStateSchema } from '../../updater/state-file.js';

const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$' });
const Slot = Type.Union([Type.Literal('a'), Type.Literal('b')]);

/** `cmd/updater/<Name>`: bundles to stage, store IT's offers, the switch history and rollback. */
export const UPDATER_COMMANDS = defineCommands({
  Apply: {
    description: '`lanectl update apply FILE`: check and stage a bundle file the daemon can read.',
    args: Type.Object({ path: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false }),
    result: Type.Object({ slot: Slot, version: Type.String(), manifestSha256: Sha256 }, { additionalProperties: false }),
  },
  Offer: {
    description: 'Store IT offers an update: downloaded (with resume) and staged in the background.',
    args: Type.Object(
      {
        url: Type.String({ pattern: '^https?://', maxLength: 2048 }),
        sha256: Sha256,
        size: Type.Integer({ minimum: 1 }),
        version: Type.String({ pattern: '^\\d{1,9}\\.\\d{1,9}\\.\\d{1,9}(-[0-9A-Za-z.-]{1,32})?$' }),
        window: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      },
      { additionalProperties: false },
    ),
    result: Type.Object({ accepted: Type.Boolean(), reason: Type.Optional(Type.String()) }, { additionalProperties: false }),
  },
  History: {
    description: 'Every switch the state file remembers, oldest first.',
    args: NoArgs,
    result: UpdaterStateSchema.properties.history,
  },
  Rollback: {
    description: 'Back to the version in the other slot, under the same idle lease and trial as an update.',
    args: NoArgs,
    result: Type.Object({ slot: Slot, version: Type.String() }, { additionalProperties: false }),
  },
});
