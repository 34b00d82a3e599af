import { CliError, EXIT, readRuntime, request } from '../client.js';
import { print, withTechnician, type CliCommand } from '../context.js';
import type { DeadLetter } from '../../events/deadletter.js';

/** The services the running daemon hosts, from its /healthz. */
async function runningServices(stateDir: string): Promise<string[]> {
  const rt = readRuntime(stateDir);
  try {
    const health = (await (await fetch(`${rt.http}/healthz`)).json()) as { services?: Array<{ name: string; state: string }> };
    return (health.services ?? []).filter((s) => s.state === 'running').map((s) => s.name);
  } catch (err) {
    throw new CliError(`laned (pid ${rt.pid}) does not answer on ${rt.http}: ${(err as Error).message}`, EXIT.unavailable);
  }
}

export const dlq: CliCommand = {
  usage: 'list | retry <service> <n> | drop <service> <n>',
  help: 'dead-lettered events: list, retry or drop them',
  async run(ctx) {
    const [verb, service, nText] = ctx.args;
    if (verb === 'list' || verb === undefined) {
      const all = await withTechnician(ctx, async (c) => {
        const out: Array<DeadLetter & { service: string }> = [];
        for (const svc of await runningServices(ctx.stateDir)) {
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
};
