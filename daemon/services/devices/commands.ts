import { Type } from '@sinclair/typebox';
import { defineCommands, NoArgs } from '../../events/command.js';
import { DeviceStatusEvent } from '../../events/schemas/devices.js';

/** `cmd/devices/<Name>`: the lane's devices and their technician commands. */
export const DEVICES_COMMANDS = defineCommands({
  List: {
    description: 'All devices with state, last reading and the commands each offers.',
    args: NoArgs,
    result: Type.Array(
      Type.Composite([
        DeviceStatusEvent,
        Type.Object({
          commands: Type.Array(Type.Object({ name: Type.String(), describe: Type.String(), args: Type.Optional(Type.Record(Type.String(), Type.String())) })),
        }),
      ]),
    ),
  },
  Run: {
    description:
      "A technician command of one device (calibrate, zero, blink, selftest...); its result is the driver's, checked against the schema the driver declares for the command.",
    args: Type.Object({ device: Type.String(), command: Type.String(), args: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }),
    result: Type.Unknown({ description: "the driver's answer to the command" }),
  },
});
