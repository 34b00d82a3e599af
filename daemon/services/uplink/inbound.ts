import type { TSchema } from '@sinclair/typebox';
import { firstError } from '../../../drivers/schema-check.js';
import type { ServiceContext } from '../../runtime/runtime.js';
import type { Store } from '../../store/store.js';
import type { UplinkConfig } from './settings.js';
import { StoreCommand, storeCommands, type StoreCommandName, type StoreReply } from './contract.js';
import { applyCatalog } from './catalog-update.js';
import { STORE_SENDER_PREFIX } from '../../events/schemas/uplink.js';

const COMMANDS_DDL = `CREATE TABLE IF NOT EXISTS uplink_commands (id TEXT PRIMARY KEY, command TEXT NOT NULL, by TEXT NOT NULL, reply TEXT, time TEXT NOT NULL) WITHOUT ROWID;`;

/** A refusal the reply explains; anything else is logged as a failure of the lane. */
export class Refused extends Error {
  override name = 'Refused';
}

export interface InboundOptions {
  ctx: ServiceContext;
  config: UplinkConfig;
  prefix: string;
  reply(id: string, reply: StoreReply): void;
  counted(command: string, result: 'applied' | 'refused' | 'invalid' | 'repeated'): void;
}

/**
 * Store IT's commands on `<prefix>/cmd/<name>`: read only from the store broker,
 * checked against their schema (contract.ts), applied once per `id` (a repeated
 * id gets the first answer again), each answered on `<prefix>/reply/<id>` and
 * recorded as a StoreCommandApplied event with who sent it.
 */
export class Inbound {
  private readonly running = new Set<string>();
  private readonly services = new Map<string, boolean>();
  private readonly tally = new Map<string, number>();

  constructor(private readonly o: InboundOptions) {}

  async migrate(store: Store): Promise<void> {
    await store.exec(COMMANDS_DDL);
  }

  /** A service's retained `svc/<name>/state`: whether it runs on this lane. */
  noteService(name: string, payload: Buffer): void {
    try {
      this.services.set(name, (JSON.parse(payload.toString('utf8')) as { state?: unknown }).state === 'online');
    } catch {
      this.services.delete(name);
    }
  }

  counts(): Record<string, number> {
    return Object.fromEntries(this.tally);
  }

  private count(command: string, result: 'applied' | 'refused' | 'invalid' | 'repeated'): void {
    this.tally.set(result, (this.tally.get(result) ?? 0) + 1);
    this.o.counted(command, result);
  }

  async receive(topic: string, payload: Buffer): Promise<void> {
    const { ctx } = this.o;
    const name = topic.startsWith(`${this.o.prefix}/cmd/`) ? topic.slice(this.o.prefix.length + 5) : '';
    let raw: unknown;
    try {
      raw = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      this.count(name || 'unknown', 'invalid');
      ctx.log.warn({ topic, err: (err as Error).message }, `store command on ${topic} refused: not JSON`);
      return;
    }
    const invalid = firstError(StoreCommand, raw);
    if (invalid) {
      this.count(name || 'unknown', 'invalid');
      ctx.log.warn({ topic, problem: invalid }, `store command on ${topic} refused: ${invalid}`);
      const id = (raw as { id?: unknown } | null)?.id;
      if (typeof id === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(id)) {
        this.answer(id, name, false, undefined, `command${invalid} (needs {id, by, args})`);
      }
      return;
    }
    const cmd = raw as StoreCommand;
    if (this.running.has(cmd.id)) return;
    const seen = await ctx.store.get<{ reply: string | null }>('SELECT reply FROM uplink_commands WHERE id = ?', [cmd.id]);
    if (seen) {
      this.count(name, 'repeated');
      if (seen.reply) this.o.reply(cmd.id, JSON.parse(seen.reply) as StoreReply);
      return;
    }
    if (!(name in storeCommands)) {
      this.count(name, 'refused');
      this.answer(cmd.id, name, false, undefined, `unknown command ${name} (known: ${Object.keys(storeCommands).join(', ')})`);
      return;
    }
    const command = name as StoreCommandName;
    const badArgs = firstError(storeCommands[command] as TSchema, cmd.args);
    if (badArgs) {
      this.count(command, 'refused');
      this.answer(cmd.id, command, false, undefined, `args${badArgs}`);
      return;
    }
    this.running.add(cmd.id);
    const by = `${STORE_SENDER_PREFIX}${cmd.by}`;
    try {
      await ctx.store.run('INSERT INTO uplink_commands (id, command, by, time) VALUES (?,?,?,?)', [cmd.id, command, by, new Date().toISOString()]);
      let result: unknown;
      let error: string | undefined;
      try {
        result = await this.apply(command, cmd.args, by, cmd.id);
      } catch (err) {
        error = (err as Error).message;
        if (!(err instanceof Refused)) ctx.log.error({ command, id: cmd.id, by, err: error }, `store command ${command} ${cmd.id} failed: ${error}`);
      }
      const reply = this.answer(cmd.id, command, error === undefined, result, error);
      await ctx.tx(async (tx) => {
        await tx.run('UPDATE uplink_commands SET reply = ? WHERE id = ?', [JSON.stringify(reply), cmd.id]);
        await ctx.emit(tx, 'StoreCommandApplied', {
          id: cmd.id,
          command,
          by,
          ok: error === undefined,
          ...(error ? { detail: error.slice(0, 500) } : {}),
          ...(command === 'Message' ? { text: (cmd.args as { text: string }).text } : {}),
        });
      });
      this.count(command, error === undefined ? 'applied' : 'refused');
      ctx.log.info({ command, id: cmd.id, by, ok: error === undefined, error }, `store command ${command} ${cmd.id} from ${by}: ${error ?? 'applied'}`);
    } finally {
      this.running.delete(cmd.id);
    }
  }

  private answer(id: string, command: string, ok: boolean, result: unknown, error: string | undefined): StoreReply {
    const reply: StoreReply = {
      id,
      command,
      ok,
      ...(result !== undefined ? { result } : {}),
      ...(error !== undefined ? { error } : {}),
      time: new Date().toISOString(),
    };
    this.o.reply(id, reply);
    return reply;
  }

  private async apply(command: StoreCommandName, args: unknown, by: string, id: string): Promise<unknown> {
    const { ctx } = this.o;
    switch (command) {
      case 'Catalog':
        return applyCatalog(ctx, this.o.config, args as { url: string; sha256: string; size: number; version: string }, by, id);
      case 'Offer': {
        if (!this.services.get('updater')) {
          throw new Refused('this lane runs no updater service, so it cannot take update offers; update it by hand or with a version that has the updater');
        }
        try {
          return await ctx.request('updater', 'Offer', args, 30_000);
        } catch (err) {
          throw new Refused(`the updater refused the offer: ${(err as Error).message}`);
        }
      }
      case 'Open':
      case 'Close':
      case 'Message': {
        if (!this.services.get('attendant')) throw new Refused('the attendant service is not running on this lane');
        const target = { Open: 'StoreOpen', Close: 'StoreClose', Message: 'StoreMessage' }[command];
        try {
          return await ctx.request('attendant', target, { ...(args as object), by }, 10_000);
        } catch (err) {
          throw new Refused(`the attendant refused ${command}: ${(err as Error).message}`);
        }
      }
    }
  }
}
