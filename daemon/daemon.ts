import { mkdirSync, writeFileSync, renameSync, rmSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { openBoardClock, type BoardClock } from './events/clock.js';
import './events/schemas/index.js';
import { Broker } from '../broker/broker.js';
import { Credentials } from '../broker/credentials.js';
import { HttpServer, type Health } from './http.js';
import { UI_ROOT } from './paths.js';
import { ServiceRuntime, type RuntimeHost } from './runtime.js';
import { serviceCatalog } from './services/index.js';
import { Notifier } from './notify.js';
import { deviceConfigs } from './devices.js';
import { SimLane } from '../drivers/sim/lane.js';
import { devicesHost } from './services/devices.js';
import { simService } from './services/sim.js';
import type { StoreCorruptError } from './store.js';

export const RUNTIME_FILE = 'runtime.json';

export interface DaemonOptions {
  config: Config;
  stateDir: string;
  log: Logger;
  /** Run only this service, against the broker of a daemon already running. */
  only?: string;
  notifier?: Notifier;
}

/** One part of the daemon, started in order and stopped in reverse (CONVENTIONS.md "Fastify plugins"). */
interface Part {
  name: string;
  /** A part whose failure leaves the lane useless (broker, HTTP) stops the start. */
  essential: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The daemon: stores, broker, HTTP, drivers, services, then READY; stop in
 * reverse. A service or device that fails is reported and the rest keeps going.
 */
export class Daemon {
  readonly metrics = new Metrics();
  readonly clock: BoardClock;
  readonly credentials: Credentials;
  broker: Broker | undefined;
  http: HttpServer | undefined;
  readonly services: ServiceRuntime[] = [];
  private readonly parts: Part[] = [];
  readonly sim: SimLane;
  private readonly started: Part[] = [];
  private readonly problems = new Map<string, string>();
  private phase: Health['status'] = 'starting';
  private readonly notifier: Notifier;
  private watchdog: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private lastStatus = '';

  constructor(private readonly opts: DaemonOptions) {
    mkdirSync(opts.stateDir, { recursive: true, mode: 0o750 });
    this.clock = openBoardClock(opts.stateDir);
    this.credentials = Credentials.load(opts.stateDir, opts.config.broker.credentials as Record<string, string>);
    this.notifier = opts.notifier ?? new Notifier(opts.log.child({ component: 'systemd' }));
    this.sim = new SimLane({ log: opts.log.child({ component: 'drivers/sim' }) });
    this.plan();
  }

  private get log(): Logger {
    return this.opts.log;
  }

  private host(): RuntimeHost {
    const { config, stateDir } = this.opts;
    const brokerUrl = (): string => {
      if (this.broker) return this.broker.url;
      // `--only`: the running daemon says where its broker is; else the configured address
      try {
        const rt = JSON.parse(readFileSync(join(stateDir, RUNTIME_FILE), 'utf8')) as { broker?: string };
        if (rt.broker) return rt.broker;
      } catch {
        // not running yet: fall back to config
      }
      return `mqtt://${config.broker.host === '0.0.0.0' ? '127.0.0.1' : config.broker.host}:${config.broker.port}`;
    };
    return {
      stateDir,
      config,
      log: this.log,
      clock: this.clock,
      metrics: this.metrics,
      broker: {
        get url() {
          return brokerUrl();
        },
        password: (role) => this.credentials.password(role),
      },
      onCorrupt: (err: StoreCorruptError) => this.problems.set(`store ${err.file}`, err.message),
    };
  }

  private plan(): void {
    const { config, only } = this.opts;
    if (!only) {
      this.parts.push({
        name: 'broker',
        essential: true,
        start: async () => {
          this.broker = new Broker({ config, stateDir: this.opts.stateDir, log: this.log, metrics: this.metrics, credentials: this.credentials, devices: this.deviceNames() });
          await this.broker.start();
        },
        stop: async () => this.broker?.stop(),
      });
      this.parts.push({
        name: 'http',
        essential: true,
        start: async () => {
          this.http = new HttpServer({ host: config.http.host, port: config.http.port, log: this.log, metrics: this.metrics, uiRoot: UI_ROOT, health: () => this.health() });
          this.broker?.attachWebSocket(this.http.server);
          await this.http.start();
        },
        stop: async () => this.http?.stop(),
      });
    }
    const host = this.host();
    if (!only) {
      // Drivers need the board: they run in the daemon, never under --only.
      for (const def of [devicesHost(this.sim), simService(this.sim)]) this.services.push(new ServiceRuntime(def, host));
    }
    for (const { def, enabledByDefault } of serviceCatalog) {
      const settings = config.services[def.name] as { enabled?: boolean } | undefined;
      const enabled = only ? def.name === only : (settings?.enabled ?? enabledByDefault);
      if (!enabled) continue;
      const runtime = new ServiceRuntime(def, host);
      this.services.push(runtime);
    }
    // Two phases: every consumer is subscribed before any producer publishes.
    this.parts.push({
      name: 'services',
      essential: Boolean(only),
      start: async () => {
        for (const phase of ['prepare', 'run'] as const) {
          for (const runtime of this.services) {
            try {
              await runtime[phase]();
            } catch (err) {
              if (only) throw err;
              this.problems.set(`service ${runtime.name}`, (err as Error).message);
              this.log.error({ service: runtime.name, err: (err as Error).message }, `service ${runtime.name} failed to start; the lane runs without it`);
            }
          }
        }
      },
      stop: async () => {
        for (const runtime of [...this.services].reverse()) {
          try {
            await runtime.stop();
          } catch (err) {
            this.log.error({ service: runtime.name, err: (err as Error).message }, `service ${runtime.name} did not stop cleanly`);
          }
        }
      },
    });
    if (only && this.services.length === 0) {
      throw new Error(`--only ${only}: no such service (known: ${serviceCatalog.map((s) => s.def.name).join(', ')})`);
    }
  }

  /** Device names from config (the driver role publishes only as these). */
  deviceNames(): string[] {
    return Object.keys(deviceConfigs(this.opts.config));
  }

  async start(): Promise<void> {
    const t0 = process.hrtime.bigint();
    for (const part of this.parts) {
      try {
        await part.start();
        this.started.push(part);
      } catch (err) {
        const message = (err as Error).message;
        if (part.essential) {
          this.log.fatal({ part: part.name, err: message }, `${part.name} failed to start: ${message}`);
          this.phase = 'failed';
          await this.stop();
          throw err;
        }
        this.problems.set(part.name, message);
        this.log.error({ part: part.name, err: message }, `${part.name} failed to start; the lane runs without it: ${message}`);
        this.started.push(part);
      }
    }
    this.phase = this.problems.size ? 'degraded' : 'ready';
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    this.log.info({ ms: Math.round(ms), broker: this.broker?.url, http: this.http ? `http://${this.opts.config.http.host}:${this.http.port}` : undefined, stateDir: this.opts.stateDir }, `laned ${this.phase} in ${Math.round(ms)} ms`);
    if (!this.opts.only) this.writeRuntimeFile();
    await this.notifier.ready(this.statusLine());
    this.startWatchdog();
    this.statusTimer = setInterval(() => {
      const line = this.statusLine();
      if (line !== this.lastStatus) void this.notifier.status(line);
    }, 2000).unref();
  }

  /** `<stateDir>/runtime.json`: where lanectl finds this daemon's broker and HTTP server. */
  private writeRuntimeFile(): void {
    const file = join(this.opts.stateDir, RUNTIME_FILE);
    const body = { pid: process.pid, broker: this.broker?.url, http: this.http ? `http://${this.opts.config.http.host}:${this.http.port}` : undefined, startedAt: new Date().toISOString() };
    writeFileSync(`${file}.tmp`, JSON.stringify(body), { mode: 0o640 });
    renameSync(`${file}.tmp`, file);
  }

  private startWatchdog(): void {
    const every = Notifier.watchdogIntervalMs();
    if (!every) return;
    let expected = Date.now() + every;
    this.watchdog = setInterval(() => {
      const lag = Date.now() - expected;
      expected = Date.now() + every;
      const failed = this.services.filter((s) => s.status().state === 'failed');
      if (lag < every && failed.length === 0) void this.notifier.watchdog();
      else this.log.warn({ lagMs: lag, failed: failed.map((s) => s.name) }, 'watchdog ping withheld: event loop lagging or a service failed');
    }, every);
  }

  statusLine(): string {
    const svc = this.services.map((s) => s.status());
    const running = svc.filter((s) => s.state === 'running').length;
    const backlog = svc.reduce((a, s) => a + s.outboxBacklog, 0);
    const dead = svc.reduce((a, s) => a + s.deadLetters, 0);
    const line = `${this.phase}: ${running}/${svc.length} services running, backlog ${backlog}, ${dead} dead letters${this.problems.size ? `, ${this.problems.size} problems` : ''}`;
    this.lastStatus = line;
    return line;
  }

  health(): Health {
    const svc = this.services.map((s) => s.status());
    const reasons = [...this.problems.entries()].map(([k, v]) => `${k}: ${v}`);
    for (const s of svc) if (s.state === 'failed') reasons.push(`service ${s.name} failed: ${s.detail ?? ''}`);
    const status = this.phase === 'ready' && reasons.length ? 'degraded' : this.phase;
    return { status, reasons, services: svc, broker: this.broker?.stats(), epoch: this.clock.epoch };
  }

  async stop(): Promise<void> {
    if (this.phase !== 'failed') this.phase = 'stopping';
    clearInterval(this.watchdog);
    clearInterval(this.statusTimer);
    await this.notifier.stopping('stopping: flushing outboxes');
    for (const part of [...this.started].reverse()) {
      try {
        await part.stop();
      } catch (err) {
        this.log.error({ part: part.name, err: (err as Error).message }, `${part.name} did not stop cleanly`);
      }
    }
    this.started.length = 0;
    this.sim.close();
    if (!this.opts.only) rmSync(join(this.opts.stateDir, RUNTIME_FILE), { force: true });
  }
}
