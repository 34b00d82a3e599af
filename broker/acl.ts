import type { Principal } from './principal.js';
import { ALL, ANY, cmd, doc, every, evt, replay, replayEnd, replyPrefix, svcHead, svcState } from './topics.js';

export { serviceName } from './principal.js';

/** The driver that hosts the lane's devices (daemon/services/devices/service.ts): it alone publishes as them. */
export const DEVICES_HOST = 'devices';

/** A replay request makes its source republish up to 5,000 events: only the lane's services ask. */
const REPLAY_COMMAND = cmd(ANY, 'Replay');

/** The broker's statistics topics [MQTT-4.7.2-1]: for technicians only. */
const SYS_TOPICS = `$SYS/${ALL}`;

export interface AclOptions {
  /** Device names: their events, heads and replays belong to the driver DEVICES_HOST. */
  devices: Iterable<string>;
  /** Per service, the commands the touch UI's screens send (each service declares its own). */
  uiCommands: Record<string, readonly string[]>;
  /** Per service, the commands the uplink sends it (store IT's commands handed on, the receipts it reads). */
  uplinkCommands?: Record<string, readonly string[]>;
}

/** MQTT topic filter match [MQTT-4.7.1-2], [MQTT-4.7.1-3]; filters here never start with $. */
export function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Is every topic matched by `filter` also matched by `allowed`? (subscribe ACL) */
export function covers(allowed: string, filter: string): boolean {
  const a = allowed.split('/');
  const f = filter.split('/');
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '#') return true;
    if (i >= f.length) return false;
    if (f[i] === '#') return false;
    if (a[i] === '+') continue;
    if (f[i] === '+' || f[i] !== a[i]) return false;
  }
  return a.length === f.length;
}

/** The event sources a principal publishes as: its own name, and the devices for their host. */
function ownSources(p: Principal, devices: ReadonlySet<string>): string[] {
  if ((p.role !== 'driver' && p.role !== 'service' && p.role !== 'uplink') || !p.name) return [];
  return p.role === 'driver' && p.name === DEVICES_HOST ? [p.name, ...devices] : [p.name];
}

/** Replies (`reply/…`) are not here: the broker lets only a command's target answer on its replyTo. */
function publishRules(p: Principal, o: { devices: ReadonlySet<string>; ui: string[]; uplink: string[] }): string[] {
  const sources = ownSources(p, o.devices).flatMap((s) => [evt(s, ANY), replay(s, ANY), replayEnd(s, ANY), svcHead(s)]);
  switch (p.role) {
    case 'driver':
      return p.name ? [...sources, svcState(p.name), ...(p.name === DEVICES_HOST ? [doc('devices')] : [])] : [];
    case 'service':
      return p.name ? [...sources, svcState(p.name), doc(ALL), every('cmd')] : [];
    case 'ui':
      return o.ui;
    case 'technician':
      return [every('cmd')];
    case 'uplink':
      // its own log and document, replays of the sources' logs, and the commands it hands on: no other document or command
      return [...sources, svcState('uplink'), ...(p.name ? [doc('uplink'), REPLAY_COMMAND] : []), ...o.uplink];
  }
}

function subscribeRules(p: Principal, devices: ReadonlySet<string>): string[] {
  const replies = `${replyPrefix(p.clientId)}${ALL}`;
  switch (p.role) {
    case 'driver':
      return p.name ? [cmd(p.name, ANY), ...ownSources(p, devices).map((s) => cmd(s, 'Replay')), replies] : [];
    case 'service':
      return p.name ? [every('evt'), cmd(p.name, ANY), replay(ANY, p.name), replayEnd(ANY, p.name), doc(ALL), every('svc'), replies] : [];
    case 'ui':
      return [doc(ALL), svcState(ANY), replies];
    case 'technician':
      return [ALL, SYS_TOPICS];
    case 'uplink':
      return [every('evt'), doc(ALL), every('svc'), replies, ...(p.name ? [cmd(p.name, ANY), replay(ANY, p.name), replayEnd(ANY, p.name)] : [])];
  }
}

/**
 * Topic ACL per principal (the design "Security"). Nobody publishes under `$` [MQTT-4.7.2-1].
 * Each driver and service publishes events, heads and replays only as its own sources, so
 * a topic `evt/<source>/…` proves who published it. The UI reads documents and sends
 * exactly the commands its screens send; replays are asked for by services only.
 */
export class Acl {
  private readonly devices: ReadonlySet<string>;
  private readonly ui: string[];
  private readonly uplink: string[];

  constructor(o: AclOptions) {
    this.devices = new Set(o.devices);
    const topics = (byService: Record<string, readonly string[]>): string[] =>
      Object.entries(byService).flatMap(([service, commands]) => commands.map((c) => cmd(service, c)));
    this.ui = topics(o.uiCommands);
    this.uplink = topics(o.uplinkCommands ?? {});
  }

  /** The topic filters `p` may publish to and subscribe to (the AsyncAPI document lists every topic they let through). */
  rules(p: Principal): { publish: string[]; subscribe: string[] } {
    return { publish: publishRules(p, { devices: this.devices, ui: this.ui, uplink: this.uplink }), subscribe: subscribeRules(p, this.devices) };
  }

  canPublish(p: Principal, topic: string): boolean {
    if (topic.startsWith('$')) return false;
    if (matches(REPLAY_COMMAND, topic) && p.role !== 'service' && !(p.role === 'uplink' && p.name)) return false;
    return publishRules(p, { devices: this.devices, ui: this.ui, uplink: this.uplink }).some((r) => matches(r, topic));
  }

  canSubscribe(p: Principal, filter: string): boolean {
    if (filter.startsWith('$') && p.role !== 'technician') return false;
    return subscribeRules(p, this.devices).some((r) => covers(r, filter));
  }
}
