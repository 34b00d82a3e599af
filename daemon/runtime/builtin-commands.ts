import { Type } from '@sinclair/typebox';
import type { Logger } from '../core/log.js';
import type { Tx } from '../store/store.js';
import { parseEvent } from '../events/envelope.js';
import type { DeadLetter, DeadLetters } from '../events/deadletter.js';
import { CommandError, defineCommands, NoArgs } from '../events/command.js';
import type { ServiceStatus } from './service.js';
import { commandSpecs } from './commands.js';
import type { DomainEvent } from '../events/schemas/index.js';

const DeadLetterNumber = Type.Object({ n: Type.Integer({ minimum: 1 }) });

/** The commands every service answers (`cmd/<service>/<Name>`): status, and the dead letters for `lanectl dlq`. */
export const BUILTIN_COMMANDS = defineCommands({
  Status: {
    description: "The service's state, backlog and counts, and fields of the service's own (the uplink's link and sources, the updater's slots).",
    args: NoArgs,
    result: Type.Object(
      {
        name: Type.String(),
        state: Type.Union(
          (['starting', 'running', 'stopping', 'stopped', 'failed', 'disconnected', 'write-failing', 'stalled'] as const).map((s) => Type.Literal(s)),
        ),
        connected: Type.Boolean(),
        outboxBacklog: Type.Integer({ minimum: 0 }),
        deadLetters: Type.Integer({ minimum: 0 }),
        applied: Type.Integer({ minimum: 0 }),
        lastSeq: Type.Integer({ minimum: 0 }),
        detail: Type.Optional(Type.String()),
      },
      { additionalProperties: true },
    ),
  },
  DlqList: {
    description: "The service's dead letters, newest first (at most 500).",
    args: NoArgs,
    result: Type.Array(
      Type.Object({
        n: Type.Integer({ minimum: 1 }),
        event_id: Type.Union([Type.String(), Type.Null()]),
        topic: Type.String(),
        payload: Type.String(),
        reason: Type.String(),
        attempts: Type.Integer({ minimum: 0 }),
        time: Type.String(),
      }),
    ),
  },
  DlqDrop: {
    description: 'Drop one dead letter for good.',
    args: DeadLetterNumber,
    result: Type.Object({ dropped: Type.Integer({ minimum: 1 }) }),
  },
  DlqRetry: {
    description: 'Apply one dead letter again; it leaves the dead letters when it is applied.',
    args: DeadLetterNumber,
    result: Type.Object({ retried: Type.Integer({ minimum: 1 }), eventId: Type.String() }),
  },
});

/** The handlers of BUILTIN_COMMANDS for one service. */
export function builtinCommands(s: {
  name: string;
  log: Logger;
  status(): ServiceStatus;
  deadLetters(): DeadLetters;
  onEvent(ev: DomainEvent, tx: Tx): Promise<void>;
}) {
  const { name, log } = s;
  return commandSpecs(BUILTIN_COMMANDS, {
    Status: { handle: async () => s.status() },
    // Inside the command's transaction: reading through the store would queue behind it (deadlock).
    DlqList: {
      handle: async (_args, tx, m) => {
        log.info({ by: m.by, command: m.id }, `dead letters of ${name} listed by ${m.by ?? 'an unknown sender'}`);
        return tx.all<DeadLetter>('SELECT * FROM dead_letters ORDER BY n DESC LIMIT 500');
      },
    },
    DlqDrop: {
      handle: async (args, tx, m) => {
        const dl = await tx.get<{ topic: string; event_id: string | null; reason: string }>('SELECT topic, event_id, reason FROM dead_letters WHERE n = ?', [
          args.n,
        ]);
        const r = await tx.run('DELETE FROM dead_letters WHERE n = ?', [args.n]);
        if (r.changes === 0 || !dl) throw new CommandError(`${name} has no dead letter ${args.n}`, 'not-found');
        tx.afterCommit(() => {
          s.deadLetters().forget(1);
          log.warn(
            { by: m.by, n: args.n, topic: dl.topic, eventId: dl.event_id, reason: dl.reason },
            `dead letter ${args.n} of ${name} dropped by ${m.by ?? 'an unknown sender'}`,
          );
        });
        return { dropped: args.n };
      },
    },
    DlqRetry: {
      handle: async (args, tx, m) => {
        const dl = await tx.get<{ topic: string; payload: string }>('SELECT topic, payload FROM dead_letters WHERE n = ?', [args.n]);
        log.warn({ by: m.by, n: args.n, topic: dl?.topic }, `dead letter ${args.n} of ${name} retried by ${m.by ?? 'an unknown sender'}`);
        if (!dl) throw new CommandError(`${name} has no dead letter ${args.n}`, 'not-found');
        const parsed = parseEvent(dl.topic, dl.payload, Number.MAX_SAFE_INTEGER);
        if (!parsed.ok) throw new CommandError(`dead letter ${args.n} is still invalid: ${parsed.reason}; drop it instead`);
        await s.onEvent(parsed.event, tx);
        await tx.run('DELETE FROM dead_letters WHERE n = ?', [args.n]);
        tx.afterCommit(() => s.deadLetters().forget(1));
        return { retried: args.n, eventId: parsed.event.id };
      },
    },
  });
}
