import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { newEventId } from './envelope.js';

export { CommandError } from '../../drivers/command.js';

export const CommandSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64 }),
    args: Type.Optional(Type.Unknown()),
    /** Where the answer goes; must be under reply/<the sender's clientId>/. */
    replyTo: Type.Optional(Type.String({ pattern: '^reply/[^#+]+$', maxLength: 200 })),
    /** Who asked (attendant id, technician, ui), for the journal. */
    by: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

/** A message on `cmd/<target>/<Name>`: one consumer, answered on `replyTo` when given. */
export type Command = Static<typeof CommandSchema>;

export interface CommandReply {
  id: string;
  ok: boolean;
  result?: unknown;
  error?: string;
  /** What kind of refusal: `not-found` when the thing asked for (a device, a dead letter) does not exist. */
  kind?: 'not-found';
}

const checkCommand = TypeCompiler.Compile(CommandSchema);

export type CommandParse = { ok: true; cmd: Command } | { ok: false; reason: string };

export function parseCommand(payload: Buffer, maxBytes: number): CommandParse {
  if (payload.length > maxBytes) return { ok: false, reason: `payload of ${payload.length} bytes over the limit of ${maxBytes}` };
  let raw: unknown;
  try {
    raw = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `payload is not JSON: ${(err as Error).message}` };
  }
  if (!checkCommand.Check(raw)) {
    const first = checkCommand.Errors(raw).First();
    return { ok: false, reason: `command${first?.path ?? ''}: ${first?.message ?? 'invalid'}` };
  }
  return { ok: true, cmd: raw };
}

/** A command's argument check, compiled once. */
export function argsChecker<S extends TSchema>(schema: S): (args: unknown) => string | undefined {
  const c = TypeCompiler.Compile(schema);
  return (args) => {
    if (c.Check(args)) return undefined;
    const first = c.Errors(args).First();
    return `args${first?.path ?? ''}: ${first?.message ?? 'invalid'}`;
  };
}

export function newCommand(args: unknown, replyTo?: string, by?: string): Command {
  return { id: newEventId(), ...(args === undefined ? {} : { args }), ...(replyTo ? { replyTo } : {}), ...(by ? { by } : {}) };
}
