import { writeFileSync, renameSync, rmSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Config } from './core/config.js';
import type { Logger } from './core/log.js';
import { Metrics } from './core/metrics.js';
import { openBoardClock, type OpenedBoardClock } from './events/clock.js';
import './events/schemas/index.js';
import { Broker } from '../broker/broker.js';
import { Credentials } from '../broker/credentials.js';
import { HttpServer, type Health } from './http/http.js';
import { UI_ROOT } from './core/paths.js';
import { uiHttp } from './http/ui-session.js';
import { ServiceRuntime, type RuntimeHost, type ServiceStatus } from './runtime/runtime.js';
import { serviceCatalog } from './services/index.js';
import { Notifier } from './lifecycle/notify.js';
import { deviceConfigs } from './runtime/devices.js';
import { SimLane } from '../drivers/sim/lane.js';
import { devicesHost } from './services/devices/service.js';
import { simService } from './services/sim/service.js';
import { isCorruption, quarantine, type StoreCorruptError } from './store/store.js';
import { UnsafeShutdownCounter } from './lifecycle/unsafe-shutdown.js';
import { Watchdog } from './lifecycle/watchdog.js';
import { statusLine, deviceStates } from './lifecycle/status-line.js';
import { testHooks, type TestHooks } from './core/test-hooks.js';
import { PACKAGE_VERSION } from './core/version.js';
import { retainedHeads } from './runtime/source-heads.js';
import { HealthCheck } from './lifecycle/health-check.js';
import { highestEpochSeen } from './lifecycle/epoch-recovery.js';
import { checkStateDir, inStateDir } from './lifecycle/state-dir.js';
import { setUpdaterHost } from './updater/switcher.js';
import { setUplinkHost } from './services/uplink/service.js';
import { UPLINK_SENDS } from './services/uplink/contract.js';
import { RUNTIME_FILE } from './core/paths.js';

/** Service states that are started but not doing their work (daemon/runtime/runtime.ts ServiceState). */
const IMPAIRED = new Set(['disconnected', 'write-failing', 'stalled']);

/** Without one of these running the lane cannot sell: it reads `failed`, not `degraded`. */
const CHECKOUT_NEEDS = new Set(['devices', 'catalog', 'basket', 'attendant', 'payment']);

export interface DaemonOptions {
  config: Config;
  stateDir: string;
  log: Logger;
  /** Run only this service, against the broker of a daemon already running. */
  only?: string;
  notifier?: Notifier;
  /** The config file it was read from, for `lanectl diag` (runtime.json). */
  configFile?: string;
}

/** One part of the daemon, started in order and stopped in reverse (the code conventions "Fastify plugins"). */
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
  readonly clock: OpenedBoardClock;
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
  private watchdog: Watchdog | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private lastStatus = '';
  private readonly unsafe: UnsafeShutdownCounter;
  private hooks: TestHooks | undefined;
  private healthCheck: HealthCheck | undefined;

  constructor(private readonly opts: DaemonOptions) {
    checkStateDir(opts.stateDir);
    this.clock = inStateDir(opts.stateDir, 'board-epoch.json', () => openBoardClock(opts.stateDir));
    this.credentials = inStateDir(opts.stateDir, 'credentials.json', () =>
      Credentials.load(opts.stateDir, opts.config.broker.credentials as Record<string, string>),
    );
    this.notifier = opts.notifier ?? new Notifier(opts.log.child({ component: 'systemd' }));
    this.sim = new SimLane({ log: opts.log.child({ component: 'drivers/sim' }) });
    this.unsafe = new UnsafeShutdownCounter(opts.stateDir);
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
        password: (role, clientId) => this.credentials.password(role, clientId),
        // The broker of this process (not `--only`): in memory, no loopback socket.
        ...(this.opts.only ? {} : { connect: (clientId: string) => this.connectInProcess(clientId) }),
      },
      onCorrupt: (err: StoreCorruptError) => {
        this.problems.set(`store ${err.file}`, err.message);
        this.metrics.storeCorrupt.inc({ file: err.file });
      },
    };
  }

  /** The in-process connections of the daemon's own clients, by clientId (the test hook cuts one). */
  private readonly links = new Map<string, Duplex>();
  private readonly cut = new Set<string>();

  private connectInProcess(clientId: string): Duplex {
    const link = this.broker!.connectInProcess();
    if (this.cut.has(clientId)) process.nextTick(() => link.destroy());
    else this.links.set(clientId, link);
    return link;
  }

  /** Test hook (LANED_TEST_CUT): cut a service's broker connection and keep it down, or let it back. */
  private toggleCut(service: string): void {
    const clientId = `laned-${service}`;
    if (this.cut.delete(clientId)) return void this.log.warn({ clientId }, `test hook: ${clientId} may connect again`);
    this.cut.add(clientId);
    this.links.get(clientId)?.destroy();
    this.log.warn({ clientId }, `test hook: broker connection of ${clientId} cut`);
  }

  private plan(): void {
    const { config, only } = this.opts;
    if (!only) {
      this.parts.push({
        name: 'broker',
        essential: true,
        start: async () => {
          const make = () =>
            new Broker({
              config,
              stateDir: this.opts.stateDir,
              log: this.log,
              metrics: this.metrics,
              credentials: this.credentials,
              devices: this.deviceNames(),
              uiCommands: Object.fromEntries(serviceCatalog.map(({ def }) => [def.name, def.ui ?? []])),
              uplinkCommands: UPLINK_SENDS,
            });
          this.broker = make();
          try {
            await this.broker.start();
          } catch (err) {
            if (!isCorruption(err)) throw err;
            // A damaged broker.db loses stored sessions, not events (the outboxes hold those): move it aside, start empty.
            const file = join(this.opts.stateDir, 'broker.db');
            const movedTo = quarantine(file);
            const message = `database ${file} is corrupt (${(err as Error).message.slice(0, 200)}); moved aside to ${movedTo} and started without stored sessions; keep that file for support (lanectl diag)`;
            this.log.error({ file, movedTo }, message);
            this.problems.set(`store ${file}`, message);
            this.metrics.storeCorrupt.inc({ file });
            await this.broker.stop().catch(() => undefined);
            this.broker = make();
            await this.broker.start();
          }
        },
        stop: async () => this.broker?.stop(),
      });
      this.parts.push({
        name: 'http',
        essential: true,
        start: async () => {
          this.http = new HttpServer({
            host: config.http.host,
            port: config.http.port,
            hostNames: config.http.hostNames,
            log: this.log,
            metrics: this.metrics,
            uiRoot: UI_ROOT,
            health: () => this.health(),
            ...uiHttp(this.credentials),
          });
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
      const enabled = only ? def.name === only : (settings?.enabled ?? (typeof enabledByDefault === 'function' ? enabledByDefault(config) : enabledByDefault));
      if (!enabled) continue;
      const runtime = new ServiceRuntime(def, host);
      this.services.push(runtime);
    }
    if (!only) {
      // The updater stops the whole lane for a switch (daemon/updater/switcher.ts): never under --only.
      setUpdaterHost({
        health: () => {
          const h = this.health();
          return { status: h.status, services: h.services as ServiceStatus[] };
        },
        handover: async (work, code) => {
          this.log.warn({ code }, 'update: stopping the lane for systemd to start it again');
          await this.stop();
          try {
            work();
          } catch (err) {
            this.log.error({ err: (err as Error).message }, `update: ${(err as Error).message}`);
            code = 1;
          }
          process.exit(code);
        },
      });
    }
    // The uplink's fleet state tells the store every service's outbox backlog in this process.
    setUplinkHost({ outboxBacklog: () => Object.fromEntries(this.services.map((s) => [s.name, s.status().outboxBacklog])) });
    // Two phases: every consumer is subscribed before any producer publishes.
    this.parts.push({
      name: 'services',
      essential: Boolean(only),
      start: async () => {
        if (this.hooks?.slowStartMs) await new Promise((r) => setTimeout(r, this.hooks?.slowStartMs));
        for (const phase of ['prepare', 'run'] as const) {
          if (phase === 'run') await this.continueLostSources();
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
        // Inputs first (the devices host, the simulator), so the services then drain
        // what was already read before they stop; the rest in reverse start order.
        const inputs = new Set(['devices', 'sim']);
        const order = [...this.services.filter((s) => inputs.has(s.name)), ...[...this.services].reverse().filter((s) => !inputs.has(s.name))];
        if (this.hooks?.slowStopMs) await new Promise((r) => setTimeout(r, this.hooks?.slowStopMs));
        for (const runtime of order) {
          try {
            await runtime.stop();
          } catch (err) {
            this.log.error({ service: runtime.name, err: (err as Error).message }, `service ${runtime.name} did not stop cleanly`);
          }
        }
      },
    });
    if (!only) {
      // Last in, first out: the screens (MQTT over WebSocket) take commands like the devices
      // give input, so a stop closes them before the services drain and flush.
      this.parts.push({
        name: 'screens',
        essential: false,
        start: async () => this.broker?.attachWebSocket(this.http!.server),
        stop: async () => {
          await this.broker?.closeWebSockets();
        },
      });
    }
    if (only && this.services.length === 0) {
      throw new Error(`--only ${only}: no such service (known: ${serviceCatalog.map((s) => s.def.name).join(', ')})`);
    }
  }

  /**
   * Services whose database was moved aside as corrupt restart their sources'
   * `seq` above the last one the broker acknowledged (retained svc/<source>/head);
   * without it consumers would drop the new events as already applied.
   */
  private async continueLostSources(): Promise<void> {
    const lost = this.services.filter((s) => s.storeReset && s.status().state !== 'failed');
    if (lost.length === 0 || !this.broker) return;
    const sources = lost.flatMap((s) => s.sources());
    let heads = new Map<string, number>();
    try {
      heads = await retainedHeads(this.broker.url, (clientId) => this.credentials.password('service', clientId), sources);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, `cannot read the sources' last seq from the broker: ${(err as Error).message}`);
    }
    for (const s of lost) {
      for (const source of s.sources()) {
        const head = heads.get(source);
        if (head === undefined) {
          this.log.warn({ source }, `source ${source} lost its database and the broker has no head for it: its seq restarts at 1`);
          continue;
        }
        await s.continueAfter(source, head);
        this.log.warn({ source, after: head }, `source ${source} lost its database: seq continues after ${head}, the last the broker acknowledged`);
      }
    }
  }

  /** Device names from config (the driver role publishes only as these). */
  deviceNames(): string[] {
    return Object.keys(deviceConfigs(this.opts.config));
  }

  async start(): Promise<void> {
    const t0 = process.hrtime.bigint();
    this.hooks = testHooks(this.log, (service) => this.toggleCut(service));
    await this.checkStateFiles();
    if (!this.opts.only) {
      const unsafe = this.unsafe.begin({ pid: process.pid, epoch: this.clock.epoch });
      this.metrics.unsafeShutdowns.set(unsafe.count);
      if (unsafe.thisStart) {
        this.log.warn(unsafe, `the previous run did not stop gracefully (power cut, kill or watchdog); ${unsafe.count} unsafe shutdowns so far`);
      }
      this.metrics.onCollect(() => this.refreshMetrics());
    }
    for (const part of this.parts) {
      try {
        await this.notifier.whileLong(`starting: ${part.name}`, () => part.start(), this.hooks?.extendEveryMs ? { everyMs: this.hooks.extendEveryMs } : {});
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
    if (!this.opts.only) await this.devicesSettled(15_000);
    this.phase = this.problems.size ? 'degraded' : 'ready';
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    this.log.info(
      {
        ms: Math.round(ms),
        broker: this.broker?.url,
        http: this.http ? `http://${this.opts.config.http.host}:${this.http.port}` : undefined,
        stateDir: this.opts.stateDir,
      },
      `laned ${this.phase} in ${Math.round(ms)} ms`,
    );
    if (!this.opts.only) this.writeRuntimeFile();
    const first = this.statusLine();
    this.lastStatus = first;
    await this.notifier.ready(first);
    this.startWatchdog();
    this.startHealthCheck();
    this.statusTimer = setInterval(() => {
      const line = this.statusLine();
      if (line === this.lastStatus) return;
      this.lastStatus = line;
      void this.notifier.status(line);
    }, 2000).unref();
  }

  /**
   * READY=1 waits until every configured device has left `starting` (ok, or
   * reported disconnected/failed), at most `maxMs`: a driver's start() returns
   * before a chip has delivered its first reading.
   */
  private async devicesSettled(maxMs: number): Promise<void> {
    const wanted = this.deviceNames().length;
    const until = Date.now() + maxMs;
    for (;;) {
      const host = this.services.find((s) => s.name === 'devices')?.status();
      if (!host || host.state !== 'running') return;
      const states = deviceStates([host]);
      if (states.length >= wanted && states.every((d) => d.state !== 'starting')) return;
      if (Date.now() > until) {
        const waiting = states.filter((d) => d.state === 'starting').map((d) => d.name);
        this.log.warn({ waiting }, `devices still starting after ${maxMs} ms: ${waiting.join(', ') || 'no report yet'}; READY anyway`);
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** `<stateDir>/runtime.json`: where lanectl finds this daemon's broker and HTTP server. */
  private writeRuntimeFile(): void {
    const file = join(this.opts.stateDir, RUNTIME_FILE);
    const body = {
      pid: process.pid,
      broker: this.broker?.url,
      http: this.http ? `http://${this.opts.config.http.host}:${this.http.port}` : undefined,
      startedAt: new Date().toISOString(),
      version: PACKAGE_VERSION,
      ...(this.opts.configFile ? { configFile: this.opts.configFile } : {}),
    };
    writeFileSync(`${file}.tmp`, JSON.stringify(body), { mode: 0o640 });
    renameSync(`${file}.tmp`, file);
  }

  /**
   * State files found damaged by the constructor: a board epoch recovered from
   * the highest epoch the stores have seen (board time must not run backwards),
   * credentials made anew. Both are reported (degraded) until the next start.
   */
  private async checkStateFiles(): Promise<void> {
    const damaged = this.clock.damaged;
    if (damaged) {
      const seen = await highestEpochSeen(this.opts.stateDir);
      const epoch = Math.max(this.clock.epoch, (seen?.epoch ?? 0) + 1);
      inStateDir(this.opts.stateDir, 'board-epoch.json', () => this.clock.recover(epoch));
      const message = `${damaged.file} was damaged (${damaged.reason}); moved aside to ${damaged.movedTo}; epoch recovered as ${epoch}, after the highest seen in the stores (${seen ? `${seen.epoch} in ${seen.where}` : 'none'})`;
      this.log.error({ file: damaged.file, movedTo: damaged.movedTo, epoch, seen }, message);
      this.problems.set(`state ${damaged.file}`, message);
    }
    const regen = this.credentials.regenerated;
    if (regen) {
      const who = regen.externalRoles.length
        ? `give the new password to every client outside laned that signs in as ${regen.externalRoles.join(', ')} (lanectl creds <role>)`
        : 'every role has a configured hash, so no client outside laned needs a new password';
      const message = `${regen.file} was damaged (${regen.reason}); moved aside to ${regen.movedTo} and new passwords generated; ${who}`;
      this.log.error({ file: regen.file, movedTo: regen.movedTo, roles: regen.externalRoles }, message);
      this.problems.set(`state ${regen.file}`, message);
    }
  }

  /** The periodic checks of daemon/lifecycle/health-check.ts, and the credentials file still being there. */
  private startHealthCheck(): void {
    const h = this.opts.config.health;
    this.healthCheck = new HealthCheck({
      stateDir: this.opts.stateDir,
      checkMs: h.checkMs,
      diskMinFreeMB: h.diskMinFreeMB,
      maxLagMs: h.maxLagMs,
      log: this.log.child({ component: 'health' }),
      metrics: this.metrics,
      probes: () => this.services.filter((s) => s.running).map((s) => ({ name: s.name, answers: (ms: number) => s.answers(ms) })),
      onTick: () => {
        this.checkCredentialsFile();
        for (const s of this.services) void s.retryWrite();
      },
    });
    this.healthCheck.start();
  }

  private checkCredentialsFile(): void {
    const key = `state ${this.credentials.file}`;
    try {
      if (!this.credentials.restoreIfMissing()) return;
      const message = `${this.credentials.file} was deleted while laned ran (at or before ${new Date().toISOString()}); written again with the passwords in use; find out who removed it`;
      this.log.error({ file: this.credentials.file }, message);
      this.problems.set(key, message);
    } catch (err) {
      const message = `${this.credentials.file} was deleted while laned ran and cannot be written again (${(err as Error).message}); lanectl and clients that read it fail until it is`;
      if (this.problems.get(key) !== message) this.log.error({ file: this.credentials.file }, message);
      this.problems.set(key, message);
    }
  }

  private startWatchdog(): void {
    const every = Notifier.watchdogIntervalMs();
    if (!every || !this.notifier.enabled) return;
    this.watchdog = new Watchdog({
      notifier: this.notifier,
      log: this.log.child({ component: 'systemd' }),
      metrics: this.metrics,
      everyMs: every,
      probes: () => this.services.filter((s) => s.running).map((s) => ({ name: `service ${s.name}`, answers: (ms: number) => s.answers(ms) })),
    });
    this.watchdog.start();
  }

  /**
   * Each service's status, `stalled` where the health check says it does not keep
   * up (event-loop lag, a store that does not answer in time).
   */
  private serviceStatuses(): ServiceStatus[] {
    return this.services.map((s) => {
      const st = s.status();
      const why = st.state === 'running' ? this.healthCheck?.stalledWhy(s.name) : undefined;
      return why ? { ...st, state: 'stalled', detail: why } : st;
    });
  }

  /** Problems now: the ones found at start, services not doing their work, the state disk, devices not ok. */
  private currentProblems(svc = this.serviceStatuses()): Map<string, string> {
    const all = new Map(this.problems);
    for (const s of svc) if (s.state === 'failed' && !all.has(`service ${s.name}`)) all.set(`service ${s.name}`, `failed: ${s.detail ?? ''}`);
    for (const s of svc) {
      if (IMPAIRED.has(s.state) && !all.has(`service ${s.name}`)) all.set(`service ${s.name}`, `${s.state}: ${s.detail ?? ''}`);
    }
    for (const [k, v] of this.healthCheck?.problems() ?? []) all.set(k, v);
    for (const d of deviceStates(svc)) if (d.state !== 'ok') all.set(`device ${d.name}`, d.state);
    for (const s of svc)
      if (s.ignoredAnnouncements) all.set(`service ${s.name} ignored`, `${Number(s.ignoredAnnouncements)} implausible heads or log restarts (see its log)`);
    return all;
  }

  /** The STATUS= line for `systemctl status` (daemon/lifecycle/status-line.ts). */
  statusLine(services = this.serviceStatuses(), problems = this.currentProblems(services)): string {
    return statusLine({ phase: this.laneStatus(services, problems), problems, services, unsafe: this.unsafe.get() });
  }

  /**
   * Once started: `failed` while a service the checkout cannot work without is
   * not running (the process stays up to say so; restarting would not help),
   * `degraded` while anything else is wrong, else `ready`.
   */
  private laneStatus(services: ServiceStatus[], problems: Map<string, string>): Health['status'] {
    if (this.phase !== 'ready' && this.phase !== 'degraded') return this.phase;
    if (!this.opts.only && services.some((s) => CHECKOUT_NEEDS.has(s.name) && s.state !== 'running')) return 'failed';
    return problems.size ? 'degraded' : 'ready';
  }

  health(): Health {
    const svc = this.serviceStatuses();
    const problems = this.currentProblems(svc);
    const reasons = [...problems.entries()].map(([k, v]) => `${k}: ${v}`);
    const status = this.laneStatus(svc, problems);
    return {
      status,
      reasons,
      services: svc,
      devices: deviceStates(svc),
      broker: this.broker?.stats(),
      epoch: this.clock.epoch,
      version: PACKAGE_VERSION,
      pid: process.pid,
      uptimeS: Math.round(process.uptime()),
      unsafeShutdowns: this.unsafe.get(),
      watchdog: this.watchdog?.state() ?? { enabled: false, pings: 0, withheld: 0 },
      ...(this.healthCheck ? { stateDisk: this.healthCheck.disk, eventLoopLagMs: this.healthCheck.lagMs } : {}),
      statusLine: this.statusLine(svc, problems),
    };
  }

  /** Copy what lives in the services into the gauges, before each /metrics scrape. */
  private readonly published = new Map<string, number>();
  private refreshMetrics(): void {
    const m = this.metrics;
    for (const s of this.services) {
      const st = s.status();
      m.outboxBacklog.set({ source: s.name }, st.outboxBacklog);
      m.deadLetters.set({ service: s.name }, st.deadLetters);
      for (const [source, n] of s.published()) {
        const before = this.published.get(source) ?? 0;
        if (n > before) m.eventsOut.inc({ source }, n - before);
        this.published.set(source, n);
      }
    }
    const h = this.health();
    m.health.reset();
    m.health.set({ status: h.status }, 1);
  }

  async stop(): Promise<void> {
    if (this.phase !== 'failed') this.phase = 'stopping';
    this.watchdog?.stop();
    this.healthCheck?.stop();
    clearInterval(this.statusTimer);
    await this.notifier.stopping('stopping: flushing outboxes');
    for (const part of [...this.started].reverse()) {
      try {
        await this.notifier.whileLong(`stopping: ${part.name}`, () => part.stop(), this.hooks?.extendEveryMs ? { everyMs: this.hooks.extendEveryMs } : {});
      } catch (err) {
        this.log.error({ part: part.name, err: (err as Error).message }, `${part.name} did not stop cleanly`);
      }
    }
    this.started.length = 0;
    this.sim.close();
    if (!this.opts.only) {
      rmSync(join(this.opts.stateDir, RUNTIME_FILE), { force: true });
      this.unsafe.end();
    }
  }
}
