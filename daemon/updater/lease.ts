import { Type } from '@sinclair/typebox';
import { defineCommands, NoArgs } from '../events/command.js';
import { compareBoardTime, type BoardClock, type BoardTime } from '../events/clock.js';

/**
 * The idle lease the updater takes before a switch: the attendant grants it
 * only with no transaction, no staff mode and no open intervention, the basket
 * only with no transaction open (it is the one that starts transactions, so its
 * check cannot race a scan). While either holds it, the lane takes no new
 * shopper. It ends on `UpdateRelease`, at its `until`, or with the boot (board
 * time of another epoch): an updater that never comes back cannot keep the lane shut.
 */
export const LEASE_COMMANDS = defineCommands({
  UpdateLease: {
    description: "The updater's idle lease: granted only while the lane is idle; the lane takes no new shopper until it ends.",
    args: Type.Object({ seconds: Type.Number({ exclusiveMinimum: 0, maximum: 3600 }) }, { additionalProperties: false }),
    result: Type.Object({ until: Type.String() }, { additionalProperties: false }),
  },
  UpdateRelease: {
    description: 'The updater gives its idle lease back; `released` says whether it was still held.',
    args: NoArgs,
    result: Type.Object({ released: Type.Boolean() }, { additionalProperties: false }),
  },
});

/** What shoppers are told while the lease is held (ScanRefused detail, the screens). */
export const UPDATING_TEXT = 'this lane is being updated, please use another';

export interface Lease {
  until: BoardTime;
  /** Wall time of `until`, for display. */
  untilIso: string;
}

export function newLease(clock: BoardClock, seconds: number): Lease {
  const now = clock.now();
  const ms = Math.round(seconds * 1000);
  return { until: { epoch: now.epoch, mono: (BigInt(now.mono) + BigInt(ms) * 1_000_000n).toString() }, untilIso: new Date(Date.now() + ms).toISOString() };
}

/** Milliseconds the lease still runs; 0 when it has ended (or belongs to another boot). */
export function leaseLeftMs(clock: BoardClock, lease: Lease | undefined): number {
  if (!lease) return 0;
  const now = clock.now();
  if (lease.until.epoch !== now.epoch || compareBoardTime(lease.until, now) <= 0) return 0;
  return Number((BigInt(lease.until.mono) - BigInt(now.mono)) / 1_000_000n);
}
