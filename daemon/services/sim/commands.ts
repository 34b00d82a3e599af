import { Type } from '@sinclair/typebox';
import { defineCommands, NoArgs } from '../../events/command.js';

/** A simulated device by name; left out, the lane's first one that can do it. */
const Device = Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' }));
const Grams = Type.Number({ minimum: -100000, maximum: 1000000 });
/** The simulated device that acted. */
const Acted = Type.Object({ device: Type.String() }, { additionalProperties: false });

/** `cmd/sim/<Name>`: the simulated twins' lowest layer (bytes, grams, input levels). */
export const SIM_COMMANDS = defineCommands({
  Devices: {
    description: 'The simulated devices and what each can do.',
    args: NoArgs,
    result: Type.Array(Type.Object({ name: Type.String(), kind: Type.String(), actions: Type.Array(Type.String()) })),
  },
  Scan: {
    description: 'A barcode read by a simulated scanner.',
    args: Type.Object({ code: Type.String({ minLength: 1, maxLength: 512 }), device: Device }),
    result: Acted,
  },
  Weight: { description: 'Grams on a simulated bagging-area scale.', args: Type.Object({ grams: Grams, device: Device }), result: Acted },
  Produce: { description: 'Grams on a simulated scanner-scale.', args: Type.Object({ grams: Grams, device: Device }), result: Acted },
  Unplug: { description: 'A simulated device goes away.', args: Type.Object({ device: Type.String() }), result: Acted },
  Replug: { description: 'A simulated device comes back.', args: Type.Object({ device: Type.String() }), result: Acted },
  Input: { description: 'A simulated GPIO input switched.', args: Type.Object({ device: Type.String(), on: Type.Boolean() }), result: Acted },
});
