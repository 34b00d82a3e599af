import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Roles, type Role } from '../config.js';
import { Credentials, hashPassword } from '../../broker/credentials.js';
import { CliError, EXIT, connectTechnician, readRuntime, request } from './client.js';
import type { DeadLetter } from '../events/deadletter.js';
import type { Envelope } from '../events/envelope.js';

export interface CliContext {
  stateDir: string;
  json: boolean;
  args: string[];
  flags: Record<string, string | boolean | undefined>;
  out(s: string): void;
}

export interface CliCommand {
  usage: string;
  help: string;
  run(ctx: CliContext): Promise<number | void>;
}

function print(ctx: CliContext, value: unknown, human: () => string): void {
  ctx.out(ctx.json ? JSON.stringify(value, null, 2) : human());
}

async function withTechnician<T>(ctx: CliContext, fn: (c: Awaited<ReturnType<typeof connectTechnician>>) => Promise<T>): Promise<T> {
  const client = await connectTechnician(ctx.stateDir);
  try {
    return await fn(client);
  } finally {
    client.end(true);
  }
}

const servicesWithDb = (stateDir: string): string[] =>
  readdirSync(stateDir)
    .filter((f) => f.endsWith('.db') && f !== 'broker.db')
    .map((f) => f.slice(0, -3));

export const commands: Record<string, CliCommand> = {
  status: {
    usage: '',
    help: 'lane, services, broker clients, outbox backlog, dead letters',
    async run(ctx) {
      const rt = readRuntime(ctx.stateDir);
      let health: { status: string; reasons: string[]; services: Array<Record<string, unknown>>; broker?: { clients: number; queued: number; dropped: number } };
      try {
        const res = await fetch(`${rt.http}/healthz`);
        health = (await res.json()) as typeof health;
      } catch (err) {
        throw new CliError(`laned (pid ${rt.pid}) does not answer on ${rt.http}: ${(err as Error).message}`, EXIT.unavailable);
      }
      print(ctx, health, () => {
        const lines = [`lane: ${health.status}${health.reasons.length ? ` (${health.reasons.join('; ')})` : ''}`, `broker: ${health.broker?.clients ?? 0} clients, ${health.broker?.queued ?? 0} queued, ${health.broker?.dropped ?? 0} dropped`];
        for (const s of health.services) {
          lines.push(`service ${String(s.name).padEnd(12)} ${String(s.state).padEnd(8)} ${s.connected ? 'connected' : 'DISCONNECTED'}  backlog ${s.outboxBacklog}  dead letters ${s.deadLetters}  applied ${s.applied}`);
        }
        return lines.join('\n');
      });
      return health.status === 'ready' ? EXIT.ok : EXIT.failed;
    },
  },
  creds: {
    usage: '<role>',
    help: `print the generated broker password of a role (${Roles.join(', ')})`,
    async run(ctx) {
      const role = ctx.args[0] as Role | undefined;
      if (!role || !(Roles as readonly string[]).includes(role)) throw new CliError(`name a role: ${Roles.join(', ')}`, EXIT.usage);
      let creds;
      try {
        creds = Credentials.readGenerated(ctx.stateDir);
      } catch (err) {
        throw new CliError(`cannot read ${join(ctx.stateDir, 'credentials.json')}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (run as the laned user or root; start laned once to create it)`, EXIT.noPerm);
      }
      const pw = creds[role];
      if (!pw) throw new CliError(`role ${role} has a configured scrypt hash (broker.credentials.${role}); its password is not stored on the board`, EXIT.failed);
      print(ctx, { role, password: pw }, () => pw);
    },
  },
  'hash-password': {
    usage: '<password>',
    help: 'make a scrypt hash for broker.credentials in the config',
    async run(ctx) {
      const pw = ctx.args[0];
      if (!pw || pw.length < 8) throw new CliError('give a password of at least 8 characters', EXIT.usage);
      const hash = await hashPassword(pw);
      print(ctx, { hash }, () => hash);
    },
  },
  dlq: {
    usage: 'list | retry <service> <n> | drop <service> <n>',
    help: 'dead-lettered events: list, retry or drop them',
    async run(ctx) {
      const [verb, service, nText] = ctx.args;
      if (verb === 'list' || verb === undefined) {
        const all = await withTechnician(ctx, async (c) => {
          const out: Array<DeadLetter & { service: string }> = [];
          for (const svc of servicesWithDb(ctx.stateDir)) {
            try {
              const rows = (await request(c, svc, 'DlqList', undefined, 3000)) as DeadLetter[];
              out.push(...rows.map((r) => ({ ...r, service: svc })));
            } catch (err) {
              if (!(err instanceof CliError) || err.code !== EXIT.unavailable) throw err;
            }
          }
          return out;
        });
        print(ctx, all, () =>
          all.length === 0 ? 'no dead letters' : all.map((d) => `${d.service} #${d.n}  ${d.time}  ${d.topic}  ${d.event_id ?? '-'}\n    ${d.reason}`).join('\n'),
        );
        return;
      }
      if (verb !== 'retry' && verb !== 'drop') throw new CliError('dlq list | retry <service> <n> | drop <service> <n>', EXIT.usage);
      const n = Number(nText);
      if (!service || !Number.isInteger(n) || n < 1) throw new CliError(`dlq ${verb} <service> <n>: n is the number from dlq list`, EXIT.usage);
      const result = await withTechnician(ctx, (c) => request(c, service, verb === 'retry' ? 'DlqRetry' : 'DlqDrop', { n }));
      print(ctx, result, () => `${verb === 'retry' ? 'retried' : 'dropped'} ${service} #${n}`);
    },
  },
  events: {
    usage: 'tail [--type T] [--source S] [--txn X] [--count N]',
    help: 'follow events on the lane, filtered',
    async run(ctx) {
      if (ctx.args[0] !== 'tail') throw new CliError('events tail [--type T] [--source S] [--txn X] [--count N]', EXIT.usage);
      const max = ctx.flags.count ? Number(ctx.flags.count) : Infinity;
      const client = await connectTechnician(ctx.stateDir);
      const topic = `evt/${(ctx.flags.source as string) ?? '+'}/${(ctx.flags.type as string) ?? '+'}`;
      let seen = 0;
      await new Promise<void>((resolve) => {
        client.on('message', (_t, payload) => {
          let ev: Envelope;
          try {
            ev = JSON.parse(payload.toString('utf8')) as Envelope;
          } catch {
            return;
          }
          if (ctx.flags.txn && ev.txn !== ctx.flags.txn) return;
          ctx.out(ctx.json ? JSON.stringify(ev) : `${ev.time}  ${ev.source}#${ev.seq}  ${ev.type}${ev.txn ? `  txn ${ev.txn}` : ''}  ${JSON.stringify(ev.data)}`);
          seen += 1;
          if (seen >= max) resolve();
        });
        client.subscribe(topic, { qos: 1 });
        process.once('SIGINT', () => resolve());
      });
      client.end(true);
    },
  },
};
