/**
 * The simulated lane: one object the daemon creates, through which every
 * `simulate: true` device gets its twin (the fake lowest layer of its bus)
 * and through which demos, tests, `lanectl sim ...` and `cmd/sim/*` drive
 * them. Each device kind builds its own twin (drivers/kind.ts); each action
 * feeds only that lowest layer: bytes into the mock serial port in the
 * device's own framing, grams into the fake NAU7802, key events into the fake
 * evdev node, levels into the fake sysfs value files, so the real driver code runs.
 */
import { silentLogger, type Logger } from '../log.js';
import type { DriverEnv } from '../env.js';
import type { KindModule, SimAction, Twin } from '../kind.js';
import { deviceKind, deviceKinds, type DeviceConfig } from '../registry.js';
import { realTimers, type Timers } from '../timers.js';
import { BOARDS, FakeSysfs } from './fake-sysfs.js';
import { SimSerialBus } from './serial.js';

type KindTwin = KindModule<unknown>['twin'];

export type { SimAction } from '../kind.js';

const ACTIONS: readonly SimAction[] = ['scan', 'weight', 'produce', 'unplug', 'replug', 'input'];

/** The kinds whose twins do `action`, in registry order. */
function kindsFor(action: SimAction): string[] {
  return [...deviceKinds()].filter(([, k]) => k.actions.includes(action)).map(([name]) => name);
}

export interface SimLaneOptions {
  timers?: Timers;
  log?: Logger;
  /** gpiochip layout of the simulated board: pi4-6.6 (default), pi4-6.1, pi5-6.6. */
  board?: keyof typeof BOARDS;
  /** Seed of the simulated load-cell noise. */
  seed?: number;
  /** How often simulated GPIO inputs look at their value file. */
  gpioPollMs?: number;
}

export class SimLane {
  readonly timers: Timers;
  private serialBus?: SimSerialBus;
  private sysfsTree?: FakeSysfs;
  private readonly twins = new Map<string, { kind: string; twin: Twin }>();
  private readonly declared = new Map<string, { kind: string; simulated: boolean }>();
  private readonly log: Logger;

  constructor(private readonly opts: SimLaneOptions = {}) {
    this.timers = opts.timers ?? realTimers;
    this.log = opts.log ?? silentLogger();
  }

  /** The mock serial ports (created on first use). */
  get serial(): SimSerialBus {
    this.serialBus ??= new SimSerialBus();
    return this.serialBus;
  }

  /** The fake /sys/class/gpio (created on first use, in a temp folder). */
  get sysfs(): FakeSysfs {
    this.sysfsTree ??= new FakeSysfs({ chips: BOARDS[this.opts.board ?? 'pi4-6.6'] });
    return this.sysfsTree;
  }

  /** Tell the lane about a device that is not simulated, so sim commands name it correctly. */
  declare(name: string, kind: string, simulated: boolean): void {
    this.declared.set(name, { kind, simulated });
  }

  /** Simulated devices and what can be done to them. */
  devices(): { name: string; kind: string; actions: SimAction[] }[] {
    return [...this.twins.entries()].map(([name, t]) => ({
      name,
      kind: t.kind,
      actions: ACTIONS.filter((a) => this.can(t.kind, a)),
    }));
  }

  /** The first simulated device an action applies to (for `lanectl sim scan <code>` without a device). */
  defaultDevice(action: SimAction): string | undefined {
    return [...this.twins.entries()].find(([, t]) => this.can(t.kind, action))?.[0];
  }

  /**
   * Build the twin of a simulated device (its kind says how) and the DriverEnv its
   * driver runs on. Called by the device manager once per `simulate: true` device.
   */
  async attach(name: string, config: DeviceConfig, stateDir: string): Promise<DriverEnv> {
    this.declared.set(name, { kind: config.kind, simulated: true });
    const kind = deviceKind(config.kind);
    if (!kind) throw new Error(`sim: ${name}: no device kind ${config.kind}`);
    // listed in the order of the config, whichever twin is ready first
    this.twins.set(name, { kind: config.kind, twin: {} });
    let built: Awaited<ReturnType<KindTwin>>;
    try {
      built = await (
        await kind.load()
      ).twin(config, {
        name,
        stateDir,
        timers: this.timers,
        log: this.log,
        seed: this.opts.seed ?? 1,
        gpioPollMs: this.opts.gpioPollMs ?? 20,
        serial: () => this.serial,
        sysfs: () => this.sysfs,
      });
    } catch (err) {
      this.twins.delete(name);
      throw err;
    }
    this.twins.set(name, { kind: config.kind, twin: built.twin });
    return built.env;
  }

  private can(kind: string, action: SimAction): boolean {
    return deviceKind(kind)?.actions.includes(action) ?? false;
  }

  private twin(device: string, action: SimAction): { kind: string; twin: Twin } {
    const t = this.twins.get(device);
    if (!t) {
      const d = this.declared.get(device);
      if (d && !d.simulated) throw new Error(`sim: device "${device}" is a real ${d.kind} (simulate: false); sim commands only drive simulated devices`);
      const names = [...this.twins.keys()];
      throw Object.assign(new Error(`sim: no simulated device "${device}"${names.length ? ` (simulated: ${names.join(', ')})` : ''}`), { notFound: true });
    }
    if (!this.can(t.kind, action)) {
      const fit = this.devices()
        .filter((d) => d.actions.includes(action))
        .map((d) => d.name);
      throw new Error(`sim: "${device}" is a ${t.kind}; ${action} works on ${kindsFor(action).join(', ')}${fit.length ? ` (here: ${fit.join(', ')})` : ''}`);
    }
    return t;
  }

  private port(device: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      throw new Error(`sim: ${device}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** A code read at a scanner window (\xNN escapes and {GS} allowed). */
  scan(device: string, code: string): void {
    if (typeof code !== 'string' || code.length === 0 || code.length > 512) throw new Error(`sim: ${device}: the code must be 1 to 512 characters`);
    const { twin } = this.twin(device, 'scan');
    this.port(device, () => twin.scan?.(code));
  }

  /** Total load on the bagging scale, grams (it settles with a little bounce). */
  weight(device: string, grams: number): void {
    if (!Number.isFinite(grams)) throw new Error(`sim: ${device}: grams must be a number, got ${grams}`);
    this.twin(device, 'weight').twin.weight?.(grams);
  }

  /** Produce on a scale platter, grams. */
  produce(device: string, grams: number): void {
    if (!Number.isFinite(grams)) throw new Error(`sim: ${device}: grams must be a number, got ${grams}`);
    this.twin(device, 'produce').twin.produce?.(grams);
  }

  unplug(device: string): void {
    this.twin(device, 'unplug').twin.unplug?.();
  }

  replug(device: string): void {
    this.twin(device, 'replug').twin.replug?.();
  }

  /** Switch a simulated input on or off (the circuit drives its pin; active-low handled). */
  input(device: string, on: boolean): void {
    const { twin } = this.twin(device, 'input');
    this.port(device, () => twin.input?.(on));
  }

  /** A simulated lamp's pin as the driver set it: lit or not. */
  output(device: string): { level: 0 | 1; lit: boolean } {
    const t = this.twins.get(device)?.twin;
    if (!t?.output) throw new Error(`sim: no simulated light "${device}"`);
    return t.output();
  }

  /** Stop scripts and remove the temp sysfs tree. */
  close(): void {
    for (const { twin } of this.twins.values()) twin.close?.();
    this.sysfsTree?.close();
    this.sysfsTree = undefined;
  }
}
