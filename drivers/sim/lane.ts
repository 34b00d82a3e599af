/**
 * The simulated lane: one object the daemon creates, through which every
 * `simulate: true` device gets its twin (the fake lowest layer of its bus)
 * and through which demos, tests, `lanectl sim ...` and `cmd/sim/*` drive
 * them. Each action feeds only that lowest layer: bytes into the mock serial
 * port in the device's own framing, grams into the fake NAU7802, key events
 * into the fake evdev node, levels into the fake sysfs value files, so the
 * real driver code runs.
 */
import { silentLogger, type Logger } from '../log.js';
import type { DriverEnv } from '../env.js';
import type { DeviceConfig, DeviceKindName } from '../registry.js';
import { realTimers, type Timers } from '../timers.js';
import { resolveBcm } from '../gpio/resolve.js';
import type { GpioInputConfig } from '../gpio/input.js';
import type { GpioOutputConfig } from '../gpio/output.js';
import type { HidWedgeConfig } from '../hid/wedge.js';
import type { MagellanConfig } from '../serial/magellan.js';
import type { SerialScannerConfig } from '../serial/scanner.js';
import type { Toledo8217Config } from '../serial/toledo8217.js';
import { simEnv } from './env.js';
import { FakeI2cBus, FakeNau7802, fakeNau7802Bus } from './fake-i2c.js';
import { BOARDS, FakeSysfs } from './fake-sysfs.js';
import { HidTwin } from './hid-twin.js';
import { MagellanTwin } from './magellan-twin.js';
import { ScannerTwin } from './scanner-twin.js';
import { SimSerialBus } from './serial.js';
import { ToledoTwin } from './toledo-twin.js';

type Twin =
  | { kind: 'serial-scanner'; path: string; scanner: ScannerTwin }
  | { kind: 'magellan'; path: string; twin: MagellanTwin }
  | { kind: 'toledo8217'; path: string; twin: ToledoTwin }
  | { kind: 'nau7802'; bus: FakeI2cBus; chip: FakeNau7802 }
  | { kind: 'gpio-input'; sysfs: number; activeLow: boolean }
  | { kind: 'gpio-output'; sysfs: number; activeLow: boolean }
  | { kind: 'hid-wedge'; twin: HidTwin };

export type SimAction = 'scan' | 'weight' | 'produce' | 'unplug' | 'replug' | 'input';

/** Which kinds each action drives. */
export const ACTION_KINDS: Record<SimAction, DeviceKindName[]> = {
  scan: ['serial-scanner', 'magellan', 'hid-wedge'],
  weight: ['nau7802'],
  produce: ['magellan', 'toledo8217'],
  unplug: ['serial-scanner', 'magellan', 'toledo8217', 'nau7802', 'hid-wedge'],
  replug: ['serial-scanner', 'magellan', 'toledo8217', 'nau7802', 'hid-wedge'],
  input: ['gpio-input'],
};

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
  readonly serial = new SimSerialBus();
  private sysfsTree?: FakeSysfs;
  private readonly twins = new Map<string, Twin>();
  private readonly declared = new Map<string, { kind: string; simulated: boolean }>();
  private readonly scripts: ScannerTwin[] = [];
  private readonly log: Logger;

  constructor(private readonly opts: SimLaneOptions = {}) {
    this.timers = opts.timers ?? realTimers;
    this.log = opts.log ?? silentLogger();
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
      actions: (Object.keys(ACTION_KINDS) as SimAction[]).filter((a) => ACTION_KINDS[a].includes(t.kind)),
    }));
  }

  /** The first simulated device an action applies to (for `lanectl sim scan <code>` without a device). */
  defaultDevice(action: SimAction): string | undefined {
    return [...this.twins.entries()].find(([, t]) => ACTION_KINDS[action].includes(t.kind))?.[0];
  }

  /**
   * Build the twin of a simulated device and the DriverEnv its driver runs on.
   * Called by the device manager once per `simulate: true` device.
   */
  async attach(name: string, config: DeviceConfig, stateDir: string): Promise<DriverEnv> {
    this.declared.set(name, { kind: config.kind, simulated: true });
    const timers = this.timers;
    switch (config.kind) {
      case 'serial-scanner': {
        const c = config as unknown as SerialScannerConfig;
        const path = c.path ?? `/dev/serial/by-id/usb-laned_sim_${name}-if00`;
        const scanner = new ScannerTwin(this.serial, path, c, timers, this.log);
        this.serial.addPort(path, { vendorId: c.vendorId, productId: c.productId, device: { onOpen: () => scanner.startScript() } });
        this.scripts.push(scanner);
        this.twins.set(name, { kind: 'serial-scanner', path, scanner });
        return simEnv({ timers, stateDir, serial: this.serial.env });
      }
      case 'magellan': {
        const c = config as unknown as MagellanConfig;
        const path = c.path ?? `/dev/serial/by-id/usb-laned_sim_${name}-if00`;
        const twin = new MagellanTwin(this.serial, path, c, timers);
        this.serial.addPort(path, { vendorId: c.vendorId, productId: c.productId, device: twin });
        this.twins.set(name, { kind: 'magellan', path, twin });
        return simEnv({ timers, stateDir, serial: this.serial.env });
      }
      case 'toledo8217': {
        const c = config as unknown as Toledo8217Config;
        const path = c.path ?? `/dev/serial/by-id/usb-laned_sim_${name}-if00`;
        const twin = new ToledoTwin(timers);
        this.serial.addPort(path, { vendorId: c.vendorId, productId: c.productId, device: twin });
        this.twins.set(name, { kind: 'toledo8217', path, twin });
        return simEnv({ timers, stateDir, serial: this.serial.env });
      }
      case 'nau7802': {
        const cpg = Number(config.nominalCountsPerGram ?? 100);
        const { bus, chip } = fakeNau7802Bus({ timers, countsPerGram: cpg, zeroCounts: 250_000, uncalibratedOffset: 3_000, noiseCounts: 2, seed: this.opts.seed ?? 1 });
        this.twins.set(name, { kind: 'nau7802', bus, chip });
        return simEnv({ timers, stateDir, i2c: { open: async () => bus } });
      }
      case 'gpio-input':
      case 'gpio-output': {
        const c = config as unknown as GpioInputConfig | GpioOutputConfig;
        const r = await resolveBcm(this.sysfs.root, c.bcm, c.chipLabel);
        if (config.kind === 'gpio-input') {
          // the circuit's idle level (pull-up for active-low) before the driver looks
          this.sysfs.export(r.sysfs);
          this.sysfs.setLevel(r.sysfs, c.activeLow ? 1 : 0);
        }
        this.twins.set(name, { kind: config.kind, sysfs: r.sysfs, activeLow: c.activeLow });
        return simEnv({ timers, stateDir, gpio: this.sysfs.env(timers, this.opts.gpioPollMs ?? 20) });
      }
      case 'hid-wedge': {
        const c = config as unknown as HidWedgeConfig;
        const twin = new HidTwin(c.path ?? `/dev/input/by-id/sim-${name}-event-kbd`, c.recordSize ?? (process.arch === 'arm64' || process.arch === 'x64' ? 24 : 16));
        this.twins.set(name, { kind: 'hid-wedge', twin });
        return simEnv({ timers, stateDir, hid: twin.env });
      }
    }
  }

  private twin(device: string, action: SimAction): Twin {
    const t = this.twins.get(device);
    if (!t) {
      const d = this.declared.get(device);
      if (d && !d.simulated) throw new Error(`sim: device "${device}" is a real ${d.kind} (simulate: false); sim commands only drive simulated devices`);
      const names = [...this.twins.keys()];
      throw Object.assign(new Error(`sim: no simulated device "${device}"${names.length ? ` (simulated: ${names.join(', ')})` : ''}`), { notFound: true });
    }
    if (!ACTION_KINDS[action].includes(t.kind)) {
      const fit = this.devices().filter((d) => d.actions.includes(action)).map((d) => d.name);
      throw new Error(`sim: "${device}" is a ${t.kind}; ${action} works on ${ACTION_KINDS[action].join(', ')}${fit.length ? ` (here: ${fit.join(', ')})` : ''}`);
    }
    return t;
  }

  private port(device: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      throw new Error(`sim: ${device}: ${(err as Error).message}`);
    }
  }

  /** A code read at a scanner window (\xNN escapes and {GS} allowed). */
  scan(device: string, code: string): void {
    if (typeof code !== 'string' || code.length === 0 || code.length > 512) throw new Error(`sim: ${device}: the code must be 1 to 512 characters`);
    const t = this.twin(device, 'scan');
    if (t.kind === 'serial-scanner') this.port(device, () => t.scanner.scan(code));
    else if (t.kind === 'magellan') this.port(device, () => t.twin.scan(code));
    else if (t.kind === 'hid-wedge') this.port(device, () => t.twin.scan(code));
  }

  /** Total load on the bagging scale, grams (it settles with a little bounce). */
  weight(device: string, grams: number): void {
    if (!Number.isFinite(grams)) throw new Error(`sim: ${device}: grams must be a number, got ${grams}`);
    const t = this.twin(device, 'weight');
    if (t.kind === 'nau7802') t.chip.setLoad(grams);
  }

  /** Produce on a scale platter, grams. */
  produce(device: string, grams: number): void {
    if (!Number.isFinite(grams)) throw new Error(`sim: ${device}: grams must be a number, got ${grams}`);
    const t = this.twin(device, 'produce');
    if (t.kind === 'magellan' || t.kind === 'toledo8217') t.twin.produce(grams);
  }

  unplug(device: string): void {
    const t = this.twin(device, 'unplug');
    if (t.kind === 'serial-scanner' || t.kind === 'magellan' || t.kind === 'toledo8217') this.serial.unplug(t.path);
    else if (t.kind === 'nau7802') t.bus.unplug();
    else if (t.kind === 'hid-wedge') t.twin.unplug();
  }

  replug(device: string): void {
    const t = this.twin(device, 'replug');
    if (t.kind === 'serial-scanner' || t.kind === 'magellan' || t.kind === 'toledo8217') this.serial.replug(t.path);
    else if (t.kind === 'nau7802') t.bus.replug();
    else if (t.kind === 'hid-wedge') t.twin.replug();
  }

  /** Switch a simulated input on or off (the circuit drives its pin; active-low handled). */
  input(device: string, on: boolean): void {
    const t = this.twin(device, 'input');
    if (t.kind !== 'gpio-input') return;
    const level = (on !== t.activeLow ? 1 : 0) as 0 | 1;
    this.port(device, () => this.sysfs.setLevel(t.sysfs, level));
  }

  /** A simulated lamp's pin as the driver set it: lit or not. */
  output(device: string): { level: 0 | 1; lit: boolean } {
    const t = this.twins.get(device);
    if (!t || t.kind !== 'gpio-output') throw new Error(`sim: no simulated gpio-output "${device}"`);
    if (!this.sysfs.isExported(t.sysfs)) throw new Error(`sim: ${device}: gpio${t.sysfs} is not exported (driver not running)`);
    const level = this.sysfs.level(t.sysfs);
    return { level, lit: (level === 1) !== t.activeLow };
  }

  /** Stop scripts and remove the temp sysfs tree. */
  close(): void {
    for (const s of this.scripts) s.stopScript();
    this.sysfsTree?.close();
    this.sysfsTree = undefined;
  }
}
