import { basename } from 'node:path';
import type { ServiceStatus } from '../runtime/runtime.js';
import type { UnsafeShutdowns } from './unsafe-shutdown.js';

export interface LaneSummary {
  phase: string;
  /** Problem key -> message, as the daemon keeps them (`store <file>`, `service <name>`, a part name). */
  problems: Map<string, string>;
  services: ServiceStatus[];
  unsafe?: UnsafeShutdowns;
}

/** `name:state` pairs as the devices host reports them in its status. */
export function deviceStates(services: ServiceStatus[]): Array<{ name: string; state: string }> {
  const list = services.find((s) => s.name === 'devices')?.devices;
  if (!Array.isArray(list)) return [];
  return list
    .filter((x): x is string => typeof x === 'string')
    .map((x) => {
      const i = x.lastIndexOf(':');
      return { name: x.slice(0, i), state: x.slice(i + 1) };
    });
}

function shortProblem(key: string, message: string): string {
  if (key.startsWith('store ')) return `database ${basename(key.slice(6))} corrupt, moved aside`;
  if (key.startsWith('service ')) return `${key} ${/^(disconnected|write-failing|stalled):/.exec(message)?.[1] ?? 'failed'}`;
  if (key.startsWith('state ')) return `${basename(key.slice(6))} ${message.includes(' was deleted ') ? 'deleted, written again' : 'damaged, replaced'}`;
  if (key.startsWith('disk ')) return `state disk ${message.split(':')[0]}`;
  if (key.startsWith('device ')) return `${key} ${message}`;
  const m = message.length > 60 ? `${message.slice(0, 57)}...` : message;
  return `${key}: ${m}`;
}

/**
 * The one line `systemctl status laned` shows (sd_notify(3) STATUS=): the lane's
 * state first, then what a technician checks: devices, the open transaction,
 * alarms, services, backlog, dead letters. Services report an open `txn`
 * (string) and `alarms` (number) through their status() when they have them.
 */
export function statusLine(s: LaneSummary): string {
  const running = s.services.filter((x) => x.state === 'running').length;
  const devices = deviceStates(s.services);
  const ok = devices.filter((d) => d.state === 'ok').length;
  const txn = s.services.map((x) => x.txn).find((t): t is string => typeof t === 'string' && t.length > 0);
  const alarms = s.services.reduce((a, x) => a + (typeof x.alarms === 'number' ? x.alarms : 0), 0);
  const backlog = s.services.reduce((a, x) => a + x.outboxBacklog, 0);
  const dead = s.services.reduce((a, x) => a + x.deadLetters, 0);
  const problems = [...s.problems].map(([k, v]) => shortProblem(k, v));
  const head = problems.length ? `${s.phase} (${problems[0]}${problems.length > 1 ? `, +${problems.length - 1} more` : ''})` : s.phase;
  const parts = [
    `${ok}/${devices.length} devices ok`,
    ...(txn ? [`txn ${txn} open`] : []),
    `${alarms} alarm${alarms === 1 ? '' : 's'}`,
    `${running}/${s.services.length} services running`,
    `backlog ${backlog}`,
    `${dead} dead letters`,
  ];
  // the uplink's events not yet at the store broker: shown while there are any
  const uplink = s.services.reduce((a, x) => a + (typeof x.uplinkBacklog === 'number' ? x.uplinkBacklog : 0), 0);
  if (uplink > 0) parts.push(`uplink backlog ${uplink}`);
  const update = s.services.map((x) => x.update).find((u): u is string => typeof u === 'string');
  // an update under way (not idle, not done) is what a technician looks at first after the lane state
  if (update && update !== 'idle' && update !== 'good') parts.push(`update ${update}`);
  if (s.unsafe?.thisStart) parts.push(`last stop unsafe (${s.unsafe.count} in all)`);
  return `${head}: ${parts.join(', ')}`;
}
