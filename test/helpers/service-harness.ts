/**
 * One service's logic on its own: a real temporary SQLite store and outbox, a
 * clock the test moves by hand (board time and the service's timers), and every
 * emit, document, outgoing command and log record captured. No broker, no
 * daemon: events go straight to `onEvent` in a transaction and commands straight
 * to the runtime's command runner, so a service's rules are tested in milliseconds. The service
 * gets the same ServiceContext the runtime gives it and runs unchanged.
 *
 * What the runtime adds on the wire (ordering, dedup, replay, dead letters,
 * MQTT) is not here: the inbox and outbox tests and the whole-lane sessions show it.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { validateConfig } from '../../daemon/core/config.js';
import { commandContract, commandReplyProblem } from '../../daemon/services/commands.js';
import { createLogger } from '../../daemon/core/log.js';
import { Metrics } from '../../daemon/core/metrics.js';
import { Store, type StoreCorruptError, type Tx } from '../../daemon/store/store.js';
import type { ServiceContext, ServiceDefinition, ServiceLogic } from '../../daemon/runtime/service.js';
import { COMMAND_DDL, CommandRunner } from '../../daemon/runtime/commands.js';
import type { BoardClock, BoardTime, Timer, Timers } from '../../daemon/events/clock.js';
import { newEventId, type Envelope } from '../../daemon/events/envelope.js';
import { Outbox, type EmitMeta } from '../../daemon/events/outbox.js';
import { KeyedExecutor } from '../../daemon/events/executor.js';
import { newCommand, type CommandReply } from '../../daemon/events/command.js';
import { dataProblem, latestVersion } from '../../daemon/events/schema.js';
import '../../daemon/events/schemas/index.js';
import { tempDir } from './daemon.js';
import type { DomainEvent } from '../../daemon/events/schemas/index.js';

interface PendingTimer {
  due: bigint;
  n: number;
  fn: () => void;
}

/**
 * Board time and timers that move only when the test says: `advance(ms)` moves
 * CLOCK_MONOTONIC on and fires the timers that fall due, in order. Every now()
 * is a microsecond after the one before, as two readings of hrtime are.
 */
export class ManualClock implements BoardClock, Timers {
  readonly epoch: number;
  private mono: bigint;
  private timers = new Map<Timer, PendingTimer>();
  private made = 0;
  private waiters: Array<() => void> = [];

  constructor(epoch = 1, startMono = 1_000_000_000_000n) {
    this.epoch = epoch;
    this.mono = startMono;
  }

  now(): BoardTime {
    this.mono += 1000n;
    return { epoch: this.epoch, mono: this.mono.toString() };
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const timer = {};
    this.timers.set(timer, { due: this.mono + BigInt(Math.max(0, Math.round(ms))) * 1_000_000n, n: this.made++, fn });
    for (const w of this.waiters.splice(0)) w();
    return timer;
  }

  clearTimeout(timer: Timer | undefined): void {
    if (timer) this.timers.delete(timer);
  }

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.timers.size;
  }

  /** Resolves once at least `n` timers are pending (work that sets one runs after a commit). */
  async timersSet(n = 1): Promise<void> {
    while (this.timers.size < n) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /**
   * Move time on by `ms`, firing each timer that falls due on the way at its own
   * time (a timer a fired one sets fires too when it falls within `ms`).
   * `between` runs after each fired timer: the harness lets the work it started finish.
   */
  async advance(ms: number, between: () => Promise<void> = async () => undefined): Promise<void> {
    const end = this.mono + BigInt(Math.round(ms)) * 1_000_000n;
    for (;;) {
      let next: [Timer, PendingTimer] | undefined;
      for (const entry of this.timers) {
        if (entry[1].due > end) continue;
        if (!next || entry[1].due < next[1].due || (entry[1].due === next[1].due && entry[1].n < next[1].n)) next = entry;
      }
      if (!next) break;
      this.timers.delete(next[0]);
      if (next[1].due > this.mono) this.mono = next[1].due;
      next[1].fn();
      await between();
    }
    if (end > this.mono) this.mono = end;
  }
}

export interface HarnessOptions<C> {
  /** A laned config document (validated as the daemon validates one); default: every default, the simulated lane. */
  config?: Record<string, unknown>;
  /** The service's settings (`services.<name>` of the config). */
  settings?: C;
  /** Run the service's start() (default true). */
  start?: boolean;
  /** Reuse a state directory (a restart of the service on the same store). */
  stateDir?: string;
  clock?: ManualClock;
}

export interface EventInput {
  txn?: string;
  corr?: string;
  cause?: string;
  id?: string;
  at?: BoardTime;
  v?: number;
}

export interface CommandMeta {
  by?: string;
  /** The sender's MQTT client id. */
  from?: string;
}

export interface ServiceHarness {
  readonly ctx: ServiceContext;
  readonly logic: ServiceLogic;
  readonly store: Store;
  readonly clock: ManualClock;
  readonly stateDir: string;
  /** Events the service emitted, committed, in order. */
  readonly emitted: Envelope[];
  /** Every publishDoc (and clearDoc, as `doc: undefined`), in order. */
  readonly docLog: Array<{ name: string; doc: unknown }>;
  /** Commands the service sent to others. */
  readonly sent: Array<{ target: string; command: string; args?: unknown; by?: string }>;
  /** Log records at debug and above, parsed. */
  readonly logs: Array<Record<string, unknown> & { msg: string; level: number }>;
  readonly corrupt: StoreCorruptError[];
  /** The last document published under `name` (undefined when cleared or never published). */
  doc<T = Record<string, unknown>>(name: string): T | undefined;
  /** Emitted events of these types, in order. */
  events<D = Record<string, unknown>>(...types: string[]): Array<Envelope<D>>;
  /** An event from `source` as the inbox hands it over: checked against its schema, applied in one transaction. */
  event(source: string, type: string, data: unknown, meta?: EventInput): Promise<Envelope>;
  /** A command as the runtime runs it (its CommandRunner): args checked, handler in one transaction on its key, the reply returned. */
  command(name: string, args?: unknown, meta?: CommandMeta): Promise<CommandReply>;
  /** Like command(), and the reply must be ok: its result. */
  ok<T = Record<string, unknown>>(name: string, args?: unknown, meta?: CommandMeta): Promise<T>;
  /** Work queued on the service's keys (timers, after-commit kicks) has finished. */
  settle(): Promise<void>;
  /** Move the clock on, letting the work of every fired timer finish before the next fires. */
  advance(ms: number): Promise<void>;
  /** Resolves with the `n`th emitted event of `type` (1 = the first), now or when it is emitted; rejects after `timeoutMs` of real time. */
  waitForEvent<D = Record<string, unknown>>(type: string, n?: number, timeoutMs?: number): Promise<Envelope<D>>;
  /** The service's stop(), its queued work, and the store closed; a second call does nothing. */
  stop(): Promise<void>;
}

/** Run `def` on a temporary store with a manual clock; see the module comment. */
export async function serviceHarness<C>(def: ServiceDefinition<C>, opts: HarnessOptions<C> = {}): Promise<ServiceHarness> {
  const name = def.name;
  const stateDir = opts.stateDir ?? tempDir(`laned-${name}-`);
  const raw = opts.config ?? {};
  const services = { ...((raw.services as Record<string, unknown> | undefined) ?? {}) };
  if (opts.settings !== undefined) services[name] = opts.settings;
  const config = validateConfig({ ...raw, services }, 'service harness');
  const clock = opts.clock ?? new ManualClock();

  const logs: ServiceHarness['logs'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line.replace(/^<\d>/, '')) as ServiceHarness['logs'][number]);
      done();
    },
  });
  const log = createLogger({ level: 'debug', destination: sink }).child({ component: `services/${name}` });
  const corrupt: StoreCorruptError[] = [];
  const store = await Store.open(join(stateDir, `${name}.db`), { log, onCorrupt: (e) => corrupt.push(e) });

  const emitted: Envelope[] = [];
  const emitWaiters: Array<() => void> = [];
  const docLog: ServiceHarness['docLog'] = [];
  const docs = new Map<string, unknown>();
  const sent: ServiceHarness['sent'] = [];
  const executor = new KeyedExecutor();
  const outboxes = new Map<string, Outbox>();
  const outboxFor = async (source: string): Promise<Outbox> => {
    let o = outboxes.get(source);
    if (!o) {
      o = new Outbox({ store, source, clock, log, retention: config.events.outboxRetention, maxPayloadBytes: config.events.maxPayloadBytes });
      outboxes.set(source, o);
      await o.init();
    }
    return o;
  };
  await outboxFor(name);
  const captured = async (o: Outbox | undefined, source: string, tx: Tx, type: string, data: unknown, meta?: EmitMeta): Promise<DomainEvent> => {
    if (!o) throw new Error(`${name}: ${source} is not a source of this runtime; call addSource first`);
    const ev = await o.emit(tx, type, data, meta);
    tx.afterCommit(() => {
      emitted.push(ev);
      for (const w of emitWaiters.splice(0)) w();
    });
    return ev;
  };

  const ctx: ServiceContext = {
    name,
    settings: (config.services[name] as Record<string, unknown> | undefined) ?? {},
    config,
    log,
    clock,
    timers: clock,
    metrics: new Metrics({ defaults: false }),
    stateDir,
    store,
    onCorrupt: (e) => corrupt.push(e),
    emit: (tx, type, data, meta) => captured(outboxes.get(name), name, tx, type, data, meta) as Promise<DomainEvent<typeof type>>,
    addSource: async (source) => {
      await outboxFor(source);
    },
    emitAs: (source, tx, type, data, meta) => captured(outboxes.get(source), source, tx, type, data, meta),
    tx: (fn) => store.tx(fn),
    runKeyed: (key, fn) => executor.run(key, fn),
    publishDoc: (docName, doc) => {
      // as the runtime sends it: the JSON text, read back by the reader
      const copy = JSON.parse(JSON.stringify(doc)) as unknown;
      docLog.push({ name: docName, doc: copy });
      docs.set(docName, copy);
    },
    clearDoc: (docName) => {
      docLog.push({ name: docName, doc: undefined });
      docs.delete(docName);
    },
    sendCommand: (target, command, args, by) => {
      sent.push({ target, command, ...(args === undefined ? {} : { args }), ...(by ? { by } : {}) });
    },
    // the other services do not run here: a request is recorded and goes unanswered
    request: (target, command, args) => {
      sent.push({ target, command, ...(args === undefined ? {} : { args }) });
      return Promise.reject(new Error(`no ${target} in the service harness to answer ${command}`));
    },
  };
  const logic = def.create(ctx as ServiceContext<C>);
  await logic.migrate?.(store);
  const seqs = new Map<string, number>();

  const settle = async (): Promise<void> => {
    await executor.idle();
    await store.get('SELECT 1');
    await executor.idle();
  };

  const runner = new CommandRunner({
    service: name,
    store,
    executor,
    metrics: ctx.metrics,
    log,
    maxPayloadBytes: config.events.maxPayloadBytes,
    commands: logic.commands ?? {},
    builtins: {},
    publish: (topic, text) => replies.set(topic, JSON.parse(text) as CommandReply),
  });
  const replies = new Map<string, CommandReply>();
  await store.exec(COMMAND_DDL);

  /** Through the runtime's own command runner, as a client on `from` would send it. */
  const command = async (cmdName: string, args?: unknown, meta: CommandMeta = {}): Promise<CommandReply> => {
    const cmd = newCommand(args, undefined, meta.by);
    const replyTo = `reply/${meta.from ?? 'harness'}/${cmd.id}`;
    await runner.run(cmdName, Buffer.from(JSON.stringify({ ...cmd, replyTo })));
    const reply = replies.get(replyTo);
    replies.delete(replyTo);
    if (!reply) throw new Error(`${name}/${cmdName}: no reply`);
    // A refusal (CommandError) is a reply; a handler that threw anything else is a bug the test should see as one.
    const failed = logs.find((l) => l.id === cmd.id && l.msg === `command ${cmdName} failed`);
    if (failed) throw new Error(`${name}/${cmdName} threw: ${String(failed.err)}`);
    // every reply of a service's command keeps its contract (daemon/services/commands.ts)
    const problem = commandContract(name, cmdName) ? commandReplyProblem(name, cmdName, reply) : undefined;
    if (problem) throw new Error(problem);
    return reply;
  };

  let stopped = false;
  const h: ServiceHarness = {
    ctx,
    logic,
    store,
    clock,
    stateDir,
    emitted,
    docLog,
    sent,
    logs,
    corrupt,
    doc: <T>(docName: string) => docs.get(docName) as T | undefined,
    events: <D>(...types: string[]) => emitted.filter((e) => types.includes(e.type)) as Array<Envelope<D>>,
    async event(source, type, data, meta = {}) {
      if (!logic.sources?.includes(source)) throw new Error(`${name} does not consume ${source} (its sources: ${(logic.sources ?? []).join(', ')})`);
      const v = meta.v ?? latestVersion(type);
      if (v === undefined) throw new Error(`event type ${type} has no registered schema`);
      const problem = dataProblem(type, v, data);
      if (problem) throw new Error(`test input ${type} from ${source} is invalid: ${problem}`);
      const seq = (seqs.get(source) ?? 0) + 1;
      seqs.set(source, seq);
      const id = meta.id ?? newEventId();
      // data checked against its schema above: an event of the event map
      const ev = {
        id,
        type,
        v,
        source,
        seq,
        at: meta.at ?? clock.now(),
        time: new Date().toISOString(),
        ...(meta.txn !== undefined ? { txn: meta.txn } : {}),
        corr: meta.corr ?? id,
        ...(meta.cause !== undefined ? { cause: meta.cause } : {}),
        data,
      } as DomainEvent;
      const key = logic.keyOf?.(ev) ?? ev.txn ?? `source:${source}`;
      await executor.run(key, () => store.tx((tx) => logic.onEvent?.(ev, tx) ?? Promise.resolve()));
      return ev;
    },
    command,
    async ok<T>(cmdName: string, args?: unknown, meta?: CommandMeta) {
      const r = await command(cmdName, args, meta);
      if (!r.ok) throw new Error(`${name}/${cmdName} refused: ${r.error}`);
      return r.result as T;
    },
    settle,
    advance: (ms) => clock.advance(ms, settle),
    async waitForEvent<D>(type: string, n = 1, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const hit = emitted.filter((e) => e.type === type)[n - 1];
        if (hit) return hit as Envelope<D>;
        const left = end - Date.now();
        if (left <= 0)
          throw new Error(`${name} emitted no ${type} #${n} within ${timeoutMs} ms (emitted: ${emitted.map((e) => e.type).join(', ') || 'nothing'})`);
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          timer = setTimeout(resolve, left);
          emitWaiters.push(resolve);
        });
        clearTimeout(timer);
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await logic.stop?.();
      await settle();
      await store.close();
    },
  };
  if (opts.start !== false) await logic.start?.();
  return h;
}
