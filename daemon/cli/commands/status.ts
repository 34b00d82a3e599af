import { CliError, EXIT, readRuntime } from '../client.js';
import { print, withTechnician, type CliCommand } from '../context.js';
import { laneDoc, type LaneDoc } from '../lane-doc.js';

export const status: CliCommand = {
  usage: '',
  help: 'lane, services, broker clients, outbox backlog, dead letters',
  async run(ctx) {
    const rt = readRuntime(ctx.stateDir);
    let health: {
      status: string;
      reasons: string[];
      services: Array<Record<string, unknown>>;
      devices?: Array<{ name: string; state: string }>;
      broker?: { clients: number; queued: number; dropped: number };
      unsafeShutdowns?: { count: number; thisStart: boolean; lastStartedAt?: string };
      watchdog?: { enabled: boolean; everyMs?: number; pings: number; withheld: number; withholding?: string };
    };
    try {
      const res = await fetch(`${rt.http}/healthz`);
      health = (await res.json()) as typeof health;
    } catch (err) {
      throw new CliError(`laned (pid ${rt.pid}) does not answer on ${rt.http}: ${(err as Error).message}`, EXIT.unavailable);
    }
    // Open blocking alarms (unexpected item, age check…) stop the shopper: the lane needs attention, whatever its parts say.
    const attendantUp = health.services.some((s) => s.name === 'attendant' && s.state === 'running');
    let lane: LaneDoc | undefined;
    try {
      lane = attendantUp ? await withTechnician(ctx, (c) => laneDoc(c, 3000)) : undefined;
    } catch (err) {
      health.reasons.push(`alarms unknown: ${(err as Error).message}`);
    }
    const alarms = lane?.interventions.filter((i) => i.blocking) ?? [];
    const shown = {
      ...health,
      status: alarms.length && health.status === 'ready' ? 'attention' : health.status,
      alarms,
      ...(lane ? { laneState: lane.state } : {}),
    };
    print(ctx, shown, () => {
      const lines = [
        `lane: ${shown.status}${health.reasons.length ? ` (${health.reasons.join('; ')})` : ''}`,
        ...alarms.map((a) => `  alarm ${a.id} ${a.kind}: ${a.reason}${a.txn ? ` (txn ${a.txn})` : ''} since ${a.raised}`),
        `broker: ${health.broker?.clients ?? 0} clients, ${health.broker?.queued ?? 0} queued, ${health.broker?.dropped ?? 0} dropped`,
      ];
      if (health.devices) lines.push(`devices: ${health.devices.map((d) => `${d.name} ${d.state}`).join(', ') || 'none'}`);
      const u = health.unsafeShutdowns;
      if (u) lines.push(`unsafe shutdowns: ${u.count}${u.thisStart ? ` (this start followed one; that run began ${u.lastStartedAt ?? '?'})` : ''}`);
      const w = health.watchdog;
      if (w)
        lines.push(
          w.enabled
            ? `watchdog: every ${w.everyMs} ms, ${w.pings} pings, ${w.withheld} withheld${w.withholding ? ` (now: ${w.withholding})` : ''}`
            : 'watchdog: off (not under systemd with WatchdogSec)',
        );
      for (const s of health.services) {
        lines.push(
          `service ${String(s.name).padEnd(12)} ${String(s.state).padEnd(8)} ${s.connected ? 'connected' : 'DISCONNECTED'}  backlog ${String(s.outboxBacklog)}  dead letters ${String(s.deadLetters)}  applied ${String(s.applied)}`,
        );
      }
      return lines.join('\n');
    });
    return shown.status === 'ready' ? EXIT.ok : EXIT.failed;
  },
};
