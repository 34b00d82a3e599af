import { Type } from '@sinclair/typebox';
import { defineCommands, NoArgs } from '../../events/command.js';

/** `cmd/probe/<Name>`: the delivery probe's ticks. */
export const PROBE_COMMANDS = defineCommands({
  Emit: {
    description: 'Emit `count` more ticks.',
    args: Type.Object({ count: Type.Integer({ minimum: 1, maximum: 1_000_000 }) }),
    result: Type.Object({ target: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
  },
  Progress: {
    description: 'Ticks emitted so far and the target.',
    args: NoArgs,
    result: Type.Object({ emitted: Type.Integer({ minimum: 0 }), target: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
  },
});

/** `cmd/probe-sink/<Name>`: the probe's consumer. */
export const PROBE_SINK_COMMANDS = defineCommands({
  Refuse: {
    description: 'The ticks to refuse from now on (`[]`: the cause is mended; `lanectl dlq retry` then applies them).',
    args: Type.Object({ ticks: Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 1000 }) }),
    result: Type.Object({ refused: Type.Array(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }),
  },
  Tally: {
    description: 'Ticks applied, the highest, and how many were applied twice.',
    args: NoArgs,
    result: Type.Object(
      {
        ticks: Type.Integer({ minimum: 0 }),
        applied: Type.Integer({ minimum: 0 }),
        max: Type.Union([Type.Integer(), Type.Null()]),
        twice: Type.Integer({ minimum: 0 }),
      },
      { additionalProperties: false },
    ),
  },
});
