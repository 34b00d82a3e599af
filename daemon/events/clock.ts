import { readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** Board order of an event: persisted boot counter + CLOCK_MONOTONIC in ns (the design "envelope"). */
export interface BoardTime {
  epoch: number;
  /** CLOCK_MONOTONIC in nanoseconds, decimal string (exceeds 2^53). */
  mono: string;
}

export interface BoardClock {
  readonly epoch: number;
  now(): BoardTime;
}

/** A timer made by Timers.setTimeout; cancelled by the same Timers' clearTimeout. */
export type Timer = object;

/**
 * Timers a service runs on: the process's own in the daemon, a clock a test moves
 * by hand in the service harness. Timers never keep the process alive.
 */
export interface Timers {
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(timer: Timer | undefined): void;
}

/** The process's timers, unref'd. */
export const processTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
};

const BOOT_ID = '/proc/sys/kernel/random/boot_id';

function readBootId(): string {
  try {
    return readFileSync(BOOT_ID, 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

export interface OpenedBoardClock extends BoardClock {
  /**
   * Set when `board-epoch.json` was there but held no epoch (torn, zeroed,
   * not JSON): why, and where the damaged file was moved. The epoch is then
   * provisional until recover() sets it from what the stores have seen.
   */
  readonly damaged?: { file: string; reason: string; movedTo: string };
  /** Set the epoch (recovered from the stores after a damaged file) and persist it. */
  recover(epoch: number): void;
}

function writeEpoch(file: string, epoch: number, bootId: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ epoch, bootId }), { mode: 0o644, flush: true });
  renameSync(tmp, file);
}

/**
 * The epoch counts kernel boots, not daemon starts: CLOCK_MONOTONIC restarts at
 * boot only, so every process on the board (the daemon and any `--only` service)
 * shares one epoch and their `mono` values compare. The counter lives in
 * `<stateDir>/board-epoch.json` and moves on when /proc's boot_id changes.
 * A file that cannot be read (permissions, I/O) is thrown; one that reads but
 * holds no epoch is moved aside as `board-epoch.json.corrupt-<time>` and
 * reported in `damaged`: restarting at 1 would run board time backwards.
 */
export function openBoardClock(stateDir: string, bootId: string = readBootId()): OpenedBoardClock {
  mkdirSync(stateDir, { recursive: true });
  const file = join(stateDir, 'board-epoch.json');
  let stored: { epoch: number; bootId: string } | undefined;
  let damaged: OpenedBoardClock['damaged'];
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text !== undefined) {
    let reason: string | undefined;
    try {
      const parsed = JSON.parse(text) as unknown;
      const epoch = (parsed as { epoch?: unknown } | null)?.epoch;
      if (typeof epoch === 'number' && Number.isInteger(epoch) && epoch >= 1) stored = parsed as { epoch: number; bootId: string };
      else reason = `no epoch in it (${JSON.stringify(text.slice(0, 40))})`;
    } catch (err) {
      reason = `not JSON: ${(err as Error).message}`;
    }
    if (reason) {
      const movedTo = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      renameSync(file, movedTo);
      damaged = { file, reason, movedTo };
    }
  }
  let epoch = stored?.epoch ?? 0;
  if (!stored || stored.bootId !== bootId) {
    epoch += 1;
    writeEpoch(file, epoch, bootId);
  }
  return {
    get epoch() {
      return epoch;
    },
    ...(damaged ? { damaged } : {}),
    recover(next: number) {
      epoch = next;
      writeEpoch(file, epoch, bootId);
    },
    now: () => ({ epoch, mono: process.hrtime.bigint().toString() }),
  };
}

/** Compare two board times: negative when a is earlier. */
export function compareBoardTime(a: BoardTime, b: BoardTime): number {
  if (a.epoch !== b.epoch) return a.epoch - b.epoch;
  const am = BigInt(a.mono);
  const bm = BigInt(b.mono);
  return am < bm ? -1 : am > bm ? 1 : 0;
}
