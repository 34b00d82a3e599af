import { readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** Board order of an event: persisted boot counter + CLOCK_MONOTONIC in ns (DESIGN.md "envelope"). */
export interface BoardTime {
  epoch: number;
  /** CLOCK_MONOTONIC in nanoseconds, decimal string (exceeds 2^53). */
  mono: string;
}

export interface BoardClock {
  readonly epoch: number;
  now(): BoardTime;
}

const BOOT_ID = '/proc/sys/kernel/random/boot_id';

function readBootId(): string {
  try {
    return readFileSync(BOOT_ID, 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/**
 * The epoch counts kernel boots, not daemon starts: CLOCK_MONOTONIC restarts at
 * boot only, so every process on the board (the daemon and any `--only` service)
 * shares one epoch and their `mono` values compare. The counter lives in
 * `<stateDir>/board-epoch.json` and moves on when /proc's boot_id changes.
 */
export function openBoardClock(stateDir: string, bootId: string = readBootId()): BoardClock {
  mkdirSync(stateDir, { recursive: true });
  const file = join(stateDir, 'board-epoch.json');
  let stored: { epoch: number; bootId: string } | undefined;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (parsed && typeof parsed === 'object' && Number.isInteger((parsed as { epoch: unknown }).epoch)) {
      stored = parsed as { epoch: number; bootId: string };
    }
  } catch {
    stored = undefined;
  }
  let epoch = stored?.epoch ?? 0;
  if (!stored || stored.bootId !== bootId) {
    epoch += 1;
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ epoch, bootId }), { mode: 0o644, flush: true });
    renameSync(tmp, file);
  }
  return {
    epoch,
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
