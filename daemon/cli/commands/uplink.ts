import { CliError, EXIT, readRuntime, request } from '../client.js';
import { print, withTechnician, type CliCommand } from '../context.js';
import type { LinkStatus } from '../../services/uplink/link.js';
import type { SourceProgress } from '../../services/uplink/replicator.js';

interface UplinkView extends LinkStatus {
  prefix: string;
  backlog: number;
  eventsPerSecond: number;
  sources: SourceProgress[];
  commands: Record<string, number>;
}

/** `lanectl uplink status`: the store broker, why it is not connected, and each source's offset against its head. */
export const uplink: CliCommand = {
  usage: 'status',
  help: 'the store uplink: connection, last error, per-source offsets, backlog, rate',
  async run(ctx) {
    const [verb] = ctx.args;
    if (verb !== 'status' && verb !== undefined) throw new CliError(`uplink ${verb}: use uplink status`, EXIT.usage);
    const rt = readRuntime(ctx.stateDir);
    let running: boolean;
    try {
      const health = (await (await fetch(`${rt.http}/healthz`)).json()) as { services?: Array<{ name: string }> };
      running = (health.services ?? []).some((s) => s.name === 'uplink');
    } catch (err) {
      throw new CliError(`laned (pid ${rt.pid}) does not answer on ${rt.http}: ${(err as Error).message}`, EXIT.unavailable);
    }
    if (!running)
      throw new CliError('no uplink on this lane: set uplink.url (and its credentials) in the config to send events to the store broker', EXIT.failed);
    const s = (await withTechnician(ctx, (c) => request(c, 'uplink', 'Status'))) as { state: string; detail?: string; uplink: UplinkView };
    const u = s.uplink;
    print(ctx, u, () => {
      const lines = [
        `uplink: ${u.connected ? `connected to ${u.url} since ${u.connectedSince}` : `NOT CONNECTED to ${u.url}`} as ${u.clientId} (${u.prefix})`,
        ...(u.lastError ? [`  last error: ${u.lastError} (${u.lastErrorAt}); ${u.attempts} attempts, next in ${u.nextRetryMs ?? 0} ms`] : []),
        `backlog ${u.backlog} events, ${u.eventsPerSecond} events/s over the last 10 s; commands ${JSON.stringify(u.commands)}`,
        ...u.sources.map(
          (p) =>
            `  ${p.source.padEnd(14)} offset ${String(p.offset).padStart(7)} / head ${String(p.head).padStart(7)}  unsent ${p.unsent}${p.lost ? `  LOST ${p.lost}` : ''}${p.alarmed ? '  ALARM' : ''}`,
        ),
      ];
      return lines.join('\n');
    });
    return u.connected ? EXIT.ok : EXIT.failed;
  },
};
