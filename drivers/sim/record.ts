/**
 * A DriverContext that records what a driver emits and reports, with each
 * event checked against its declared schema (drivers/events.ts).
 * Used by tests and by `lanectl selftest`-style checks that run a driver alone.
 */
import type { DeviceStatus, DriverContext } from '../driver.js';
import { silentLogger, type Logger } from '../log.js';
import { deviceEventProblem } from '../events.js';

export interface Recorded {
  type: string;
  data: Record<string, unknown>;
  /** Device time of the emit (the clock the driver runs on). */
  at: number;
}

export class Recorder<C> {
  readonly events: Recorded[] = [];
  readonly statuses: DeviceStatus[] = [];
  /** Schema problems of emitted events; a correct driver leaves this empty. */
  readonly problems: string[] = [];
  readonly ctx: DriverContext<C>;

  constructor(name: string, config: C, now: () => number, log: Logger = silentLogger()) {
    this.ctx = {
      name,
      config,
      log,
      emit: async (type, data) => {
        const p = deviceEventProblem(type, data);
        if (p) this.problems.push(`${type}: ${p}`);
        this.events.push({ type, data: data as Record<string, unknown>, at: now() });
      },
      statusChanged: (s) => {
        const last = this.statuses[this.statuses.length - 1];
        if (!last || last.state !== s.state || last.detail !== s.detail) this.statuses.push(s);
      },
    };
  }

  of(type: string): Recorded[] {
    return this.events.filter((e) => e.type === type);
  }

  states(): string[] {
    return this.statuses.map((s) => s.state);
  }
}
