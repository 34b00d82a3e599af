import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { createReadStream } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import serveStatic from 'serve-static';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';

export interface Health {
  status: 'ready' | 'degraded' | 'failed' | 'starting' | 'stopping';
  reasons: string[];
  [k: string]: unknown;
}

export interface HttpOptions {
  host: string;
  port: number;
  /** Host header names /healthz and /metrics answer to, beside the loopback names and `host`. */
  hostNames?: string[];
  log: Logger;
  metrics: Metrics;
  uiRoot: string;
  health(): Health;
  /** Extra JSON routes (GET), e.g. the UI bootstrap; throw an HttpError to answer 4xx. */
  routes?: Record<string, (req: IncomingMessage) => unknown>;
  /** Single files outside uiRoot by URL path, e.g. the mqtt.js browser bundle: path -> { file, type }. */
  files?: Record<string, { file: string; type: string }>;
}

/** A route's refusal with its HTTP status (403, 404...); the message goes to the client. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const isWildcard = (host: string): boolean => host === '0.0.0.0' || host === '::' || host === '[::]';

/** The Host header's name without its port: `127.0.0.1:8080` -> `127.0.0.1`, `[::1]:80` -> `[::1]`. */
function hostName(header: string | undefined): string {
  const h = (header ?? '').trim().toLowerCase();
  return h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d*$/, '');
}

/**
 * What /healthz shows: what a technician needs and no more. Files by their name in
 * the state directory (not their path), an open transaction without its id.
 */
export function redactHealth(value: unknown): unknown {
  if (typeof value === 'string')
    return value.replace(/(?<![\w.:/])\/(?!dev\/)(?:[^\s/()"',;]+\/)+([^\s/()"',;]+)/g, '$1').replace(/\btxn [A-Za-z0-9_-]+ open\b/g, 'txn open');
  if (Array.isArray(value)) return value.map(redactHealth);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== 'txn')
        .map(([k, v]) => [k, redactHealth(v)]),
    );
  return value;
}

/** The daemon's HTTP server: ui-static/, /healthz, /metrics, and the broker's /mqtt upgrade. */
export class HttpServer {
  readonly server: Server;
  private readonly log: Logger;
  private readonly names: Set<string>;
  /** Every connection, upgraded ones too (closeAllConnections() leaves those alone). */
  private readonly sockets = new Set<Socket>();

  constructor(private readonly opts: HttpOptions) {
    this.log = opts.log.child({ component: 'http' });
    // the configured address too, 0.0.0.0 included: lanectl reaches the daemon under it (runtime.json)
    const own = [opts.host.includes(':') && !opts.host.startsWith('[') ? `[${opts.host}]` : opts.host];
    this.names = new Set(['127.0.0.1', 'localhost', '[::1]', ...own, ...(opts.hostNames ?? [])].map((n) => n.toLowerCase()));
    const files = serveStatic(opts.uiRoot, { index: ['index.html'], fallthrough: true });
    this.server = createServer((req, res) => {
      void this.route(req, res, () => {
        files(req, res, () => this.send(res, 404, { error: `no such path ${req.url}` }));
      });
    });
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  private send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(text);
  }

  private sendFile(res: ServerResponse, f: { file: string; type: string }, headOnly: boolean): void {
    const stream = createReadStream(f.file);
    stream.once('error', (err) => {
      this.log.error({ file: f.file, err: err.message }, `cannot read ${f.file}: ${err.message}; reinstall the package`);
      if (!res.headersSent) this.send(res, 500, { error: `cannot read ${f.file}` });
      else res.destroy();
    });
    stream.once('open', () => {
      res.writeHead(200, { 'content-type': f.type, 'cache-control': 'no-cache' });
      if (headOnly) {
        stream.destroy();
        res.end();
      } else stream.pipe(res);
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse, next: () => void): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    // RFC 9110 §15.5.6: every resource here is read-only
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return this.send(res, 405, { error: `${req.method} not allowed on ${path}: only GET and HEAD` });
    }
    try {
      if ((path === '/healthz' || path === '/metrics') && !this.names.has(hostName(req.headers.host))) {
        // a page on another name that resolves here (DNS rebinding) reads nothing
        return this.send(res, 403, { error: `Host ${JSON.stringify(req.headers.host ?? '')} is not a name of this lane (http.hostNames)` });
      }
      if (path === '/healthz') {
        const h = this.opts.health();
        return this.send(res, h.status === 'ready' ? 200 : h.status === 'degraded' ? 200 : 503, redactHealth(h));
      }
      if (path === '/metrics') {
        return this.send(res, 200, await this.opts.metrics.text(), this.opts.metrics.registry.contentType);
      }
      const extra = this.opts.routes?.[path];
      if (extra && req.method === 'GET') return this.send(res, 200, await extra(req));
      const file = this.opts.files?.[path];
      if (file) return this.sendFile(res, file, req.method === 'HEAD');
    } catch (err) {
      if (err instanceof HttpError) return this.send(res, err.status, { error: err.message });
      this.log.error({ path, err: (err as Error).message }, `request ${path} failed`);
      return this.send(res, 500, { error: (err as Error).message });
    }
    next();
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(`HTTP server cannot listen on ${this.opts.host}:${this.opts.port} (${err.code}); set http.port`)),
      );
      this.server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    if (isWildcard(this.opts.host))
      this.log.warn(
        { host: this.opts.host, port: this.port },
        `http.host ${this.opts.host}: the touch UI, /healthz, /metrics and MQTT over WebSocket (/mqtt) on port ${this.port} are reachable from every network the board is on, not only from the kiosk (set http.host: 127.0.0.1 unless a panel elsewhere needs it)`,
      );
  }

  /**
   * Stop listening and close every connection. The broker closes its WebSocket
   * clients before (properly, see Broker.closeWebSockets); a connection still open
   * after `graceMs` is cut off, so that a stop always ends.
   */
  async stop(graceMs = 1000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
    if ((await Promise.race([closed, late])) === 'late') {
      this.log.warn({ connections: this.sockets.size }, `${this.sockets.size} HTTP connections still open ${graceMs} ms into the stop; closed`);
      for (const socket of this.sockets) socket.destroy();
      await closed;
    }
    clearTimeout(timer);
  }
}
