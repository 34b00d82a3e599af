/**
 * Owns the lane's devices: validates each config, builds each driver on real
 * or simulated lowest layers, starts them independently (a device that fails
 * is reported failed and the rest keep running; start() never throws), and
 * reports every state change once. the design "Devices"; the code conventions
 * "One contract per kind of part", "Logs".
 */
import type { Logger } from './log.js';
import type { DeviceStatus, Driver, DriverContext } from './driver.js';
import type { DriverEnv } from './env.js';
import { realEnv } from './env.js';
import { CommandError, isCommandable, type CommandSpec } from './command.js';
import { deviceKind, validateDeviceConfig, type DeviceConfig } from './registry.js';
import type { SimLane } from './sim/lane.js';
import { realTimers, type TimerHandle, type Timers } from './timers.js';

export type Emit = (type: string, data: unknown, opts?: { txn?: string; cause?: string }) => Promise<void>;

export interface DeviceManagerOptions {
  /** Device name -> raw config (from the daemon's config, or defaultSimulatedDevices()). */
  devices: Record<string, unknown>;
  log: Logger;
  /** The outbox publisher of one device (source = its name). */
  emitFor(name: string): Emit;
  /**
   * All statuses, whenever one changes. `changed` is the device whose state
   * or detail changed (publish its DeviceStatus event); undefined when only
   * last readings moved (refresh doc/devices; at most once a second).
   */
  onStatus(statuses: DeviceStatus[], changed?: DeviceStatus): void;
  sim: SimLane;
  stateDir: string;
  timers?: Timers;
  /** Lowest layers for real devices (default: serialport, i2c-bus, onoff, /dev/input). */
  realEnv?: (name: string) => DriverEnv;
  /** A driver's start() taking longer is reported failed (it may still come up later). */
  startTimeoutMs?: number;
}

interface Slot {
  name: string;
  kind: string;
  simulated: boolean;
  config?: DeviceConfig;
  driver?: Driver;
  status: DeviceStatus;
  /** State + detail last reported, to log once per change. */
  reported?: string;
  since: number;
}

export class DeviceManager {
  private readonly slots = new Map<string, Slot>();
  private readonly timers: Timers;
  private readingsTimer?: TimerHandle;
  private started = false;

  constructor(private readonly o: DeviceManagerOptions) {
    this.timers = o.timers ?? realTimers;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const entries = Object.entries(this.o.devices ?? {});
    for (const [name, raw] of entries) this.prepare(name, raw);
    await Promise.all([...this.slots.values()].map((s) => this.startOne(s)));
    this.o.log.info({ devices: this.status().map((s) => `${s.name}:${s.state}`) }, `devices started: ${this.slots.size}`);
  }

  async stop(): Promise<void> {
    this.timers.clearTimeout(this.readingsTimer);
    this.readingsTimer = undefined;
    const slots = [...this.slots.values()].reverse();
    await Promise.all(
      slots.map(async (s) => {
        try {
          await s.driver?.stop();
        } catch (err) {
          this.o.log.error({ err, device: s.name }, `device ${s.name} did not stop cleanly: ${(err as Error).message}`);
        }
      }),
    );
    this.started = false;
  }

  status(): DeviceStatus[] {
    return [...this.slots.values()].map((s) => ({ ...s.status }));
  }

  driver(name: string): Driver | undefined {
    return this.slots.get(name)?.driver;
  }

  /** Config problems found at start: device name -> problem. */
  problems(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const s of this.slots.values()) if (!s.driver && s.status.state === 'failed' && s.status.detail) out[s.name] = s.status.detail;
    return out;
  }

  /** Technician commands a device offers. */
  commands(name: string): CommandSpec[] {
    const d = this.slots.get(name)?.driver;
    return d && isCommandable(d) ? d.commands() : [];
  }

  /** Run a technician command; CommandError explains a refusal. */
  async command(name: string, command: string, args: Record<string, unknown> = {}): Promise<unknown> {
    const slot = this.slots.get(name);
    if (!slot) throw new CommandError(`no device "${name}" (devices: ${[...this.slots.keys()].join(', ')})`, 'not-found');
    const d = slot.driver;
    if (!d) throw new CommandError(`device ${name} is not running: ${slot.status.detail ?? slot.status.state}`);
    if (!isCommandable(d)) throw new CommandError(`device ${name} (${slot.kind}) takes no commands`);
    return d.command(command, args);
  }

  private prepare(name: string, raw: unknown): void {
    const rawKind = (raw as { kind?: unknown } | null)?.kind;
    const simulated = (raw as { simulate?: unknown } | null)?.simulate === true;
    const slot: Slot = {
      name,
      kind: typeof rawKind === 'string' ? rawKind : 'unknown',
      simulated,
      status: { name, kind: typeof rawKind === 'string' ? rawKind : 'unknown', state: 'starting', simulated, since: new Date().toISOString() },
      since: this.timers.now(),
    };
    this.slots.set(name, slot);
    const v = validateDeviceConfig(name, raw);
    if (!v.ok) {
      this.o.sim.declare(name, slot.kind, simulated);
      this.report(slot, { ...slot.status, state: 'failed', detail: `config: ${v.problem}` });
      return;
    }
    if (!v.config.simulate) this.o.sim.declare(name, v.config.kind, false);
    slot.config = v.config;
  }

  private async startOne(slot: Slot): Promise<void> {
    const config = slot.config;
    if (!config) return;
    const log = this.o.log.child({ component: `drivers/${config.kind}`, device: slot.name });
    try {
      const env = config.simulate
        ? await this.o.sim.attach(slot.name, config, this.o.stateDir)
        : (this.o.realEnv ?? ((n: string) => this.defaultRealEnv(n)))(slot.name);
      // validated: the kind is registered; its driver is imported now
      const kind = await deviceKind(config.kind)!.load();
      const emit = this.o.emitFor(slot.name);
      const ctx: DriverContext<unknown> = {
        name: slot.name,
        config,
        log,
        emit,
        statusChanged: (s) => this.report(slot, s),
      };
      slot.driver = kind.create(ctx, env);
      await this.withTimeout(slot.driver.start(), this.o.startTimeoutMs ?? 10_000, `start did not finish within ${this.o.startTimeoutMs ?? 10_000} ms`);
    } catch (err) {
      log.error({ err }, `device ${slot.name} failed to start: ${(err as Error).message}`);
      this.report(slot, { ...slot.status, state: 'failed', detail: `start: ${(err as Error).message}` });
    }
  }

  private defaultRealEnv(_name: string): DriverEnv {
    return realEnv({ stateDir: this.o.stateDir, timers: this.timers });
  }

  private withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = this.timers.setTimeout(() => reject(new Error(message)), ms);
      p.then(
        (v) => {
          this.timers.clearTimeout(timer);
          resolve(v);
        },
        (e) => {
          this.timers.clearTimeout(timer);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  /** A driver reported: log and publish a new state once; batch reading-only updates. */
  private report(slot: Slot, s: DeviceStatus): void {
    slot.status = { ...s };
    const key = s.state;
    if (key === slot.reported) {
      this.scheduleReadings();
      return;
    }
    const previous = slot.reported;
    const wasFor = Math.round((this.timers.now() - slot.since) / 1000);
    slot.reported = key;
    slot.since = this.timers.now();
    const log = this.o.log;
    const where = `device ${slot.name} (${slot.kind}${slot.simulated ? ', simulated' : ''})`;
    if (s.state === 'disconnected' || s.state === 'degraded' || s.state === 'failed') {
      log.warn({ device: slot.name, state: s.state, detail: s.detail }, `${where} ${s.state}: ${s.detail ?? ''}`.trim());
    } else if (s.state === 'ok' && previous && previous !== 'starting') {
      log.info({ device: slot.name, state: s.state, was: previous }, `${where} back to ok after ${wasFor} s ${previous}`);
    } else {
      log.debug({ device: slot.name, state: s.state }, `${where} ${s.state}`);
    }
    this.notify({ ...s });
  }

  /** The daemon's callback must not break a driver's byte handling. */
  private notify(changed?: DeviceStatus): void {
    try {
      this.o.onStatus(this.status(), changed);
    } catch (err) {
      this.o.log.error({ err }, `device status listener failed: ${(err as Error).message}`);
    }
  }

  private scheduleReadings(): void {
    if (this.readingsTimer) return;
    this.readingsTimer = this.timers.setTimeout(() => {
      this.readingsTimer = undefined;
      this.notify();
    }, 1000);
  }
}
