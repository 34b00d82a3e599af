import type { Role } from './roles.js';
import type { Verified } from './credentials.js';

/** Who a connection is: its role, and for the lane's own clients and UI sessions which one. */
export interface Principal {
  role: Role;
  /** driver/service: `<name>` of clientId `laned-<name>`; ui with a session token: the session's clientId. */
  name?: string;
  clientId: string;
}

/** The store's uplink keeps one durable session under this clientId. */
export const UPLINK_CLIENT_ID = 'store-uplink';

/** The lane's own uplink service (`laned-uplink`): a service, held to the uplink role's ACL. */
export const UPLINK_SERVICE = 'uplink';

/** `laned-<name>` -> `<name>`: the lane's own services and drivers. */
export function serviceName(clientId: string): string | undefined {
  const m = /^laned-([a-z][a-z0-9-]{0,31})$/.exec(clientId);
  return m?.[1];
}

/** The clientIds the daemon hands out with UI session tokens (daemon/http/ui-session.ts), and the page's `-cmd` twin. */
const UI_SESSION_ID = /^ui-[0-9a-f]{12}(-cmd)?$/;

/**
 * The one name of a principal: the owner of its sessions and the `by` of its commands
 * (`service:basket`, `driver:devices`, `ui:ui-0a1b2c3d4e5f`, `technician`, `uplink`, `ui`).
 */
export function principalId(p: Principal): string {
  // the uplink service stays the service it is (its sessions, its `by`); the role only narrows its ACL
  if (p.role === 'uplink' && p.name) return `service:${p.name}`;
  return p.name ? `${p.role}:${p.name}` : p.role;
}

/**
 * Bind a clientId to the credentials that opened it [MQTT-3.1.3-5 leaves the choice of
 * allowed clientIds to the server]: `laned-<name>` only for the driver or service whose
 * per-client password it is, `store-uplink` only for the uplink, a UI session's clientId only
 * with its token. Returns the principal, or why the clientId is refused.
 */
export function admit(v: Verified, clientId: string): Principal | string {
  const own = serviceName(clientId);
  if (v.role === 'driver' || v.role === 'service') {
    // the password was derived for exactly this clientId (broker/credentials.ts)
    if (!own) return `role ${v.role} connects only as laned-<name>, not as ${clientId}`;
    // the uplink service takes commands from outside the lane: the uplink role's narrower ACL (broker/acl.ts)
    return { role: v.role === 'service' && own === UPLINK_SERVICE ? 'uplink' : v.role, name: own, clientId };
  }
  if (own) return `clientId ${clientId} belongs to the lane's own ${own}; role ${v.role} may not use it`;
  if ((clientId === UPLINK_CLIENT_ID || clientId.startsWith(`${UPLINK_CLIENT_ID}-`)) && v.role !== 'uplink')
    return `clientId ${clientId} belongs to the uplink; role ${v.role} may not use it`;
  if (v.tokenClientId !== undefined) {
    if (clientId !== v.tokenClientId && clientId !== `${v.tokenClientId}-cmd`)
      return `this UI session token was issued for clientId ${v.tokenClientId}, not ${clientId}`;
    return { role: v.role, name: v.tokenClientId, clientId };
  }
  if (UI_SESSION_ID.test(clientId)) return `clientId ${clientId} is a UI session's; it opens only with that session's token`;
  return { role: v.role, clientId };
}
