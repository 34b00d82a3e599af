/**
 * What a device kind says of itself (the design "Devices"): its config schema, the
 * events it publishes, what it can do for the lane, how to build its driver and its
 * simulated twin. A kind lives next to its driver (drivers/<bus>/<kind>.kind.ts) and
 * is one line in drivers/registry.ts. Its driver and twin are imported only when a
 * device of the kind starts, so a process without such a device never loads them.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type { Driver, DriverContext } from './driver.js';
import type { DriverEnv } from './env.js';
import type { Logger } from './log.js';
import type { Timers } from './timers.js';
import type { SimSerialBus } from './sim/serial.js';
import type { FakeSysfs } from './sim/fake-sysfs.js';

export type Bus = 'serial' | 'i2c' | 'gpio' | 'hid';

/** What a device does for the lane; services find devices by these, never by kind. */
export type Capability = 'scanner' | 'scale' | 'bagging-scale' | 'light' | 'input';

/** What `lanectl sim` and `cmd/sim/*` can do to a simulated device. */
export type SimAction = 'scan' | 'weight' | 'produce' | 'unplug' | 'replug' | 'input';

/** A simulated device: each action feeds only the lowest layer of its bus, so the real driver runs. */
export interface Twin {
  scan?(code: string): void;
  weight?(grams: number): void;
  produce?(grams: number): void;
  unplug?(): void;
  replug?(): void;
  input?(on: boolean): void;
  /** A lamp's pin as the driver set it. */
  output?(): { level: 0 | 1; lit: boolean };
  /** Stop what the twin does by itself (a demo script). */
  close?(): void;
}

/** The fake lowest layers the simulated lane lends a twin. */
export interface SimBench {
  /** The device's name. */
  name: string;
  stateDir: string;
  timers: Timers;
  log: Logger;
  /** Seed of simulated sensor noise. */
  seed: number;
  /** How often simulated GPIO inputs look at their value file. */
  gpioPollMs: number;
  serial(): SimSerialBus;
  sysfs(): FakeSysfs;
}

/** The loaded part of a kind: its driver, and its twin for `simulate: true`. */
export interface KindModule<C> {
  create(ctx: DriverContext<C>, env: DriverEnv): Driver;
  twin(config: C, bench: SimBench): Promise<{ twin: Twin; env: DriverEnv }>;
}

export interface DeviceKind<S extends TSchema = TSchema> {
  schema: S;
  bus: Bus;
  /** One line for `lanectl devices --kinds`. */
  describe: string;
  capabilities: readonly Capability[];
  /** Event types its devices publish (drivers/events.ts), besides DeviceStatus. */
  events: readonly string[];
  /** What its twin can be made to do. */
  actions: readonly SimAction[];
  /** Rules a schema cannot say (which keys are needed together). */
  check?(config: Static<S>): string | undefined;
  /** Import the driver and twin (on first use). */
  load(): Promise<KindModule<Static<S>>>;
}

export function defineKind<S extends TSchema>(k: DeviceKind<S>): DeviceKind<S> {
  return k;
}
