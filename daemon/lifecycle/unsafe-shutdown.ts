import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { syncDir, writeDurably } from '../core/durable-file.js';

export const RUNNING_MARKER = 'laned.running';
export const UNSAFE_FILE = 'unsafe-shutdowns.json';

export interface UnsafeShutdowns {
  /** Starts that found the previous run's marker: power cut, SIGKILL, watchdog abort, crash. */
  count: number;
  /** When the run that did not stop gracefully had started (from its marker). */
  lastStartedAt?: string;
  /** When this was noticed (the next start). */
  lastDetectedAt?: string;
  /** Whether this run's start found one. */
  thisStart: boolean;
}

/**
 * The unsafe-shutdown counter (SD-card safety): a marker file exists while the
 * daemon runs and is removed by a graceful stop. A start that finds it counts
 * one unsafe shutdown. The count lives in `<stateDir>/unsafe-shutdowns.json`.
 */
export class UnsafeShutdownCounter {
  private state: UnsafeShutdowns = { count: 0, thisStart: false };

  constructor(private readonly stateDir: string) {}

  /** At start: count the previous run if it left its marker, then set ours. */
  begin(info: { pid: number; epoch: number }): UnsafeShutdowns {
    const marker = join(this.stateDir, RUNNING_MARKER);
    const file = join(this.stateDir, UNSAFE_FILE);
    let saved: Omit<UnsafeShutdowns, 'thisStart'> = { count: 0 };
    try {
      saved = JSON.parse(readFileSync(file, 'utf8')) as typeof saved;
      if (!Number.isInteger(saved.count) || saved.count < 0) saved = { count: 0 };
    } catch {
      // first start, or an unreadable file: start counting again
    }
    let thisStart = false;
    if (existsSync(marker)) {
      thisStart = true;
      let previous: { startedAt?: string } = {};
      try {
        previous = JSON.parse(readFileSync(marker, 'utf8')) as typeof previous;
      } catch {
        // a marker torn by the power cut still means the run did not stop gracefully
      }
      saved = {
        count: saved.count + 1,
        ...(previous.startedAt ? { lastStartedAt: previous.startedAt } : {}),
        lastDetectedAt: new Date().toISOString(),
      };
      writeDurably(file, `${JSON.stringify(saved)}\n`);
    }
    writeDurably(marker, `${JSON.stringify({ pid: info.pid, epoch: info.epoch, startedAt: new Date().toISOString() })}\n`);
    this.state = { ...saved, thisStart };
    return this.get();
  }

  /** At the end of a graceful stop. */
  end(): void {
    rmSync(join(this.stateDir, RUNNING_MARKER), { force: true });
    syncDir(this.stateDir);
  }

  get(): UnsafeShutdowns {
    return { ...this.state };
  }
}
