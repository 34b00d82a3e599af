import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { createReadStream } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import serveStatic from 'serve-static';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

export interface Health {
  status: 'ready' | 'degraded' | 'failed' | 'starting' | 'stopping';
  reasons: string[];
  [k: string]: unknown;
}

export interface HttpOptions {
  host: string;
  port: number;
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

/** The daemon's HTTP server: ui-static/, /healthz, /metrics, and the broker's /mqtt upgrade. */
export class HttpServer {
  readonly server: Server;
  private readonly log: Logger;
  /** Every connection, upgraded ones too (closeAllConnections() leaves those alone). */
  private readonly sockets = new Set<Socket>();

  constructor(private readonly opts: HttpOptions) {
    this.log = opts.log.child({ component: 'http' });
    const files = serveStatic(opts.uiRoot, { index: ['index.html'], fallthrough: true });
    this.server = createServer((req, res) => {
      void this.route(req, res, () => files(req, res, () => this.send(res, 404, { error: `no such path ${req.url}` })));
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
    try {
      if (path === '/healthz') {
        const h = this.opts.health();
        return this.send(res, h.status === 'ready' ? 200 : h.status === 'degraded' ? 200 : 503, h);
      }
      if (path === '/metrics') {
        return this.send(res, 200, await this.opts.metrics.text(), this.opts.metrics.registry.contentType);
      }
      const extra = this.opts.routes?.[path];
      if (extra && req.method === 'GET') return this.send(res, 200, await extra(req));
      const file = this.opts.files?.[path];
      if (file && (req.method === 'GET' || req.method === 'HEAD')) return this.sendFile(res, file, req.method === 'HEAD');
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
