import { createServer, type Server as NetServer, type AddressInfo } from 'node:net';
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { Aedes, type Client, type AuthenticateError } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Role } from './roles.js';
import type { Logger } from './log.js';
import type { BrokerConfig, BrokerMetrics } from './settings.js';
import { Acl } from './acl.js';
import type { Credentials } from './credentials.js';
import { admit, principalId, type Principal } from './principal.js';
import { stampCommand, PendingReplies } from './commands.js';
import { SqlitePersistence } from './persistence.js';
import { deliverOutOfOrder } from './dedupe.js';
import { duplexPair } from './in-process.js';
import { guardReads, MAX_CONNECT_BYTES, HEADER_ALLOWANCE_BYTES, type PacketLimits } from './packet-guard.js';
import { topicProblem } from './topic.js';
import { DISCARDED_TOPIC, LANED_PREFIX, parseTopic } from './topics.js';
import { RefusalLog } from './refusal-log.js';

const isWildcard = (host: string): boolean => host === '0.0.0.0' || host === '::' || host === '[::]';

/** An HTTP answer on a socket that asked for an upgrade, then close it. */
function answer(socket: Duplex, status: 403 | 503, text: string): void {
  const reason = status === 403 ? 'Forbidden' : 'Service Unavailable';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
}

export interface BrokerOptions {
  config: BrokerConfig;
  stateDir: string;
  log: Logger;
  metrics: BrokerMetrics;
  credentials: Credentials;
  /** Device names: the devices host (driver `laned-devices`) alone publishes as these sources. */
  devices: Iterable<string>;
  /** Per service, the commands the touch UI may send (ServiceDefinition.ui). */
  uiCommands?: Record<string, readonly string[]>;
  /** Per service, the commands the uplink sends it (broker/acl.ts). */
  uplinkCommands?: Record<string, readonly string[]>;
}

function authError(message: string, returnCode: 2 | 3 | 4 | 5): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/**
 * The embedded broker (the design "broker/"): Aedes on TCP (loopback by default)
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
  /** Remote address of each listener connection (TCP socket or WebSocket stream) aedes was handed. */
  private readonly remotes = new WeakMap<object, { address: string; label: string }>();
  private readonly floods: RefusalLog;
  private readonly log: Logger;
  private sweep: NodeJS.Timeout | undefined;
  private stopping = false;
  /** WebSocket upgrades are taken (from attachWebSocket until closeWebSockets). */
  private screensOpen = false;

  constructor(private readonly opts: BrokerOptions) {
    this.acl = new Acl({ devices: opts.devices, uiCommands: opts.uiCommands ?? {}, uplinkCommands: opts.uplinkCommands ?? {} });
    this.log = opts.log.child({ component: 'broker' });
    this.floods = new RefusalLog(this.log);
  }

  /** Where a client connected from: `address:port`, or `in-process` for the daemon's own. */
  private remote(client: Client | null | undefined): { address: string; label: string } {
    return (client && this.remotes.get(client.conn as object)) ?? { address: 'in-process', label: 'in-process' };
  }

  private get packetLimits(): PacketLimits {
    return { connectBytes: MAX_CONNECT_BYTES, packetBytes: this.opts.config.events.maxPayloadBytes + HEADER_ALLOWANCE_BYTES };
  }

  /** A listener's connection goes to aedes behind the packet guard, its remote address remembered. */
  private handle(conn: Duplex, address: string | undefined, port: number | undefined, req?: IncomingMessage): void {
    const remote = address?.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
    this.remotes.set(conn, { address: address ?? 'unknown', label: remote });
    guardReads(conn, this.packetLimits, (r) => {
      this.opts.metrics.brokerRefused.inc({ reason: r.reason });
      this.floods.warn(`${r.reason} ${address}`, { remote, reason: r.reason }, `closed connection from ${remote} before reading on: ${r.message}`);
    });
    deliverOutOfOrder(this.aedes!.handle(conn, req));
  }

  /** Refuse a connection that asks for a role already at broker.maxClientsPerRole. */
  private roleFull(role: Role, clientId: string): boolean {
    const cap = this.opts.config.broker.maxClientsPerRole[role];
    let n = 0;
    for (const c of Object.values(this.aedes!.clients)) {
      if (c.id !== clientId && this.identities.get(c)?.role === role) n++;
    }
    return n >= cap;
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
        const bad = packet.will ? topicProblem(packet.will.topic) : undefined;
        if (bad) {
          this.refuse(
            'topic',
            { remote: this.remote(client).label, topic: packet.will!.topic },
            `closed connection from ${this.remote(client).label}: its will topic ${bad}`,
          );
          return done(new Error(`will topic ${bad}`), false);
        }
        done(null, true);
      },
      authenticate: (client, username, password, done) => {
        if (this.anonymousPersistent.has(client)) {
          // [MQTT-3.1.3-7] a persistent session needs a ClientId; [MQTT-3.1.3-8] CONNACK 0x02, then close
          this.refuse('client-id', { username }, 'refused connection: zero-length clientId with clean=false');
          return done(authError('identifier rejected: a persistent session needs a clientId', 2), false);
        }
        const role = username ?? '';
        const { address, label: remote } = this.remote(client);
        this.opts.credentials
          .verify(role, password?.toString('utf8') ?? '', client.id, address)
          .then(async (verified) => {
            if (verified === 'rate-limited' || verified === 'busy') {
              this.opts.metrics.brokerRefused.inc({ reason: `auth-${verified}` });
              this.floods.warn(
                `auth-${verified} ${address}`,
                { clientId: client.id, username: role, remote },
                verified === 'busy'
                  ? `refused connection of ${client.id} from ${remote} unchecked: password checks are busy`
                  : `refused connection of ${client.id} from ${remote} unchecked: too many failed authentications from there or in all`,
              );
              // [MQTT-3.2.2.3] busy: 0x03 server unavailable (try again); rate-limited: 0x04, as any failure
              return done(verified === 'busy' ? authError('password checks are busy', 3) : authError('bad user name or password', 4), false);
            }
            if (typeof verified === 'string') {
              this.refuse(
                'auth',
                { clientId: client.id, username: role, remote },
                `refused connection of ${client.id} from ${remote}: ${verified === 'unknown-user' ? 'unknown user name' : 'bad user name or password for'} ${JSON.stringify(role)}`,
              );
              return done(authError('bad user name or password', 4), false);
            }
            const p = admit(verified, client.id);
            if (typeof p === 'string') {
              this.refuse('client-id', { clientId: client.id, username: role, remote }, `refused connection of ${client.id} from ${remote}: ${p}`);
              return done(authError(`identifier rejected: ${p}`, 2), false);
            }
            if (this.roleFull(role as Role, client.id)) {
              const cap = this.opts.config.broker.maxClientsPerRole[role as Role];
              this.opts.metrics.brokerRefused.inc({ reason: 'role-full' });
              this.floods.warn(
                `role-full ${role}`,
                { clientId: client.id, role, remote },
                `refused connection of ${client.id} from ${remote}: role ${role} has its ${cap} clients (broker.maxClientsPerRole.${role})`,
              );
              // [MQTT-3.2.2.3] 0x03 server unavailable
              return done(authError(`role ${role} has its ${cap} clients`, 3), false);
            }
            const me = principalId(p);
            const owner = this.persistence?.ownerOf(client.id);
            if (owner !== undefined && owner !== me) {
              // [MQTT-3.1.4-2] would disconnect the session's owner and hand its queue to this client
              this.refuse(
                'takeover',
                { clientId: client.id, principal: me, owner, remote },
                `refused connection of ${client.id} as ${me}: that clientId is the session of ${owner}`,
              );
              return done(authError(`identifier rejected: ${client.id} is another principal's session`, 2), false);
            }
            // the owner holds in memory at once; a store that cannot write (a full disk) must not lock clients out
            await this.persistence
              ?.bindOwner(client.id, me)
              .catch((err: Error) => this.log.warn({ clientId: client.id, err: err.message }, `session owner of ${client.id} not stored: ${err.message}`));
            await this.recheckSession(client.id, p);
            this.identities.set(client, p);
            this.touch(client.id);
            done(null, true);
          })
          .catch((err: Error) => done(authError(err.message, 4), false));
      },
      authorizePublish: (client, packet, done) => {
        if (!client) return done(null);
        const bad = topicProblem(packet.topic);
        if (bad) {
          this.refuse(
            'topic',
            { clientId: client.id, remote: this.remote(client).label, topic: packet.topic },
            `closed connection of ${client.id}: it published to a topic that ${bad}`,
          );
          return done(new Error(`topic ${bad}`));
        }
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
        const topic = packet.topic;
        const isReply = parseTopic(topic)?.kind === 'reply';
        // a reply goes only from a command's target to the replyTo its sender named
        if (!id || (isReply ? !this.replies.mayAnswer(topic, client.id) : !this.acl.canPublish(id, topic))) {
          this.refuse(
            'acl-publish',
            { clientId: client.id, role: id?.role, topic },
            `refused publish by ${client.id} (${id?.role}) to ${topic}: ${isReply ? 'not the target of a command that asked for this reply' : 'not allowed for the role'}`,
          );
          return discard();
        }
        const size = packet.payload?.length ?? 0;
        if (size > maxPayload) {
          this.refuse(
            'payload-size',
            { clientId: client.id, topic, size },
            `refused publish by ${client.id} to ${topic}: ${size} bytes over events.maxPayloadBytes ${maxPayload}`,
          );
          return discard();
        }
        const command = parseTopic(topic);
        if (command?.kind === 'cmd') {
          const stamped = stampCommand(packet.payload as Buffer, client.id, id);
          if (typeof stamped === 'string') {
            this.refuse('command', { clientId: client.id, topic }, `refused command by ${client.id} on ${topic}: ${stamped}`);
            return done(new Error(stamped));
          }
          packet.payload = stamped.payload;
          if (stamped.replyTo) this.replies.expect(stamped.replyTo, `laned-${command.target}`);
        }
        done(null);
      },
      authorizeSubscribe: (client, sub, done) => {
        const bad = topicProblem(sub.topic);
        if (bad) {
          this.refuse(
            'topic',
            { clientId: client.id, remote: this.remote(client).label, topic: sub.topic },
            `closed connection of ${client.id}: it subscribed to a filter that ${bad}`,
          );
          return done(new Error(`topic filter ${bad}`));
        }
        const id = this.identities.get(client);
        if (!id || !this.acl.canSubscribe(id, sub.topic) || sub.topic.startsWith(LANED_PREFIX)) {
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
      this.touch(client.id);
    });
    this.aedes.on('clientError', (client, err) => this.log.debug({ clientId: client.id, err: err.message }, 'client error'));
    this.aedes.on('connectionError', (client, err) => {
      this.opts.metrics.brokerRefused.inc({ reason: 'protocol' });
      this.log.warn({ clientId: client?.id, err: err.message }, `connection error: ${err.message}`);
    });

    this.tcp = createServer((socket) => {
      // small MQTT packets must not wait for Nagle's algorithm (RFC 896) and a delayed ACK
      socket.setNoDelay(true);
      this.handle(socket, socket.remoteAddress, socket.remotePort);
    });
    this.tcp.maxConnections = config.broker.maxConnections.tcp;
    this.tcp.on('drop', (d) => {
      metrics.brokerRefused.inc({ reason: 'connections' });
      this.floods.warn(
        'connections tcp',
        { remote: d?.remoteAddress, listener: 'tcp' },
        `closed connection from ${d?.remoteAddress ?? 'unknown'}: the TCP listener has its ${config.broker.maxConnections.tcp} connections (broker.maxConnections.tcp)`,
      );
    });
    await new Promise<void>((resolve, reject) => {
      this.tcp!.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(`broker cannot listen on ${config.broker.host}:${config.broker.port} (${err.code}); another broker running? set broker.port`)),
      );
      this.tcp!.listen(config.broker.port, config.broker.host, () => resolve());
    });
    if (isWildcard(config.broker.host))
      this.log.warn(
        { host: config.broker.host, port: this.port },
        `broker.host ${config.broker.host}: the MQTT broker on port ${this.port} is reachable from every network the board is on, not only from the board itself (set broker.host: 127.0.0.1 unless a client elsewhere needs it)`,
      );
    const expiryMs = config.broker.sessionExpiryHours * 3_600_000;
    this.sweep = setInterval(() => void this.cleanup(expiryMs), Math.min(expiryMs, 3_600_000)).unref();
    void this.cleanup(expiryMs);
  }

  /**
   * A resumed session keeps only what its principal may have now: subscriptions and
   * queued messages outside the principal's ACL (a session from before owners were
   * recorded, an ACL narrowed since) are dropped before the session is restored.
   */
  /** When a client was last seen (session expiry): a store that cannot write is logged, the client is not held up. */
  private touch(clientId: string): void {
    this.persistence
      ?.touchClient(clientId)
      .catch((err: Error) => this.log.warn({ clientId, err: err.message }, `last-seen time of ${clientId} not stored: ${err.message}`));
  }

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
    const cap = this.opts.config.broker.maxConnections.websocket;
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
      const from = req.socket.remoteAddress;
      const origin = req.headers.origin;
      // RFC 6455 §10.2: a browser names the page's origin; only the lane's own may open /mqtt
      if (origin !== undefined && !this.originAllowed(origin, server)) {
        this.opts.metrics.brokerRefused.inc({ reason: 'origin' });
        this.floods.warn(
          `origin ${from}`,
          { remote: from, origin },
          `refused WebSocket /mqtt from ${from}: origin ${JSON.stringify(origin)} is not the lane's own (http.origins)`,
        );
        return answer(socket, 403, `origin ${origin} may not open /mqtt`);
      }
      if (this.wss!.clients.size >= cap) {
        this.opts.metrics.brokerRefused.inc({ reason: 'connections' });
        this.floods.warn(
          'connections websocket',
          { remote: from, listener: 'websocket' },
          `refused WebSocket /mqtt from ${from}: the listener has its ${cap} connections (broker.maxConnections.websocket)`,
        );
        return answer(socket, 503, 'too many connections');
      }
      this.wss!.handleUpgrade(req, socket, head, (ws) => {
        const stream = createWebSocketStream(ws);
        stream.on('error', () => ws.terminate());
        this.handle(stream, from, req.socket.remotePort, req);
      });
    });
  }

  /** The lane's own origins (its HTTP port under every name it answers to) and `http.origins`. */
  private originAllowed(origin: string, server: HttpServer): boolean {
    const { http } = this.opts.config;
    const port = (server.address() as AddressInfo | null)?.port;
    const names = ['127.0.0.1', 'localhost', '[::1]', http.host.includes(':') && !http.host.startsWith('[') ? `[${http.host}]` : http.host, ...http.hostNames];
    const own = names.flatMap((n) => [`http://${n}:${port}`, ...(port === 80 ? [`http://${n}`] : [])]);
    return [...own, ...http.origins].some((o) => o.toLowerCase() === origin.toLowerCase());
  }

  /**
   * The screens first at a stop: every WebSocket client gets a close frame 1001
   * "going away" (RFC 6455 7.4.1), which the touch UI shows as its offline banner,
   * and no new one is taken. A client that does not answer the closing handshake
   * within `timeoutMs` is cut off. (The HTTP server's close waits for these
   * upgraded connections, which nothing else ends.)
   */
  async closeWebSockets(timeoutMs = 1000): Promise<{ answered: number; cutOff: number }> {
    this.screensOpen = false;
    const open = [...(this.wss?.clients ?? [])];
    const counts = { answered: 0, cutOff: 0 };
    if (open.length === 0) return counts;
    let timer: NodeJS.Timeout | undefined;
    // a close that never got the screen's answer is 1006 (RFC 6455 7.1.5)
    const closed = Promise.all(
      open.map(
        (ws) =>
          new Promise<void>((resolve) =>
            ws.readyState === ws.CLOSED
              ? resolve()
              : ws.once('close', (code) => {
                  counts[code === 1006 ? 'cutOff' : 'answered']++;
                  resolve();
                }),
          ),
      ),
    );
    for (const ws of open) {
      // What aedes still writes once the close frame is out is dropped: ws fails a send
      // after close, and its stream answers a failed write by cutting the TCP connection
      // before the screen has answered (the browser then reports an unclean close).
      ws.send = (_data: unknown, optionsOrDone?: unknown, done?: (err?: Error) => void) =>
        (typeof optionsOrDone === 'function' ? (optionsOrDone as typeof done) : done)?.();
      ws.close(1001, 'laned is stopping');
    }
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    for (const ws of open) if (ws.readyState !== ws.CLOSED) ws.terminate();
    await closed;
    this.log.info(
      { clients: open.length, ...counts },
      `closed ${open.length} WebSocket client${open.length === 1 ? '' : 's'} (the screens)${counts.cutOff ? `, ${counts.cutOff} cut off without answering` : ''}`,
    );
    return counts;
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
