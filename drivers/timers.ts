/**
 * The clock a driver runs on. Drivers never call the global timers directly, so
 * that tests and the simulated lane can run them on a virtual clock
 * (drivers/sim/virtual-clock.ts) and measure in device time, not wall time.
 */
export interface Timers {
  /** Monotonic milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

export type TimerHandle = { readonly __timer: true } | object;

export const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (h) => {
    if (h) clearTimeout(h as NodeJS.Timeout);
  },
};

/** Resolve after `ms` on the given clock. */
export function sleep(timers: Timers, ms: number): Promise<void> {
  return new Promise((resolve) => timers.setTimeout(resolve, ms));
}
