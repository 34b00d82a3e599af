import type { Duplex } from 'node:stream';
import type { Static, TSchema } from '@sinclair/typebox';
import type { CommandContract, CommandContracts } from '../events/command.js';
import type { Config, Role } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { Store, Tx, StoreCorruptError } from '../store/store.js';
import type { BoardClock, Timers } from '../events/clock.js';
import type { Envelope } from '../events/envelope.js';
import type { EmitMeta } from '../events/outbox.js';
import type { DomainEvent, EventMap, EventType } from '../events/schemas/index.js';
import type { DocName } from '../../broker/topics.js';
import type { DocMap } from '../services/docs.js';

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

/** Who sent a command. `from`: the sender's MQTT client id, read from its reply topic (`reply/<clientId>/…`, which the broker's ACL lets only that client read). */
export interface CommandMeta {
  id: string;
  by?: string;
  from?: string;
}

export interface CommandSpec {
  /** TypeBox schema of `args`; checked before `handle` runs. */
  args?: TSchema;
  /** Serialization key (e.g. the transaction); default: one queue per service. */
  key?(args: unknown): string;
  handle(args: unknown, tx: Tx, meta: CommandMeta): Promise<unknown>;
}

/** What a handler of contract `C` returns: its `result` (nothing for a result that is undefined). */
export type CommandResult<C extends CommandContract> = Static<C['result']> extends undefined ? void : Static<C['result']>;

/**
 * The handler of one command, typed by its contract: `args` as the contract's schema
 * admits them (checked before it runs), the result as the contract declares it.
 * Function-typed properties, so that the compiler checks the parameters strictly.
 */
export interface CommandHandler<C extends CommandContract> {
  /** Serialization key (e.g. the transaction); default: one queue per service. */
  key?: (args: Static<C['args']>) => string;
  handle: (args: Static<C['args']>, tx: Tx, meta: CommandMeta) => Promise<CommandResult<C>>;
}

/** One handler for each command of a service's contracts, and no other. */
export type CommandHandlers<C extends CommandContracts> = { [K in keyof C]: CommandHandler<C[K]> };

/** What a service is given (the code conventions: one typed context). */
export interface ServiceContext<C = Record<string, unknown>> {
  name: string;
  settings: C;
  config: Config;
  log: Logger;
  clock: BoardClock;
  /** Timers for the service's deadlines and retries (never the global setTimeout: a test's clock drives these). */
  timers: Timers;
  metrics: Metrics;
  stateDir: string;
  store: Store;
  /** Report another SQLite file of this service found corrupt and moved aside (Store.open's onCorrupt): the lane runs degraded. */
  onCorrupt(err: StoreCorruptError): void;
  /** Write an event of this service into the open transaction (outbox). */
  /** `data` is checked against the type's schema by the compiler too (the event map). */
  emit<T extends EventType>(tx: Tx, type: T, data: EventMap[T], meta?: EmitMeta): Promise<DomainEvent<T>>;
  /** Publish for another source too (the devices host: one source per device); call outside a transaction. */
  addSource(source: string): Promise<void>;
  /** Write an event of a source added with addSource into the open transaction. */
  /** For events whose type is data (a driver's, from drivers/): `type` and `data` are checked against the schemas at run time. */
  emitAs(source: string, tx: Tx, type: string, data: unknown, meta?: EmitMeta): Promise<Envelope>;
  tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Run work in the serial queue of `key` (a transaction), e.g. from a timer. */
  runKeyed<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Retained `doc/<name>` for readers (QoS 1). A document over `events.maxPayloadBytes`
   * is not sent (the broker would refuse it): it is logged and counted.
   */
  publishDoc<N extends DocName>(name: N, doc: DocMap[N]): void;
  /** Remove the retained `doc/<name>` (a zero-byte retained message [MQTT-3.3.1-10]). */
  clearDoc(name: DocName): void;
  /** Fire a command at another service (QoS 1); `by` is journaled by the target. */
  sendCommand(target: string, command: string, args?: unknown, by?: string): void;
  /**
   * Send a command and wait for its reply (on `reply/laned-<name>/<id>`): the result, or a
   * CommandError with the target's message when it refused, or one naming the timeout.
   */
  request(target: string, command: string, args?: unknown, timeoutMs?: number): Promise<unknown>;
}

/** The behaviour of one service; everything optional but a name. */
export interface ServiceLogic {
  /**
   * Sources whose whole event stream this service consumes (`evt/<source>/+`):
   * whole streams, so that a gap in a source's `seq` means a lost event.
   */
  sources?: string[];
  migrate?(store: Store): Promise<void>;
  /** Every event of `sources`, validated: `switch (ev.type)` narrows `ev.data`. */
  onEvent?(ev: DomainEvent, tx: Tx): Promise<void>;
  commands?: Record<string, CommandSpec>;
  keyOf?(ev: DomainEvent): string;
  start?(): Promise<void>;
  stop?(): Promise<void>;
  status?(): Record<string, unknown>;
  /**
   * Further topic filters this service reads (within its role's ACL), besides its
   * commands; their messages go to onMessage, the PUBACK after it resolves.
   */
  subscriptions?: string[];
  onMessage?(topic: string, payload: Buffer): Promise<void>;
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
