import { Type } from '@sinclair/typebox';
import { defineEvent } from '../schema.js';

/** A numbered tick from the probe service: the end-to-end check of the event path (lanectl, crash tests, bench). */
export const ProbeTick = defineEvent(
  'ProbeTick',
  1,
  Type.Object({ n: Type.Integer({ minimum: 1 }), pad: Type.Optional(Type.String({ maxLength: 4096 })) }, { additionalProperties: false }),
);
