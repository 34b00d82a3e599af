import { createServer, type Server as NetServer, type AddressInfo } from 'node:net';
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { Aedes, type Client, type AuthenticateError } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Config, Role } from '../daemon/config.js';
import type { Logger } from '../daemon/log.js';
import type { Metrics } from '../daemon/metrics.js';
import { Acl } from './acl.js';
import type { Credentials } from './credentials.js';
import { admit, principalId, type Principal } from './principal.js';
import { stampCommand, PendingReplies } from './commands.js';
import { SqlitePersistence } from './persistence.js';
import { deliverOutOfOrder } from './dedupe.js';
import { duplexPair } from './in-process.js';

export interface BrokerOptions {
  config: Config;
  stateDir: string;
  log: Logger;
  metrics: Metrics;
  credentials: Credentials;
  /** Device names: the devices host (driver `laned-devices`) alone publishes as these sources. */
  devices: Iterable<string>;
  /** Per service, the commands the touch UI may send (ServiceDefinition.ui). */
  uiCommands?: Record<string, readonly string[]>;
}

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
  private readonly identities = new WeakMap<Client, Principal>();
  private readonly replies = new PendingReplies();
  private readonly anonymousPersistent = new WeakSet<Client>();
  private readonly log: Logger;
  private sweep: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(private readonly opts: BrokerOptions) {
    this.acl = new Acl({ devices: opts.devices, uiCommands: opts.uiCommands ?? {} });
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
        this.opts.credentials
          .verify(role, password?.toString('utf8') ?? '', client.id)
          .then(async (verified) => {
            if (!verified) {
              this.refuse(
                'auth',
                { clientId: client.id, username: role },
                `refused connection of ${client.id}: bad user name or password for ${JSON.stringify(role)}`,
              );
              return done(authError('bad user name or password', 4), false);
            }
            const p = admit(verified, client.id);
            if (typeof p === 'string') {
              this.refuse('client-id', { clientId: client.id, username: role }, `refused connection of ${client.id}: ${p}`);
              return done(authError(`identifier rejected: ${p}`, 2), false);
            }
            const me = principalId(p);
            const owner = this.persistence?.ownerOf(client.id);
            if (owner !== undefined && owner !== me) {
              // [MQTT-3.1.4-2] would disconnect the session's owner and hand its queue to this client
              this.refuse(
                'takeover',
                { clientId: client.id, principal: me, owner },
                `refused connection of ${client.id} as ${me}: that clientId is the session of ${owner}`,
              );
              return done(authError(`identifier rejected: ${client.id} is another principal's session`, 2), false);
            }
            await this.persistence?.bindOwner(client.id, me);
            await this.recheckSession(client.id, p);
            this.identities.set(client, p);
            this.persistence?.touchClient(client.id);
            done(null, true);
          })
          .catch((err: Error) => done(authError(err.message, 4), false));
      },
      authorizePublish: (client, packet, done) => {
        if (!client) return done(null);
        const id = this.identities.get(client);
        const topic = packet.topic;
        const isReply = topic.startsWith('reply/');
        // a reply goes only from a command's target to the replyTo its sender named
        if (!id || (isReply ? !this.replies.mayAnswer(topic, client.id) : !this.acl.canPublish(id, topic))) {
          this.refuse(
            'acl-publish',
            { clientId: client.id, role: id?.role, topic },
            `refused publish by ${client.id} (${id?.role}) to ${topic}: ${isReply ? 'not the target of a command that asked for this reply' : 'not allowed for the role'}`,
          );
          return done(new Error(`publish to ${topic} not allowed`));
        }
        const size = packet.payload?.length ?? 0;
        if (size > maxPayload) {
          this.refuse(
            'payload-size',
            { clientId: client.id, topic, size },
            `refused publish by ${client.id} to ${topic}: ${size} bytes over events.maxPayloadBytes ${maxPayload}`,
          );
          return done(new Error('payload too large'));
        }
        if (topic.startsWith('cmd/')) {
          const stamped = stampCommand(packet.payload as Buffer, client.id, id);
          if (typeof stamped === 'string') {
            this.refuse('command', { clientId: client.id, topic }, `refused command by ${client.id} on ${topic}: ${stamped}`);
            return done(new Error(stamped));
          }
          packet.payload = stamped.payload;
          if (stamped.replyTo) this.replies.expect(stamped.replyTo, `laned-${topic.split('/')[1]}`);
        }
        done(null);
      },
      authorizeSubscribe: (client, sub, done) => {
        const id = this.identities.get(client);
        if (!id || !this.acl.canSubscribe(id, sub.topic)) {
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

  /**
   * A resumed session keeps only what its principal may have now: subscriptions and
   * queued messages outside the principal's ACL (a session from before owners were
   * recorded, an ACL narrowed since) are dropped before the session is restored.
   */
  private async recheckSession(clientId: string, p: Principal): Promise<void> {
    const r = await this.persistence?.revoke(
      clientId,
      (filter) => this.acl.canSubscribe(p, filter),
      (topic) => this.acl.canSubscribe(p, topic),
    );
    if (!r || (r.filters.length === 0 && r.messages === 0)) return;
    this.refuse(
      'acl-session',
      { clientId, principal: principalId(p), filters: r.filters, messages: r.messages },
      `session ${clientId} resumed by ${principalId(p)}: dropped subscriptions its ACL refuses (${r.filters.join(', ') || 'none'}) and ${r.messages} queued messages`,
    );
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
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/mqtt') {
        socket.destroy();
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
