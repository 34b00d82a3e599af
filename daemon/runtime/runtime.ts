import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { logRetention } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { Store } from '../store/store.js';
import { Outbox } from '../events/outbox.js';
import { Inbox } from '../events/inbox/inbox.js';
import { DeadLetters } from '../events/deadletter.js';
import { KeyedExecutor } from '../events/executor.js';
import { newCommand } from '../events/command.js';
import { processTimers } from '../events/clock.js';
import { connectClient, endClient, whenConnected } from './mqtt.js';
import type { RuntimeHost, ServiceContext, ServiceDefinition, ServiceLogic, ServiceState, ServiceStatus } from './service.js';
import { COMMAND_DDL, CommandRunner } from './commands.js';
import { builtinCommands } from './builtin-commands.js';
import { ReplayServer } from './replay-server.js';
import { DocPublisher } from './docs.js';
import { dispatch } from './dispatch.js';
import { Requests } from './requests.js';
import { drain } from './drain.js';
import * as topics from '../../broker/topics.js';
import type { DomainEvent } from '../events/schemas/index.js';

export type { RuntimeHost, CommandSpec, ServiceContext, ServiceLogic, ServiceDefinition, ServiceState, ServiceStatus } from './service.js';
export { CommandError, defineCommands, NoArgs, OptionalArgs } from '../events/command.js';
export { commandSpecs } from './commands.js';
export type { CommandHandlers } from './service.js';

/** Lifecycle states; the others are reported over a running one. */
type Lifecycle = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

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
  private readonly docs: DocPublisher;
  private readonly replays: ReplayServer;
  private commands!: CommandRunner;
  private logic!: ServiceLogic;
  private readonly executor = new KeyedExecutor();
  private requests!: Requests;
  private readonly log: Logger;
  /** The store was found corrupt at prepare and started empty. */
  storeReset = false;
  /** When the last message arrived (the stop drains until the stream is quiet). */
  private lastDispatch = 0;
  private markSubscribed: () => void = () => undefined;
  private readonly subscribed = new Promise<void>((resolve) => {
    this.markSubscribed = resolve;
  });

  constructor(
    private readonly def: ServiceDefinition<unknown>,
    private readonly host: RuntimeHost,
  ) {
    this.name = def.name;
    this.requests = new Requests(`laned-${def.name}`, def.name);
    this.log = host.log.child({ component: `services/${def.name}` });
    const parts = { service: def.name, metrics: host.metrics, log: this.log, maxPayloadBytes: host.config.events.maxPayloadBytes, client: () => this.client };
    this.docs = new DocPublisher(parts);
    this.replays = new ReplayServer({ ...parts, outbox: (source) => this.outboxes.get(source) });
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
      this.commands = new CommandRunner({
        service: this.name,
        store: this.store,
        executor: this.executor,
        metrics: host.metrics,
        log: this.log,
        maxPayloadBytes: host.config.events.maxPayloadBytes,
        commands: this.logic.commands ?? {},
        builtins: builtinCommands({
          name: this.name,
          log: this.log,
          status: () => this.status(),
          deadLetters: () => this.deadLetters,
          onEvent: (ev, tx) => this.logic.onEvent?.(ev, tx) ?? Promise.resolve(),
        }),
        publish: (topic, text) => this.client?.publish(topic, text, { qos: 1 }),
      });
      const subscriptions = [topics.cmd(this.name, topics.ANY), this.requests.topic];
      if (this.logic.sources?.length) {
        subscriptions.push(topics.replay(topics.ANY, this.name), topics.replayEnd(topics.ANY, this.name));
        subscriptions.push(...this.logic.sources.flatMap((src) => [topics.evt(src, topics.ANY), topics.svcHead(src)]));
        this.inbox = new Inbox({
          store: this.store,
          name: this.name,
          log: this.log,
          metrics: host.metrics,
          deadLetters: this.deadLetters,
          maxAttempts: host.config.events.maxAttempts,
          maxPayloadBytes: host.config.events.maxPayloadBytes,
          gapWaitMs: host.config.events.gapWaitMs,
          maxHeadAhead: logRetention(host.config),
          handle: (ev, tx) => this.logic.onEvent?.(ev, tx) ?? Promise.resolve(),
          requestReplay: (source, from, to) => this.sendCommand(source, 'Replay', { from, to, consumer: this.name }),
          keyOf: this.logic.keyOf?.bind(this.logic),
        });
        await this.inbox.init();
      }
      for (const source of this.outboxes.keys()) {
        if (source !== this.name) subscriptions.push(topics.cmd(source, 'Replay'));
      }
      if (this.logic.subscriptions) subscriptions.push(...this.logic.subscriptions);
      const role = this.def.role ?? 'service';
      this.client = connectClient({
        url: host.broker.url,
        ...(host.broker.connect ? { stream: () => host.broker.connect!(this.clientId) } : {}),
        clientId: this.clientId,
        username: role,
        password: host.broker.password(role, this.clientId),
        log: this.log,
        stateTopic: topics.svcState(this.name),
        subscriptions,
        onMessage: (topic, payload) => this.dispatch(topic, payload),
        // Events go to the inbox without waiting for the one before to commit (group commit).
        pipelined: (topic) => {
          const kind = topics.parseTopic(topic)?.kind;
          return kind === 'evt' || kind === 'replay';
        },
        onSubscribed: () => this.markSubscribed(),
      });
      this.client.on('connect', () => this.docs.forget());
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
      await drain({
        log: this.log,
        store: this.store,
        outboxes: this.outboxes.values(),
        idle: async () => {
          await this.executor.idle();
          await this.inbox?.idle();
        },
        lastDispatch: () => this.lastDispatch,
      });
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
    if (wf)
      return { state: 'write-failing', detail: `${this.store.file}: ${wf.count} write${wf.count === 1 ? '' : 's'} refused since ${wf.since} (${wf.message})` };
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
        retention: logRetention(this.host.config),
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
      timers: processTimers,
      metrics: host.metrics,
      stateDir: host.stateDir,
      store: this.store,
      onCorrupt: (e) => host.onCorrupt?.(e),
      emit: (tx, type, data, meta) => this.outboxFor(this.name).emit(tx, type, data, meta) as Promise<DomainEvent<typeof type>>,
      addSource: (source) => this.addSource(source),
      emitAs: (source, tx, type, data, meta) => {
        const o = this.outboxes.get(source);
        if (!o) throw new Error(`${this.name}: ${source} is not a source of this runtime; call addSource first`);
        return o.emit(tx, type, data, meta);
      },
      tx: (fn) => this.store.tx(fn),
      runKeyed: (key, fn) => this.executor.run(key, fn),
      publishDoc: (name, doc) => this.docs.publish(name, doc),
      clearDoc: (name) => this.docs.clear(name),
      sendCommand: (target, command, args, by) => this.sendCommand(target, command, args, by),
      request: (target, command, args, timeoutMs = 10_000) => this.requests.send(this.client, target, command, args, timeoutMs),
    };
  }

  private async addSource(source: string): Promise<void> {
    if (this.outboxes.has(source)) return;
    const o = this.outboxFor(source);
    await o.init();
    if (this.client) {
      this.client.subscribe(topics.cmd(source, 'Replay'), { qos: 1 });
      if (this.state === 'running') o.attach(this.client);
    }
  }

  private sendCommand(target: string, command: string, args?: unknown, by?: string): void {
    this.client?.publish(topics.cmd(target, command), JSON.stringify(newCommand(args, undefined, by)), { qos: 1 });
  }

  private dispatch(topic: string, payload: Buffer): Promise<void> {
    this.lastDispatch = Date.now();
    // a service that reads further topics itself (no inbox) takes all but its commands, the replays asked of it and its replies
    if (this.logic?.onMessage && !this.inbox && !topic.startsWith('cmd/') && !topic.startsWith('reply/')) return this.logic.onMessage(topic, payload);
    return dispatch(
      {
        self: this.name,
        log: this.log,
        replay: (source, p) => this.replays.answer(source, p),
        command: (name, p) => this.commands.run(name, p),
        replayEnded: async (source, firstAvailable) => this.inbox?.replayEnded(source, firstAvailable),
        head: (source, seq) => this.inbox?.noteHead(source, seq),
        event: async (t, p) => this.inbox?.receive(t, p),
        reply: (id, p) => this.requests.answer(id, p),
      },
      topic,
      payload,
    );
  }
}
