import type { Static } from '@sinclair/typebox';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { Store } from '../store/store.js';
import type { KeyedExecutor } from '../events/executor.js';
import { argsChecker, parseCommand, CommandError, type CommandContract, type CommandContracts, type CommandReply } from '../events/command.js';
import type { CommandHandler, CommandHandlers, CommandSpec } from './service.js';
import { parseTopic } from '../../broker/topics.js';

export const COMMAND_DDL = `CREATE TABLE IF NOT EXISTS command_results (id TEXT PRIMARY KEY, reply TEXT NOT NULL, time TEXT NOT NULL) WITHOUT ROWID;`;

/**
 * Runs the commands on `cmd/<service>/<Name>`: parse, answer a redelivered id from
 * `command_results`, check the args, run the handler in a transaction on its key's
 * queue, record the reply in the same transaction, reply on `replyTo`.
 */
export class CommandRunner {
  private readonly checkers = new Map<string, (a: unknown) => string | undefined>();

  constructor(
    private readonly opts: {
      service: string;
      store: Store;
      executor: KeyedExecutor;
      metrics: Metrics;
      log: Logger;
      maxPayloadBytes: number;
      /** The service's own commands, then the ones every service answers. */
      commands: Record<string, CommandSpec>;
      builtins: Record<string, CommandSpec>;
      publish(topic: string, text: string): void;
    },
  ) {
    for (const [cmd, spec] of Object.entries(opts.commands)) {
      if (spec.args) this.checkers.set(cmd, argsChecker(spec.args));
    }
    for (const [cmd, spec] of Object.entries(opts.builtins)) {
      if (spec.args && !this.checkers.has(cmd)) this.checkers.set(cmd, argsChecker(spec.args));
    }
  }

  async run(name: string, payload: Buffer): Promise<void> {
    const { service, store, metrics, log, maxPayloadBytes: max } = this.opts;
    const parsed = parseCommand(payload, max);
    if (!parsed.ok) {
      metrics.rejected.inc({ service, reason: 'command' });
      log.warn({ command: name, reason: parsed.reason }, `rejected command ${name}: ${parsed.reason}`);
      return;
    }
    const { cmd } = parsed;
    const replyTo = cmd.replyTo;
    const reply = (r: CommandReply): void => {
      if (!replyTo) return;
      let text = JSON.stringify(r);
      const bytes = Buffer.byteLength(text);
      if (bytes > max) {
        // the broker would refuse it: the asker learns why instead of waiting for nothing
        log.warn({ command: name, id: cmd.id, bytes, max }, `reply to ${name} not sent: ${bytes} bytes over events.maxPayloadBytes ${max}`);
        text = JSON.stringify({ id: cmd.id, ok: false, error: `the reply to ${name} has ${bytes} bytes, over events.maxPayloadBytes ${max}` });
      }
      this.opts.publish(replyTo, text);
    };
    const cached = await store.get<{ reply: string }>('SELECT reply FROM command_results WHERE id = ?', [cmd.id]);
    if (cached) {
      metrics.duplicates.inc({ service });
      reply(JSON.parse(cached.reply) as CommandReply);
      return;
    }
    const spec = this.opts.commands[name] ?? this.opts.builtins[name];
    if (!spec) {
      const known = Object.keys(this.opts.commands).join(', ') || 'none';
      metrics.rejected.inc({ service, reason: 'command' });
      log.warn({ command: name, id: cmd.id, by: cmd.by }, `rejected command ${name}: ${service} has no such command`);
      reply({ id: cmd.id, ok: false, error: `${service} has no command ${name} (known: ${known})` });
      return;
    }
    const problem = this.checkers.get(name)?.(cmd.args);
    if (problem) {
      metrics.rejected.inc({ service, reason: 'command-args' });
      log.warn({ command: name, id: cmd.id, by: cmd.by, reason: problem }, `rejected command ${name}: ${problem}`);
      reply({ id: cmd.id, ok: false, error: `${service}/${name}: ${problem}` });
      return;
    }
    let answer: CommandReply;
    try {
      answer = await this.opts.executor.run(spec.key?.(cmd.args) ?? `cmd:${service}`, () =>
        store.tx(async (tx) => {
          const asked = replyTo ? parseTopic(replyTo) : undefined;
          const from = asked?.kind === 'reply' ? asked.clientId : undefined;
          const result = await spec.handle(cmd.args, tx, { id: cmd.id, ...(cmd.by ? { by: cmd.by } : {}), ...(from ? { from } : {}) });
          const ok: CommandReply = { id: cmd.id, ok: true, ...(result === undefined ? {} : { result }) };
          await tx.run('INSERT INTO command_results (id, reply, time) VALUES (?,?,?)', [cmd.id, JSON.stringify(ok), new Date().toISOString()]);
          return ok;
        }),
      );
    } catch (err) {
      const message = (err as Error).message;
      if (!(err instanceof CommandError)) log.error({ command: name, id: cmd.id, err: message }, `command ${name} failed`);
      answer = { id: cmd.id, ok: false, error: message, ...(err instanceof CommandError && err.kind ? { kind: err.kind } : {}) };
    }
    reply(answer);
  }
}

/** One command's spec from its contract and handler. The runtime checks `args` against `contract.args` before `key` or `handle` sees them. */
function specOf<C extends CommandContract>(contract: C, h: CommandHandler<C>): CommandSpec {
  const { key } = h;
  return {
    args: contract.args,
    ...(key ? { key: (args: unknown) => key(args as Static<C['args']>) } : {}),
    handle: (args, tx, meta) => h.handle(args as Static<C['args']>, tx, meta),
  };
}

/** A service's commands for its ServiceLogic: each handler with the `args` schema of its contract. */
export function commandSpecs<C extends CommandContracts>(contracts: C, handlers: CommandHandlers<C>): Record<string, CommandSpec> {
  const specs: Record<string, CommandSpec> = {};
  for (const name of Object.keys(contracts) as Array<keyof C & string>) specs[name] = specOf(contracts[name], handlers[name]);
  return specs;
}
