import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { MqttClient } from 'mqtt';
import { Type, type TSchema } from '@sinclair/typebox';
import type { Config, Role } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { Store, type Tx, type StoreCorruptError } from '../store/store.js';
import type { BoardClock } from '../events/clock.js';
import { parseEvent, type Envelope } from '../events/envelope.js';
import { Outbox, type EmitMeta } from '../events/outbox.js';
import { Inbox } from '../events/inbox.js';
import { DeadLetters, type DeadLetter } from '../events/deadletter.js';
import { KeyedExecutor } from '../events/executor.js';
import { ReplayBudget } from '../events/replay-budget.js';
import { argsChecker, newCommand, parseCommand, type CommandReply } from '../events/command.js';
import { connectClient, endClient, whenConnected } from './mqtt.js';

/** What the daemon (or `laned --only`) gives every hosted service. */
export interface RuntimeHost {
  stateDir: string;
  config: Config;
  log: Logger;
  clock: BoardClock;
  metrics: Metrics;
  /** `connect`: an in-memory connection to the broker when it runs in this process. */
  broker: { url: string; password(role: Role, clientId: string): string; connect?(clientId: string): Duplex };
  /** A store was found corrupt and moved aside: the lane runs degraded. */
  onCorrupt?(err: StoreCorruptError): void;
}

/** Thrown by a command handler for a request that cannot be done; the reply carries the message. */
export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    message: string,
    /** Carried in the reply, so a client can tell "no such thing" from a refusal. */
    readonly kind?: 'not-found',
  ) {
    super(message);
  }
}

export interface CommandSpec {
  /** TypeBox schema of `args`; checked before `handle` runs. */
  args?: TSchema;
  /** Serialization key (e.g. the transaction); default: one queue per service. */
  key?(args: unknown): string;
  /** `from`: the sender's MQTT client id, read from its reply topic (`reply/<clientId>/…`, which the broker's ACL lets only that client read). */
  handle(args: any, tx: Tx, meta: { id: string; by?: string; from?: string }): Promise<unknown>;
}

/** What a service is given (the code conventions: one typed context). */
export interface ServiceContext<C = Record<string, unknown>> {
  name: string;
  settings: C;
  config: Config;
  log: Logger;
  clock: BoardClock;
  metrics: Metrics;
  stateDir: string;
  store: Store;
  /** Report another SQLite file of this service found corrupt and moved aside (Store.open's onCorrupt): the lane runs degraded. */
  onCorrupt(err: StoreCorruptError): void;
  /** Write an event of this service into the open transaction (outbox). */
  emit<D>(tx: Tx, type: string, data: D, meta?: EmitMeta): Promise<Envelope<D>>;
  /** Publish for another source too (the devices host: one source per device); call outside a transaction. */
  addSource(source: string): Promise<void>;
  /** Write an event of a source added with addSource into the open transaction. */
  emitAs<D>(source: string, tx: Tx, type: string, data: D, meta?: EmitMeta): Promise<Envelope<D>>;
  tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Run work in the serial queue of `key` (a transaction), e.g. from a timer. */
  runKeyed<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Retained `doc/<name>` for readers (QoS 1). A document over `events.maxPayloadBytes`
   * is not sent (the broker would refuse it): it is logged and counted.
   */
  publishDoc(name: string, doc: unknown): void;
  /** Remove the retained `doc/<name>` (a zero-byte retained message [MQTT-3.3.1-10]). */
  clearDoc(name: string): void;
  /** Fire a command at another service (QoS 1); `by` is journaled by the target. */
  sendCommand(target: string, command: string, args?: unknown, by?: string): void;
}

/** The behaviour of one service; everything optional but a name. */
export interface ServiceLogic {
  /**
   * Sources whose whole event stream this service consumes (`evt/<source>/+`):
   * whole streams, so that a gap in a source's `seq` means a lost event.
   */
  sources?: string[];
  migrate?(store: Store): Promise<void>;
  onEvent?(ev: Envelope, tx: Tx): Promise<void>;
  commands?: Record<string, CommandSpec>;
  keyOf?(ev: Envelope): string;
  start?(): Promise<void>;
  stop?(): Promise<void>;
  status?(): Record<string, unknown>;
}

export interface ServiceDefinition<C = Record<string, unknown>> {
  name: string;
  /** Broker role of its client (default `service`). */
  role?: Role;
  /** The commands the touch UI's screens send to this service: the `ui` role may send these and no others (broker/acl.ts). */
  ui?: readonly string[];
  create(ctx: ServiceContext<C>): ServiceLogic;
}

/**
 * `disconnected`, `write-failing` and `stalled` are a started service that is not
 * doing its work: its broker connection is down, its store refuses writes
 * (a full disk), or it does not keep up (the daemon's health check: event-loop
 * lag, a store that does not answer). None of them counts as running.
 */
export type ServiceState = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed' | 'disconnected' | 'write-failing' | 'stalled';

/** Lifecycle states; the others are reported over a running one. */
type Lifecycle = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  connected: boolean;
  outboxBacklog: number;
  deadLetters: number;
  applied: number;
  lastSeq: number;
  detail?: string;
  [k: string]: unknown;
}

const COMMAND_DDL = `CREATE TABLE IF NOT EXISTS command_results (id TEXT PRIMARY KEY, reply TEXT NOT NULL, time TEXT NOT NULL) WITHOUT ROWID;`;

/**
 * Hosts one service (the design "Process"): its SQLite file, outbox, inbox,
 * dead letters and its own durable MQTT client. The same code runs inside the
 * daemon and alone under `laned --only <service>`.
 */
export class ServiceRuntime {
  readonly name: string;
  private state: Lifecycle = 'stopped';
  private detail: string | undefined;
  private store!: Store;
  private outboxes = new Map<string, Outbox>();
  private inbox: Inbox | undefined;
  private deadLetters!: DeadLetters;
  private client: MqttClient | undefined;
  /** The last text of each doc/<name> published on this connection. */
  private readonly docsSent = new Map<string, string>();
  private logic!: ServiceLogic;
  private readonly executor = new KeyedExecutor();
  private readonly log: Logger;
  private readonly checkers = new Map<string, (a: unknown) => string | undefined>();
  private readonly replayBudget = new ReplayBudget();
  /** The store was found corrupt at prepare and started empty. */
  storeReset = false;
  /** When the last message arrived (the stop drains until the stream is quiet). */
  private lastDispatch = 0;
  private markSubscribed: () => void = () => undefined;
  private readonly subscribed = new Promise<void>((resolve) => {
    this.markSubscribed = resolve;
  });

  constructor(
    private readonly def: ServiceDefinition<any>,
    private readonly host: RuntimeHost,
  ) {
    this.name = def.name;
    this.log = host.log.child({ component: `services/${def.name}` });
  }

  private get clientId(): string {
    return `laned-${this.name}`;
  }

  /** Prepare and run at once (a service started alone). */
  async start(): Promise<void> {
    await this.prepare();
    await this.run();
  }

  /**
   * Phase one: stores, inbox and a subscribed durable session. The daemon prepares
   * every service before any runs, so on a first start no service publishes before
   * every consumer's subscription exists [MQTT-3.1.2-4 keeps them from then on].
   */
  async prepare(): Promise<void> {
    this.state = 'starting';
    const { host } = this;
    try {
      this.store = await Store.open(join(host.stateDir, `${this.name}.db`), {
        log: this.log,
        onCorrupt: (e) => {
          this.storeReset = true;
          host.onCorrupt?.(e);
        },
      });
      this.deadLetters = new DeadLetters(this.store);
      await this.deadLetters.init();
      await this.store.exec(COMMAND_DDL);
      await this.outboxFor(this.name).init();
      this.logic = this.def.create(this.context());
      await this.logic.migrate?.(this.store);
      for (const [cmd, spec] of Object.entries(this.logic.commands ?? {})) {
        if (spec.args) this.checkers.set(cmd, argsChecker(spec.args));
      }
      for (const [cmd, spec] of Object.entries(this.builtins)) {
        if (spec.args && !this.checkers.has(cmd)) this.checkers.set(cmd, argsChecker(spec.args));
      }
      const subscriptions = [`cmd/${this.name}/+`];
      if (this.logic.sources?.length) {
        subscriptions.push(`replay/+/${this.name}`, `replay/+/${this.name}/end`);
        subscriptions.push(...this.logic.sources.flatMap((src) => [`evt/${src}/+`, `svc/${src}/head`]));
        this.inbox = new Inbox({
          store: this.store,
          name: this.name,
          log: this.log,
          metrics: host.metrics,
          deadLetters: this.deadLetters,
          maxAttempts: host.config.events.maxAttempts,
          maxPayloadBytes: host.config.events.maxPayloadBytes,
          gapWaitMs: host.config.events.gapWaitMs,
          maxHeadAhead: host.config.events.outboxRetention,
          handle: (ev, tx) => this.logic.onEvent?.(ev, tx) ?? Promise.resolve(),
          requestReplay: (source, from, to) => this.sendCommand(source, 'Replay', { from, to, consumer: this.name }),
          keyOf: this.logic.keyOf?.bind(this.logic),
        });
        await this.inbox.init();
      }
      for (const source of this.outboxes.keys()) {
        if (source !== this.name) subscriptions.push(`cmd/${source}/Replay`);
      }
      const role = this.def.role ?? 'service';
      this.client = connectClient({
        url: host.broker.url,
        ...(host.broker.connect ? { stream: () => host.broker.connect!(this.clientId) } : {}),
        clientId: this.clientId,
        username: role,
        password: host.broker.password(role, this.clientId),
        log: this.log,
        stateTopic: `svc/${this.name}/state`,
        subscriptions,
        onMessage: (topic, payload) => this.dispatch(topic, payload),
        // Events go to the inbox without waiting for the one before to commit (group commit).
        pipelined: (topic) => topic.startsWith('evt/') || (topic.startsWith('replay/') && !topic.endsWith('/end')),
        onSubscribed: () => this.markSubscribed(),
      });
      this.client.on('connect', () => this.docsSent.clear());
      await whenConnected(this.client, 10_000).then(
        () => this.subscribed,
        (err: Error) => this.log.warn({ err: err.message }, 'broker not reachable yet; events stay in the outbox until it is'),
      );
    } catch (err) {
      this.state = 'failed';
      this.detail = (err as Error).message;
      throw err;
    }
  }

  /** Phase two: relay the outbox and start the service's own work. */
  async run(): Promise<void> {
    if (this.state === 'failed') return;
    try {
      for (const o of this.outboxes.values()) o.attach(this.client!);
      await this.logic.start?.();
      this.state = 'running';
    } catch (err) {
      this.state = 'failed';
      this.detail = (err as Error).message;
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopping';
    try {
      await this.logic?.stop?.();
      // Drain before the flush: transactions a stopping service began without
      // awaiting them (a driver's last DeviceStatus; the store's single queue runs
      // the no-op after every transaction begun before it) and events still
      // arriving, until the inbound stream has been quiet for a moment (at most
      // 5 s; what arrives later stays with the broker's session for next start).
      const deadline = Date.now() + 5000;
      for (;;) {
        await this.executor.idle();
        await this.inbox?.idle();
        await this.store?.get('SELECT 1');
        let left = 0;
        for (const o of this.outboxes.values()) {
          const n = await o.flush(3000);
          left += n;
          if (n > 0) this.log.warn({ source: o.source, left: n }, `${n} events not yet acknowledged; they are sent at next start`);
        }
        if (left > 0) break;
        if (Date.now() - this.lastDispatch >= 200 && [...this.outboxes.values()].every((o) => o.backlog() === 0)) break;
        if (Date.now() > deadline) {
          this.log.warn('events still arriving 5 s into the stop; the rest is applied at next start');
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      this.inbox?.stop();
      if (this.client) await endClient(this.client);
      for (const o of this.outboxes.values()) o.detach();
      await this.store?.close();
    } finally {
      this.state = 'stopped';
    }
  }

  /** Started and not stopping or failed (whether or not it is doing its work: see status()). */
  get running(): boolean {
    return this.state === 'running';
  }

  /** A running service that is not doing its work: which state and why. */
  private impaired(): { state: ServiceState; detail: string } | undefined {
    if (this.state !== 'running') return undefined;
    const wf = this.store?.writeFailure;
    if (wf) return { state: 'write-failing', detail: `${this.store.file}: ${wf.count} write${wf.count === 1 ? '' : 's'} refused since ${wf.since} (${wf.message})` };
    if (this.client && !this.client.connected) return { state: 'disconnected', detail: `not connected to the broker (clientId ${this.clientId})` };
    return undefined;
  }

  status(): ServiceStatus {
    let backlog = 0;
    let lastSeq = 0;
    for (const o of this.outboxes.values()) {
      backlog += o.backlog();
      lastSeq = Math.max(lastSeq, o.lastSeq());
    }
    const impaired = this.impaired();
    return {
      ...(this.logic?.status?.() ?? {}),
      name: this.name,
      state: impaired?.state ?? this.state,
      connected: this.client?.connected ?? false,
      outboxBacklog: backlog,
      deadLetters: this.deadLetters?.count() ?? 0,
      applied: this.inbox?.applied ?? 0,
      lastSeq,
      ...(this.inbox?.ignored ? { ignoredAnnouncements: this.inbox.ignored } : {}),
      ...(impaired ? { detail: impaired.detail } : this.detail ? { detail: this.detail } : {}),
    };
  }

  /**
   * The watchdog's liveness probe: a query through this service's store queue,
   * which a wedged transaction or handler holds up. True when not running.
   */
  async answers(timeoutMs: number): Promise<boolean> {
    if (this.state !== 'running') return true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const ok = this.store.get('SELECT 1').then(
      () => true,
      () => false,
    );
    try {
      return await Promise.race([ok, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * While this service's store refuses writes: try one small write, so a store
   * that takes writes again (space freed) reads running again without waiting
   * for the service's next event. Nothing is written while writes succeed.
   */
  async retryWrite(): Promise<void> {
    if (this.state !== 'running' || !this.store.writeFailure) return;
    await this.store
      .tx(async (tx) => {
        await tx.run('CREATE TABLE IF NOT EXISTS health_probe (k INTEGER PRIMARY KEY, at TEXT NOT NULL)');
        await tx.run('INSERT OR REPLACE INTO health_probe (k, at) VALUES (1, ?)', [new Date().toISOString()]);
      })
      .catch(() => undefined);
  }

  /** The sources this runtime publishes as (its own name, the devices host's devices). */
  sources(): string[] {
    return [...this.outboxes.keys()];
  }

  /** After a lost store: continue a source's `seq` after what the broker last acknowledged (before run()). */
  continueAfter(source: string, seq: number): Promise<void> {
    const o = this.outboxes.get(source);
    if (!o) throw new Error(`${this.name}: ${source} is not a source of this runtime`);
    return o.continueAfter(seq);
  }

  /** Events published (acknowledged) per source, for metrics. */
  published(): Map<string, number> {
    return new Map([...this.outboxes].map(([s, o]) => [s, o.published]));
  }

  /** The dead letters of this service, for `lanectl dlq`. */
  get dlq(): DeadLetters {
    return this.deadLetters;
  }

  private outboxFor(source: string): Outbox {
    let o = this.outboxes.get(source);
    if (!o) {
      o = new Outbox({
        store: this.store,
        source,
        clock: this.host.clock,
        log: this.log,
        retention: this.host.config.events.outboxRetention,
        maxPayloadBytes: this.host.config.events.maxPayloadBytes,
      });
      this.outboxes.set(source, o);
    }
    return o;
  }

  private context(): ServiceContext {
    const { host } = this;
    return {
      name: this.name,
      settings: (host.config.services[this.name] as Record<string, unknown> | undefined) ?? {},
      config: host.config,
      log: this.log,
      clock: host.clock,
      metrics: host.metrics,
      stateDir: host.stateDir,
      store: this.store,
      onCorrupt: (e) => host.onCorrupt?.(e),
      emit: (tx, type, data, meta) => this.outboxFor(this.name).emit(tx, type, data, meta),
      addSource: (source) => this.addSource(source),
      emitAs: (source, tx, type, data, meta) => {
        const o = this.outboxes.get(source);
        if (!o) throw new Error(`${this.name}: ${source} is not a source of this runtime; call addSource first`);
        return o.emit(tx, type, data, meta);
      },
      tx: (fn) => this.store.tx(fn),
      runKeyed: (key, fn) => this.executor.run(key, fn),
      publishDoc: (name, doc) => {
        // The same document again changes nothing for its readers: not sent (the broker keeps
        // the retained one). After a reconnect the next one is sent whatever it holds.
        const text = JSON.stringify(doc);
        if (this.docsSent.get(name) === text) return;
        const bytes = Buffer.byteLength(text);
        const max = host.config.events.maxPayloadBytes;
        if (bytes > max) {
          host.metrics.docsRefused.inc({ service: this.name, doc: name });
          this.log.error(
            { doc: name, bytes, max },
            `doc/${name} not published: ${bytes} bytes over events.maxPayloadBytes ${max}; its readers keep the previous one`,
          );
          return;
        }
        this.docsSent.set(name, text);
        this.client?.publish(`doc/${name}`, text, { qos: 1, retain: true });
      },
      clearDoc: (name) => {
        if (this.docsSent.get(name) === '') return;
        this.docsSent.set(name, '');
        this.client?.publish(`doc/${name}`, '', { qos: 1, retain: true });
      },
      sendCommand: (target, command, args, by) => this.sendCommand(target, command, args, by),
    };
  }

  private async addSource(source: string): Promise<void> {
    if (this.outboxes.has(source)) return;
    const o = this.outboxFor(source);
    await o.init();
    if (this.client) {
      this.client.subscribe(`cmd/${source}/Replay`, { qos: 1 });
      if (this.state === 'running') o.attach(this.client);
    }
  }

  private sendCommand(target: string, command: string, args?: unknown, by?: string): void {
    this.client?.publish(`cmd/${target}/${command}`, JSON.stringify(newCommand(args, undefined, by)), { qos: 1 });
  }

  private async dispatch(topic: string, payload: Buffer): Promise<void> {
    this.lastDispatch = Date.now();
    const parts = topic.split('/');
    if (parts[0] === 'cmd') {
      if (parts[2] === 'Replay') return this.answerReplay(parts[1], payload);
      if (parts[1] === this.name) return this.runCommand(parts.slice(2).join('/'), payload);
      return;
    }
    if (parts[0] === 'replay' && parts[3] === 'end') {
      let info: { firstAvailable?: unknown } = {};
      try {
        info = JSON.parse(payload.toString('utf8')) as { firstAvailable?: unknown };
      } catch {
        this.log.warn({ topic }, 'replay end marker is not JSON; ignored');
      }
      if (typeof info.firstAvailable === 'number') await this.inbox?.replayEnded(parts[1], info.firstAvailable);
      return;
    }
    if (parts[0] === 'svc' && parts[2] === 'head') {
      let seq = NaN;
      try {
        seq = Number((JSON.parse(payload.toString('utf8')) as { seq?: unknown }).seq);
      } catch {
        this.log.debug({ topic }, 'head announcement is not JSON; ignored');
      }
      if (Number.isInteger(seq)) this.inbox?.noteHead(parts[1], seq);
      return;
    }
    if (this.inbox) return this.inbox.receive(topic, payload);
  }

  /** Commands every service answers: dead-letter handling for `lanectl dlq`, status. */
  private readonly builtins: Record<string, CommandSpec> = {
    Status: { handle: async () => this.status() },
    // Inside the command's transaction: reading through the store would queue behind it (deadlock).
    DlqList: {
      handle: async (_args: unknown, tx, m) => {
        this.log.info({ by: m.by, command: m.id }, `dead letters of ${this.name} listed by ${m.by ?? 'an unknown sender'}`);
        return tx.all<DeadLetter>('SELECT * FROM dead_letters ORDER BY n DESC LIMIT 500');
      },
    },
    DlqDrop: {
      args: Type.Object({ n: Type.Integer({ minimum: 1 }) }),
      handle: async (args: { n: number }, tx, m) => {
        const dl = await tx.get<{ topic: string; event_id: string | null; reason: string }>('SELECT topic, event_id, reason FROM dead_letters WHERE n = ?', [
          args.n,
        ]);
        const r = await tx.run('DELETE FROM dead_letters WHERE n = ?', [args.n]);
        if (r.changes === 0 || !dl) throw new CommandError(`${this.name} has no dead letter ${args.n}`, 'not-found');
        tx.afterCommit(() => {
          this.deadLetters.forget(1);
          this.log.warn(
            { by: m.by, n: args.n, topic: dl.topic, eventId: dl.event_id, reason: dl.reason },
            `dead letter ${args.n} of ${this.name} dropped by ${m.by ?? 'an unknown sender'}`,
          );
        });
        return { dropped: args.n };
      },
    },
    DlqRetry: {
      args: Type.Object({ n: Type.Integer({ minimum: 1 }) }),
      handle: async (args: { n: number }, tx, m) => {
        const dl = await tx.get<{ topic: string; payload: string }>('SELECT topic, payload FROM dead_letters WHERE n = ?', [args.n]);
        this.log.warn({ by: m.by, n: args.n, topic: dl?.topic }, `dead letter ${args.n} of ${this.name} retried by ${m.by ?? 'an unknown sender'}`);
        if (!dl) throw new CommandError(`${this.name} has no dead letter ${args.n}`, 'not-found');
        const parsed = parseEvent(dl.topic, dl.payload, Number.MAX_SAFE_INTEGER);
        if (!parsed.ok) throw new CommandError(`dead letter ${args.n} is still invalid: ${parsed.reason}; drop it instead`);
        await this.logic.onEvent?.(parsed.event, tx);
        await tx.run('DELETE FROM dead_letters WHERE n = ?', [args.n]);
        tx.afterCommit(() => this.deadLetters.forget(1));
        return { retried: args.n, eventId: parsed.event.id };
      },
    },
  };

  private async answerReplay(source: string, payload: Buffer): Promise<void> {
    const o = this.outboxes.get(source);
    const parsed = parseCommand(payload, this.host.config.events.maxPayloadBytes);
    const args = parsed.ok ? (parsed.cmd.args as { from?: unknown; to?: unknown; consumer?: unknown } | undefined) : undefined;
    const by = parsed.ok ? parsed.cmd.by : undefined;
    if (
      !o ||
      !args ||
      typeof args.from !== 'number' ||
      typeof args.to !== 'number' ||
      typeof args.consumer !== 'string' ||
      !/^[a-z][a-z0-9-]{0,31}$/.test(args.consumer)
    ) {
      this.host.metrics.rejected.inc({ service: this.name, reason: 'replay' });
      this.log.warn({ source, by, reason: parsed.ok ? 'bad args' : parsed.reason }, `replay request for ${source} refused`);
      return;
    }
    // `by` is stamped by the broker (broker/commands.ts): a service asks for its own replays only
    if (by !== `service:${args.consumer}`) {
      this.host.metrics.rejected.inc({ service: this.name, reason: 'replay' });
      this.log.warn(
        { source, by, consumer: args.consumer },
        `replay request for ${source} refused: ${by ?? 'an unknown sender'} asked on behalf of ${args.consumer}`,
      );
      return;
    }
    if (!this.replayBudget.take(by, source)) {
      this.host.metrics.rejected.inc({ service: this.name, reason: 'replay-rate' });
      this.log.warn(
        { source, by, from: args.from, to: args.to },
        `replay request of ${by} for ${source} refused: too many requests; asked again later it is answered`,
      );
      return;
    }
    const rows = await o.readLog(args.from, Math.min(args.to, args.from + 4999));
    const client = this.client;
    if (!client) return;
    for (const row of rows) client.publish(`replay/${source}/${args.consumer}`, row.payload, { qos: 1 });
    client.publish(`replay/${source}/${args.consumer}/end`, JSON.stringify({ from: args.from, to: args.to, firstAvailable: await o.firstAvailable() }), {
      qos: 1,
    });
    this.log.info({ source, consumer: args.consumer, from: args.from, to: args.to, sent: rows.length }, 'replayed events from the log');
  }

  private async runCommand(name: string, payload: Buffer): Promise<void> {
    const parsed = parseCommand(payload, this.host.config.events.maxPayloadBytes);
    if (!parsed.ok) {
      this.host.metrics.rejected.inc({ service: this.name, reason: 'command' });
      this.log.warn({ command: name, reason: parsed.reason }, `rejected command ${name}: ${parsed.reason}`);
      return;
    }
    const { cmd } = parsed;
    const replyTo = cmd.replyTo;
    const reply = (r: CommandReply): void => {
      if (!replyTo) return;
      let text = JSON.stringify(r);
      const max = this.host.config.events.maxPayloadBytes;
      const bytes = Buffer.byteLength(text);
      if (bytes > max) {
        // the broker would refuse it: the asker learns why instead of waiting for nothing
        this.log.warn({ command: name, id: cmd.id, bytes, max }, `reply to ${name} not sent: ${bytes} bytes over events.maxPayloadBytes ${max}`);
        text = JSON.stringify({ id: cmd.id, ok: false, error: `the reply to ${name} has ${bytes} bytes, over events.maxPayloadBytes ${max}` });
      }
      this.client?.publish(replyTo, text, { qos: 1 });
    };
    const cached = await this.store.get<{ reply: string }>('SELECT reply FROM command_results WHERE id = ?', [cmd.id]);
    if (cached) {
      this.host.metrics.duplicates.inc({ service: this.name });
      reply(JSON.parse(cached.reply) as CommandReply);
      return;
    }
    const spec = this.logic.commands?.[name] ?? this.builtins[name];
    if (!spec) {
      const known = Object.keys(this.logic.commands ?? {}).join(', ') || 'none';
      reply({ id: cmd.id, ok: false, error: `${this.name} has no command ${name} (known: ${known})` });
      return;
    }
    const problem = this.checkers.get(name)?.(cmd.args);
    if (problem) {
      reply({ id: cmd.id, ok: false, error: `${this.name}/${name}: ${problem}` });
      return;
    }
    let answer: CommandReply;
    try {
      answer = await this.executor.run(spec.key?.(cmd.args) ?? `cmd:${this.name}`, () =>
        this.store.tx(async (tx) => {
          const from = replyTo ? /^reply\/([^/]+)\//.exec(replyTo)?.[1] : undefined;
          const result = await spec.handle(cmd.args, tx, { id: cmd.id, ...(cmd.by ? { by: cmd.by } : {}), ...(from ? { from } : {}) });
          const ok: CommandReply = { id: cmd.id, ok: true, ...(result === undefined ? {} : { result }) };
          await tx.run('INSERT INTO command_results (id, reply, time) VALUES (?,?,?)', [cmd.id, JSON.stringify(ok), new Date().toISOString()]);
          return ok;
        }),
      );
    } catch (err) {
      const message = (err as Error).message;
      if (!(err instanceof CommandError)) this.log.error({ command: name, id: cmd.id, err: message }, `command ${name} failed`);
      answer = { id: cmd.id, ok: false, error: message, ...(err instanceof CommandError && err.kind ? { kind: err.kind } : {}) };
    }
    reply(answer);
  }
}
