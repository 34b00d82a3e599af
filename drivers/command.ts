/**
 * Technician commands a driver offers (calibrate, zero, tare, light test):
 * what `lanectl` and `cmd/<device>/...` reach through DeviceManager.command().
 */
import type { TSchema } from '@sinclair/typebox';
import type { Driver } from './driver.js';

export interface CommandSpec {
  name: string;
  /** One line for `lanectl help`. */
  describe: string;
  /** Argument name -> what it is. */
  args?: Record<string, string>;
  /** The schema of the command's result: the devices service refuses an answer outside it. */
  result: TSchema;
}

export interface Commandable {
  commands(): CommandSpec[];
  /** Resolves with a result for the technician; rejects with a CommandError saying what to do. */
  command(name: string, args: Record<string, unknown>): Promise<unknown>;
}

/**
 * A refusal the asker can act on (not a bug), thrown by a driver's or a service's
 * command handler: the reply carries the message and `kind`, and nothing is logged
 * as a failure. The one class for both: the service runtime re-exports it.
 */
export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    message: string,
    /** Carried in the reply, so a client can tell "no such thing" (a device, a dead letter) from a refusal. */
    readonly kind?: 'not-found',
  ) {
    super(message);
  }
}

export function isCommandable(d: Driver): d is Driver & Commandable {
  return typeof (d as Partial<Commandable>).command === 'function' && typeof (d as Partial<Commandable>).commands === 'function';
}

export function numberArg(args: Record<string, unknown>, key: string, device: string): number {
  const v = args[key];
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new CommandError(`${device}: argument "${key}" must be a number, got ${JSON.stringify(v)}`);
  return n;
}
