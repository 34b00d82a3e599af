import { Type } from '@sinclair/typebox';
import type { Logger } from '../core/log.js';
import type { Tx } from '../store/store.js';
import { parseEvent } from '../events/envelope.js';
import type { DeadLetter, DeadLetters } from '../events/deadletter.js';
import { CommandError } from '../events/command.js';
import type { CommandSpec, ServiceStatus } from './service.js';
import type { DomainEvent } from '../events/schemas/index.js';

/** Commands every service answers: dead-letter handling for `lanectl dlq`, status. */
export function builtinCommands(s: {
  name: string;
  log: Logger;
  status(): ServiceStatus;
  deadLetters(): DeadLetters;
  onEvent(ev: DomainEvent, tx: Tx): Promise<void>;
}): Record<string, CommandSpec> {
  const { name, log } = s;
  return {
    Status: { handle: async () => s.status() },
    // Inside the command's transaction: reading through the store would queue behind it (deadlock).
    DlqList: {
      handle: async (_args: unknown, tx, m) => {
        log.info({ by: m.by, command: m.id }, `dead letters of ${name} listed by ${m.by ?? 'an unknown sender'}`);
        return tx.all<DeadLetter>('SELECT * FROM dead_letters ORDER BY n DESC LIMIT 500');
      },
    },
    DlqDrop: {
      args: Type.Object({ n: Type.Integer({ minimum: 1 }) }),
      handle: async (args: { n: number }, tx, m) => {
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
      args: Type.Object({ n: Type.Integer({ minimum: 1 }) }),
      handle: async (args: { n: number }, tx, m) => {
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
  };
}
