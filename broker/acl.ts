import type { Role } from '../daemon/config.js';

export interface Identity {
  role: Role;
  clientId: string;
}

/** `laned-<name>` -> `<name>`: services publish only as themselves. */
export function serviceName(clientId: string): string | undefined {
  const m = /^laned-([a-z][a-z0-9-]{0,31})$/.exec(clientId);
  return m?.[1];
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

function publishRules(id: Identity, devices: ReadonlySet<string>): string[] {
  const me = serviceName(id.clientId);
  switch (id.role) {
    case 'driver':
      return [...[...devices].flatMap((d) => [`evt/${d}/+`, `replay/${d}/+`, `replay/${d}/+/end`]), 'doc/devices', 'svc/+/state', 'svc/+/head', 'reply/#'];
    case 'service':
      return me ? [`evt/${me}/+`, `replay/${me}/+`, `replay/${me}/+/end`, 'doc/#', `svc/${me}/state`, `svc/${me}/head`, 'cmd/#', 'reply/#'] : [];
    case 'ui':
      // and the touch UI's produce picker and receipt (read-only or resolved like a scan)
      return ['cmd/basket/+', 'cmd/attendant/+', 'cmd/payment/+', 'cmd/weightcheck/+', 'cmd/catalog/Produce', 'cmd/catalog/Pick', 'cmd/journal/Show'];
    case 'technician':
      return ['cmd/#'];
    case 'uplink':
      return ['cmd/#', 'svc/uplink/state'];
  }
}

function subscribeRules(id: Identity): string[] {
  const me = serviceName(id.clientId);
  const replies = `reply/${id.clientId}/#`;
  switch (id.role) {
    case 'driver':
      return ['cmd/#', replies];
    case 'service':
      return me ? ['evt/#', 'cmd/#', `replay/+/${me}`, `replay/+/${me}/end`, 'doc/#', 'svc/#', replies] : [];
    case 'ui':
      return ['doc/#', 'svc/+/state', replies];
    case 'technician':
      return ['#', '$SYS/#'];
    case 'uplink':
      return ['evt/#', 'doc/#', 'svc/#', replies];
  }
}

/**
 * Topic ACL per role (DESIGN.md "Security"). Nobody publishes under `$` [MQTT-4.7.2-1];
 * the UI reads documents and sends commands but never publishes events.
 */
export class Acl {
  constructor(private readonly devices: ReadonlySet<string>) {}

  canPublish(id: Identity, topic: string): boolean {
    if (topic.startsWith('$')) return false;
    return publishRules(id, this.devices).some((r) => matches(r, topic));
  }

  canSubscribe(id: Identity, filter: string): boolean {
    if (filter.startsWith('$') && id.role !== 'technician') return false;
    return subscribeRules(id).some((r) => covers(r, filter));
  }
}
