import { randomBytes, createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { HttpError, type HttpOptions } from './http.js';
import type { Credentials } from '../../broker/credentials.js';
import { UiHeartbeat } from './ui-heartbeat.js';
import { fileURLToPath } from 'node:url';
import { topicsModuleUrl } from '../../broker/topics.js';

/** How long a token may open MQTT connections; the page fetches a new one for every connect. */
export const UI_TOKEN_TTL_MS = 120_000;
const MAX_TOKENS = 64;

export interface UiSession {
  /** WebSocket path of the broker on this HTTP server. */
  path: string;
  username: 'ui';
  /** A short-lived token, accepted by the broker as the `ui` role's password. */
  password: string;
  clientId: string;
  expiresInMs: number;
}

const LOOPBACK_ADDRESS = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;
const LOOPBACK_HOST = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d{1,5})?$/i;

const digest = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * The kiosk's credentials: `GET /ui/session` hands a loopback client a
 * random token that the broker takes as the `ui` role's password for a short
 * while. Nothing reachable from outside the board reveals it: other addresses get
 * 403, and so does a loopback request whose Host header is not a loopback name
 * (a web page using DNS rebinding) or that a browser marks cross-site
 * (Fetch Metadata, `Sec-Fetch-Site`). Tokens live in memory with a monotonic
 * expiry (no RTC on the board: wall time jumps at the first NTP sync).
 */
export class UiSessions {
  /** sha256(token) -> monotonic expiry in ms and the clientId the token was issued for. */
  private readonly tokens = new Map<string, { until: number; clientId: string }>();

  constructor(
    private readonly ttlMs = UI_TOKEN_TTL_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  issue(): UiSession {
    this.prune();
    while (this.tokens.size >= MAX_TOKENS) this.tokens.delete(this.tokens.keys().next().value as string);
    const password = randomBytes(24).toString('base64url');
    // The broker chooses the clientId and binds it to the token: a token opens only its own session.
    const clientId = `ui-${randomBytes(6).toString('hex')}`;
    this.tokens.set(digest(password), { until: this.now() + this.ttlMs, clientId });
    return { path: '/mqtt', username: 'ui', password, clientId, expiresInMs: this.ttlMs };
  }

  /** The clientId a valid token was issued for; undefined for an unknown or expired token. */
  check(token: string): string | undefined {
    const t = this.tokens.get(digest(token));
    return t !== undefined && t.until > this.now() ? t.clientId : undefined;
  }

  private prune(): void {
    const now = this.now();
    for (const [k, t] of this.tokens) if (t.until <= now) this.tokens.delete(k);
  }

  /** The `/ui/session` route. */
  handle(req: Pick<IncomingMessage, 'headers' | 'socket'>): UiSession {
    boardOnly(req, 'UI sessions');
    return this.issue();
  }
}

/** Refuses (403) a request that is not the board's own kiosk: see UiSessions. */
export function boardOnly(req: Pick<IncomingMessage, 'headers' | 'socket'>, what: string): void {
  const from = req.socket.remoteAddress ?? '';
  if (!LOOPBACK_ADDRESS.test(from))
    throw new HttpError(403, `${what} are only handed to the board's own kiosk (loopback), not to ${from || 'an unknown address'}`);
  const host = req.headers.host ?? '';
  if (!LOOPBACK_HOST.test(host)) throw new HttpError(403, `${what} need a loopback Host header (127.0.0.1 or localhost), got ${JSON.stringify(host)}`);
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new HttpError(403, `${what} are not handed to ${String(site)} requests`);
}

/** Where the installed `mqtt` package keeps its browser ES module bundle. */
export function mqttBrowserBundle(): string {
  const pkg = createRequire(import.meta.url).resolve('mqtt/package.json');
  return join(dirname(pkg), 'dist', 'mqtt.esm.js');
}

/**
 * What the daemon's HTTP server needs for the touch UI: the session route, the page's
 * heartbeat (`/ui/beat`, read by the kiosk's watchdog at `/ui/heartbeat`) and the
 * mqtt.js bundle at /vendor/mqtt.js, the topics module at /js/topics.js; the broker learns to take the tokens.
 */
export function uiHttp(credentials: Credentials, sessions = new UiSessions(), heartbeat = new UiHeartbeat()): Pick<HttpOptions, 'routes' | 'files'> {
  credentials.acceptTokens('ui', (token) => sessions.check(token));
  return {
    routes: {
      '/ui/session': (req) => sessions.handle(req),
      '/ui/beat': (req) => (boardOnly(req, 'UI heartbeats'), heartbeat.beat()),
      '/ui/heartbeat': (req) => (boardOnly(req, 'UI heartbeats'), heartbeat.status()),
    },
    files: {
      '/vendor/mqtt.js': { file: mqttBrowserBundle(), type: 'text/javascript; charset=utf-8' },
      // the topics module as the daemon runs it (compiled), not a copy: the UI and the lane cannot drift
      '/js/topics.js': { file: fileURLToPath(topicsModuleUrl), type: 'text/javascript; charset=utf-8' },
    },
  };
}
