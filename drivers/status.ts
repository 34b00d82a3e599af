import type { DeviceState, DeviceStatus, DriverContext } from './driver.js';

/**
 * A driver's own DeviceStatus: reports to the manager only when the state or
 * its detail changes, so a device that keeps failing to reopen is reported
 * (and logged by the manager) once when it goes and once when it returns.
 */
export class StatusKeeper {
  private current: DeviceStatus;

  constructor(
    private readonly ctx: Pick<DriverContext<unknown>, 'name' | 'statusChanged'>,
    kind: string,
    simulated: boolean,
  ) {
    this.current = { name: ctx.name, kind, state: 'stopped', simulated, since: new Date().toISOString() };
  }

  get(): DeviceStatus {
    return { ...this.current };
  }

  get state(): DeviceState {
    return this.current.state;
  }

  /**
   * A new state is reported; a new detail within the same state (the reason a
   * reconnect keeps failing changes) is only kept for `lanectl devices`.
   */
  set(state: DeviceState, detail?: string): void {
    if (state === this.current.state) {
      if (detail === undefined) delete this.current.detail;
      else this.current.detail = detail;
      return;
    }
    this.current = { ...this.current, state, since: new Date().toISOString() };
    if (detail === undefined) delete this.current.detail;
    else this.current.detail = detail;
    this.ctx.statusChanged(this.get());
  }

  /** Remember the last reading for `lanectl devices`; the manager refreshes doc/devices from it. */
  reading(value: unknown): void {
    this.current = { ...this.current, lastReading: value };
    this.ctx.statusChanged(this.get());
  }
}
