/**
 * Everything below a driver: the clock and the lowest layer of each bus.
 * The device manager hands real ones to real devices and the SimLane's fakes
 * to `simulate: true` devices; the driver code is the same.
 */
import type { Readable } from 'node:stream';
import { realTimers, type Timers } from './timers.js';
import { realSerialEnv, type SerialEnv } from './serial/link.js';
import { realI2cEnv, type I2cEnv } from './i2c/bus.js';
import { realGpioEnv, type GpioEnv } from './gpio/line.js';

export interface HidEnv {
  /** Open an evdev node (/dev/input/by-id/...-event-kbd) as a byte stream of input_event records. */
  open(path: string): Promise<Readable>;
  exists(path: string): Promise<boolean>;
}

export interface DriverEnv {
  timers: Timers;
  /** The daemon's state directory (calibration files live here unless configured elsewhere). */
  stateDir: string;
  simulated: boolean;
  serial: SerialEnv;
  i2c: I2cEnv;
  gpio: GpioEnv;
  hid: HidEnv;
}

export const realHidEnv: HidEnv = {
  open: async (path) => {
    const { createReadStream } = await import('node:fs');
    const stream = createReadStream(path, { highWaterMark: 24 * 64 });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    return stream;
  },
  exists: async (path) => {
    const { access } = await import('node:fs/promises');
    return access(path).then(
      () => true,
      () => false,
    );
  },
};

export function realEnv(opts: { stateDir: string; timers?: Timers; gpioSysfsRoot?: string }): DriverEnv {
  return {
    timers: opts.timers ?? realTimers,
    stateDir: opts.stateDir,
    simulated: false,
    serial: realSerialEnv(),
    i2c: realI2cEnv,
    gpio: opts.gpioSysfsRoot ? { ...realGpioEnv, sysfsRoot: opts.gpioSysfsRoot } : realGpioEnv,
    hid: realHidEnv,
  };
}
