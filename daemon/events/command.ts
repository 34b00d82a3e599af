import { KindGuard, Type, type Static, type TSchema } from '@sinclair/typebox';
import { newEventId } from './envelope.js';
import { firstError, valueProblem } from '../../drivers/schema-check.js';

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

export type CommandParse = { ok: true; cmd: Command } | { ok: false; reason: string };

export function parseCommand(payload: Buffer, maxBytes: number): CommandParse {
  if (payload.length > maxBytes) return { ok: false, reason: `payload of ${payload.length} bytes over the limit of ${maxBytes}` };
  let raw: unknown;
  try {
    raw = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `payload is not JSON: ${(err as Error).message}` };
  }
  const problem = firstError(CommandSchema, raw);
  if (problem) return { ok: false, reason: `command${problem}` };
  return { ok: true, cmd: raw as Command };
}

/**
 * A command's argument check, compiled once. Args that may be left out (a union with
 * undefined: NoArgs, OptionalArgs) are explained by the one schema they were given for,
 * so the refusal names the field, not "expected union value".
 */
export function argsChecker<S extends TSchema>(schema: S): (args: unknown) => string | undefined {
  const given = KindGuard.IsUnion(schema) ? schema.anyOf.filter((s) => !KindGuard.IsUndefined(s)) : [];
  const explain = given.length === 1 ? given[0] : schema;
  return (args) => {
    const problem = firstError(schema, args);
    if (!problem) return undefined;
    return `args${(args !== undefined && explain !== schema && firstError(explain, args)) || problem}`;
  };
}

export function newCommand(args: unknown, replyTo?: string, by?: string): Command {
  return { id: newEventId(), ...(args === undefined ? {} : { args }), ...(replyTo ? { replyTo } : {}), ...(by ? { by } : {}) };
}

/**
 * One command's contract: the schema of its `args` (checked where the command
 * arrives, daemon/runtime/commands.ts) and of its reply's `result` (checked in the
 * tests where the reply is published). Declared once next to the service that
 * answers it; the handler's types are derived from it (daemon/runtime/service.ts).
 */
export interface CommandContract<A extends TSchema = TSchema, R extends TSchema = TSchema> {
  /** What the command does, for the AsyncAPI document. */
  description: string;
  args: A;
  result: R;
}

/** A service's commands by name. */
export type CommandContracts = Record<string, CommandContract>;

/** The commands of one service: `const`, so that each name and schema keeps its own type. */
export function defineCommands<const C extends CommandContracts>(commands: C): C {
  return commands;
}

/** `args` of a command that takes none: absent, or an empty object; anything else is refused, naming the field. */
export const NoArgs = Type.Union([Type.Undefined(), Type.Object({}, { additionalProperties: false })], { description: 'none' });

/** `args` that may be left out, or given as the object. */
export const OptionalArgs = <S extends TSchema>(s: S) => Type.Union([Type.Undefined(), s]);

/** A reply to a command: `result` when ok, `error` (and `kind`) when refused. */
export const CommandReplySchema = <R extends TSchema>(result: R) =>
  Type.Object(
    {
      id: Type.String(),
      ok: Type.Boolean(),
      result: Type.Optional(result),
      error: Type.Optional(Type.String()),
      kind: Type.Optional(Type.Literal('not-found')),
    },
    { additionalProperties: false },
  );

const ReplyShape = CommandReplySchema(Type.Unknown());

/** The first way `reply` breaks its command's contract, or undefined. */
export function replyProblem(name: string, contract: CommandContract, reply: unknown): string | undefined {
  const problem = replyShapeProblem(contract, reply);
  return problem && `the reply to ${name} breaks its contract: ${problem}`;
}

function replyShapeProblem(contract: CommandContract, reply: unknown): string | undefined {
  const shape = firstError(ReplyShape, reply);
  if (shape) return `reply${shape}`;
  const r = reply as CommandReply;
  if (!r.ok) return r.error ? undefined : 'reply: a refusal without error';
  const problem = valueProblem(contract.result, r.result);
  return problem && `result${problem}`;
}
