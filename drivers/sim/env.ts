import type { DriverEnv } from '../env.js';
import type { Timers } from '../timers.js';
import { realTimers } from '../timers.js';

const nothere = (bus: string) => async (): Promise<never> => {
  throw new Error(`this simulated device has no ${bus} twin`);
};

/** A DriverEnv of fakes: only the buses given exist; the rest fail loudly. */
export function simEnv(parts: Partial<Omit<DriverEnv, 'simulated' | 'timers' | 'stateDir'>> & { timers?: Timers; stateDir: string }): DriverEnv {
  return {
    timers: parts.timers ?? realTimers,
    stateDir: parts.stateDir,
    simulated: true,
    serial: parts.serial ?? { binding: { list: nothere('serial'), open: nothere('serial') }, exists: async () => false },
    i2c: parts.i2c ?? { open: nothere('i2c') },
    gpio: parts.gpio ?? { sysfsRoot: '/nonexistent', open: nothere('gpio') },
    hid: parts.hid ?? { open: nothere('hid'), exists: async () => false },
  };
}

/** Code text as typed by a technician: \xNN escapes and {GS} for the FNC1 separator. */
export function unescapeCode(code: string): string {
  return code.replace(/\{GS\}/g, '\u001d').replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}
