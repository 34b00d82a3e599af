import type { Logger } from './log.js';

/** UnifiedPOS-flavoured life of a device as technicians see it in `lanectl devices`. */
export type DeviceState = 'starting' | 'ok' | 'degraded' | 'disconnected' | 'failed' | 'stopped';

export interface DeviceStatus {
  name: string;
  kind: string;
  state: DeviceState;
  simulated: boolean;
  /** ISO wall time of the last state change (display only). */
  since: string;
  /** Why it is not ok, naming the device path / bus / pin. */
  detail?: string;
  /** Last reading published (a barcode, grams, an input level), for `lanectl devices`. */
  lastReading?: unknown;
}

/** What every driver is built from: one typed object, no positional arguments. */
export interface DriverContext<C> {
  /** Device name from config; also the `source` of its events. */
  name: string;
  config: C;
  log: Logger;
  /**
   * Publish a reading as a domain event through the device outbox (durable,
   * gapless `seq` per device). Resolves when committed, not when delivered.
   */
  emit(type: string, data: unknown, opts?: { txn?: string; cause?: string }): Promise<void>;
  /** Report a state change; the device manager publishes DeviceStatus + doc/devices and logs once. */
  statusChanged(status: DeviceStatus): void;
}

/**
 * The driver contract (the code conventions "One contract per kind of part"): the
 * constructor only stores its context; `start()` opens the device and must not
 * throw for a missing device (report `disconnected` and retry instead);
 * `stop()` releases everything and is safe to call twice.
 */
export interface Driver {
  readonly name: string;
  readonly kind: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): DeviceStatus;
}
