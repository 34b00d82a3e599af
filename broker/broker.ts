import { createServer, type Server as NetServer, type AddressInfo } from 'node:net';
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { Aedes, type Client, type AuthenticateError } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Config, Role } from '../daemon/config.js';
import type { Logger } from '../daemon/log.js';
import type { Metrics } from '../daemon/metrics.js';
import { Acl, type Identity } from './acl.js';
import type { Credentials } from './credentials.js';
import { SqlitePersistence } from './persistence.js';
import { deliverOutOfOrder } from './dedupe.js';
import { duplexPair } from './in-process.js';

export interface BrokerOptions {
  config: Config;
  stateDir: string;
  log: Logger;
  metrics: Metrics;
  credentials: Credentials;
  /** Device names: the driver role publishes only as these sources. */
  devices: Iterable<string>;
}

/**
 * Where a refused PUBLISH goes, emptied: no role may publish there, wildcard filters never
 * match a topic that starts with `$` [MQTT-4.7.2-1], and subscribing to it is refused.
 */
export const DISCARDED_TOPIC = '$laned/discarded';

function authError(message: string, returnCode: 2 | 4 | 5): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/**
 * The embedded broker (DESIGN.md "broker/"): Aedes on TCP (loopback by default)
 * and on WebSocket at /mqtt of the daemon's HTTP server, every client
 * authenticated, topic ACL per role, durable sessions on SQLite.
 */
export class Broker {
  private aedes: Aedes | undefined;
  private tcp: NetServer | undefined;
  private wss: WebSocketServer | undefined;
  private persistence: SqlitePersistence | undefined;
  private readonly acl: Acl;
  private readonly identities = new WeakMap<Client, Identity>();
  private readonly anonymousPersistent = new WeakSet<Client>();
  private readonly log: Logger;
  private sweep: NodeJS.Timeout | undefined;
  private stopping = false;
  /** WebSocket upgrades are taken (from attachWebSocket until closeWebSockets). */
  private screensOpen = false;

  constructor(private readonly opts: BrokerOptions) {
    this.acl = new Acl(new Set(opts.devices));
    this.log = opts.log.child({ component: 'broker' });
  }

  get port(): number {
    return (this.tcp?.address() as AddressInfo | null)?.port ?? 0;
  }

  get url(): string {
    const host = this.opts.config.broker.host;
    return `mqtt://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
  }

  get clients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  stats(): { clients: number; queued: number; dropped: number } {
    const s = this.persistence?.stats();
    return { clients: this.clients, queued: s?.queued ?? 0, dropped: s?.dropped ?? 0 };
  }

  private refuse(reason: string, detail: Record<string, unknown>, message: string): void {
    this.opts.metrics.brokerRefused.inc({ reason });
    this.log.warn(detail, message);
  }

  async start(): Promise<void> {
    const { config, metrics } = this.opts;
    const file = join(this.opts.stateDir, 'broker.db');
    this.persistence = new SqlitePersistence({
      file,
      maxOfflineQueue: config.broker.maxOfflineQueue,
      log: this.log,
      // aedes sends a QoS 1 PUBACK before it stores the message (lib/handlers/publish.js), so
      // FULL here would not make delivery power-safe, nor would waiting for the commit before
      // delivering: every event is in its source's outbox log (FULL) and comes back by replay
      // (the source announces its head at every start). NORMAL in WAL survives a process crash.
      synchronous: 'NORMAL',
      deliveryWritesBehind: true,
    });
    const maxPayload = config.events.maxPayloadBytes;
    this.aedes = await Aedes.createBroker({
      persistence: this.persistence,
      preConnect: (client, packet, done) => {
        // aedes closes without a CONNACK when preConnect refuses; remember and refuse in authenticate
        if (!packet.clientId && packet.clean === false) this.anonymousPersistent.add(client);
        done(null, true);
      },
      authenticate: (client, username, password, done) => {
        if (this.anonymousPersistent.has(client)) {
          // [MQTT-3.1.3-7] a persistent session needs a ClientId; [MQTT-3.1.3-8] CONNACK 0x02, then close
          this.refuse('client-id', { username }, 'refused connection: zero-length clientId with clean=false');
          return done(authError('identifier rejected: a persistent session needs a clientId', 2), false);
        }
        const role = username ?? '';
        this.opts.credentials.verify(role, password?.toString('utf8') ?? '').then(
          (ok) => {
            if (!ok) {
              this.refuse(
                'auth',
                { clientId: client.id, username: role },
                `refused connection of ${client.id}: bad user name or password for ${JSON.stringify(role)}`,
              );
              return done(authError('bad user name or password', 4), false);
            }
            this.identities.set(client, { role: role as Role, clientId: client.id });
            this.persistence?.touchClient(client.id);
            done(null, true);
          },
          (err: Error) => done(authError(err.message, 4), false),
        );
      },
      authorizePublish: (client, packet, done) => {
        if (!client) return done(null);
        // [MQTT-3.3.5-2] a refused PUBLISH is acknowledged as usual and dropped (as Mosquitto
        // does for MQTT 3.1.1), not answered by closing the connection: a client keeps its
        // connection, and does not send the same message again at every reconnect for ever.
        const discard = (): void => {
          packet.topic = DISCARDED_TOPIC;
          packet.retain = false;
          packet.payload = Buffer.alloc(0);
          done(null);
        };
        const id = this.identities.get(client);
        if (!id || !this.acl.canPublish(id, packet.topic)) {
          this.refuse(
            'acl-publish',
            { clientId: client.id, role: id?.role, topic: packet.topic },
            `refused publish by ${client.id} (${id?.role}) to ${packet.topic}: not allowed for the role`,
          );
          return discard();
        }
        const size = packet.payload?.length ?? 0;
        if (size > maxPayload) {
          this.refuse(
            'payload-size',
            { clientId: client.id, topic: packet.topic, size },
            `refused publish by ${client.id} to ${packet.topic}: ${size} bytes over events.maxPayloadBytes ${maxPayload}`,
          );
          return discard();
        }
        done(null);
      },
      authorizeSubscribe: (client, sub, done) => {
        const id = this.identities.get(client);
        if (!id || !this.acl.canSubscribe(id, sub.topic) || sub.topic.startsWith('$laned/')) {
          this.refuse(
            'acl-subscribe',
            { clientId: client.id, role: id?.role, topic: sub.topic },
            `refused subscription of ${client.id} (${id?.role}) to ${sub.topic}`,
          );
          // [MQTT-3.9.3-2] 0x80 in SUBACK for a refused filter
          return done(null, null);
        }
        done(null, sub);
      },
    });
    this.aedes.on('client', () => metrics.brokerClients.set(this.clients));
    this.aedes.on('clientDisconnect', (client) => {
      metrics.brokerClients.set(this.clients);
      this.persistence?.touchClient(client.id);
    });
    this.aedes.on('clientError', (client, err) => this.log.debug({ clientId: client.id, err: err.message }, 'client error'));
    this.aedes.on('connectionError', (client, err) => {
      this.opts.metrics.brokerRefused.inc({ reason: 'protocol' });
      this.log.warn({ clientId: client?.id, err: err.message }, `connection error: ${err.message}`);
    });

    const aedes = this.aedes;
    this.tcp = createServer((socket) => {
      // small MQTT packets must not wait for Nagle's algorithm (RFC 896) and a delayed ACK
      socket.setNoDelay(true);
      deliverOutOfOrder(aedes.handle(socket));
    });
    await new Promise<void>((resolve, reject) => {
      this.tcp!.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(`broker cannot listen on ${config.broker.host}:${config.broker.port} (${err.code}); another broker running? set broker.port`)),
      );
      this.tcp!.listen(config.broker.port, config.broker.host, () => resolve());
    });
    const expiryMs = config.broker.sessionExpiryHours * 3_600_000;
    this.sweep = setInterval(() => void this.cleanup(expiryMs), Math.min(expiryMs, 3_600_000)).unref();
    void this.cleanup(expiryMs);
  }

  private async cleanup(maxAgeMs: number): Promise<void> {
    try {
      const gone = (await this.persistence?.cleanupAbandoned(maxAgeMs)) ?? [];
      if (gone.length)
        this.log.info({ clients: gone }, `removed ${gone.length} abandoned sessions not seen for ${this.opts.config.broker.sessionExpiryHours} h`);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'abandoned-session cleanup failed');
    }
  }

  /** MQTT over WebSocket at `/mqtt` on the daemon's HTTP server (subprotocol `mqtt`). */
  attachWebSocket(server: HttpServer): void {
    const aedes = this.aedes;
    if (!aedes) throw new Error('broker not started');
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.opts.config.events.maxPayloadBytes + 1024,
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
    });
    this.screensOpen = true;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/mqtt') {
        socket.destroy();
        return;
      }
      if (!this.screensOpen || this.stopping) {
        // RFC 6455 4.2.2: a server that does not take the handshake answers with an HTTP status
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      this.wss!.handleUpgrade(req, socket, head, (ws) => {
        const stream = createWebSocketStream(ws);
        stream.on('error', () => ws.terminate());
        deliverOutOfOrder(aedes.handle(stream, req));
      });
    });
  }

  /**
   * The screens first at a stop: every WebSocket client gets a close frame 1001
   * "going away" (RFC 6455 7.4.1), which the touch UI shows as its offline banner,
   * and no new one is taken. A client that does not answer the closing handshake
   * within `timeoutMs` is cut off. (The HTTP server's close waits for these
   * upgraded connections, which nothing else ends.)
   */
  async closeWebSockets(timeoutMs = 1000): Promise<void> {
    this.screensOpen = false;
    const open = [...(this.wss?.clients ?? [])];
    if (open.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const closed = Promise.all(open.map((ws) => new Promise<void>((resolve) => (ws.readyState === ws.CLOSED ? resolve() : ws.once('close', () => resolve())))));
    for (const ws of open) ws.close(1001, 'laned is stopping');
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    for (const ws of open) if (ws.readyState !== ws.CLOSED) ws.terminate();
    this.log.info({ clients: open.length }, `closed ${open.length} WebSocket client${open.length === 1 ? '' : 's'} (the screens)`);
  }

  /**
   * A connection for one of the daemon's own clients, in memory (duplexPair): the same
   * MQTT, CONNECT and credentials as over TCP, without a socket's system calls on the
   * path of every event. After stop() the connection closes at once (the client backs off).
   */
  connectInProcess(): Duplex {
    const [client, server] = duplexPair();
    if (!this.aedes || this.stopping) server.destroy();
    else deliverOutOfOrder(this.aedes.handle(server));
    return client;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweep);
    for (const ws of this.wss?.clients ?? []) ws.terminate();
    this.wss?.close();
    if (this.aedes) await new Promise<void>((resolve) => this.aedes!.close(() => resolve()));
    await new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve()));
    await this.persistence?.destroy();
  }
}
