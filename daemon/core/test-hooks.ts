import { existsSync, writeFileSync } from 'node:fs';
import type { Logger } from './log.js';

/**
 * Hooks for the systemd tests, active only when the environment has
 * `LANED_TEST_HOOKS=1` (the unit never sets it; image/install.sh does not either):
 *
 * - `SIGUSR2` blocks the event loop for `LANED_TEST_BLOCK_MS` ms (default 3000),
 *   the way a runaway synchronous loop would; the watchdog must then withhold
 *   its ping. Without the flag SIGUSR2 keeps Node's default (the process ends),
 *   so nothing can wedge a production lane by signal.
 * - `LANED_TEST_SLOW_START_MS` / `LANED_TEST_SLOW_STOP_MS` delay the services'
 *   start / stop, and `LANED_TEST_EXTEND_EVERY_MS` shortens the
 *   EXTEND_TIMEOUT_USEC period, to see the extensions and that READY=1 waits
 *   for the slow part.
 * - `LANED_TEST_CUT=<service>` turns SIGUSR2 into a cut instead: the service's
 *   broker connection is dropped and refused until the next SIGUSR2 (the health
 *   test of a disconnected service).
 * - `LANED_TEST_KILL_AT=<step>`: the process SIGKILLs itself when it reaches
 *   that step (`killPoint`), e.g. `stage:swapped` in the updater: the crash-safety
 *   tests of each step.
 */
export interface TestHooks {
  slowStartMs: number;
  slowStopMs: number;
  /** EXTEND_TIMEOUT_USEC every this many ms during long work (default 5000). */
  extendEveryMs?: number;
}

let blockInstalled = false;

let cutHandler: (() => void) | undefined;

export function testHooks(log: Logger, cut?: (service: string) => void): TestHooks | undefined {
  if (process.env.LANED_TEST_HOOKS !== '1') return undefined;
  const blockMs = Number(process.env.LANED_TEST_BLOCK_MS ?? 3000);
  const hooks: TestHooks = {
    slowStartMs: Number(process.env.LANED_TEST_SLOW_START_MS ?? 0),
    slowStopMs: Number(process.env.LANED_TEST_SLOW_STOP_MS ?? 0),
  };
  if (process.env.LANED_TEST_EXTEND_EVERY_MS) hooks.extendEveryMs = Number(process.env.LANED_TEST_EXTEND_EVERY_MS);
  const cutService = process.env.LANED_TEST_CUT;
  cutHandler = cutService && cut ? () => cut(cutService) : undefined;
  if (!blockInstalled) {
    blockInstalled = true;
    process.on('SIGUSR2', () => {
      if (cutHandler) return cutHandler();
      const from = process.hrtime.bigint();
      log.warn({ hook: 'block', ms: blockMs, mono: from.toString() }, `test hook: blocking the event loop for ${blockMs} ms`);
      while (Number(process.hrtime.bigint() - from) / 1e6 < blockMs) {
        // busy on purpose: no timer, no I/O callback runs
      }
      log.warn({ hook: 'unblock', ms: blockMs, mono: process.hrtime.bigint().toString(), from: from.toString() }, 'test hook: event loop unblocked');
    });
  }
  log.warn({ hooks }, 'LANED_TEST_HOOKS=1: test hooks are active (SIGUSR2 blocks the event loop); never set this on a lane');
  return hooks;
}

/**
 * `LANED_TEST_KILL_AT=<step>` (with `LANED_TEST_HOOKS=1`): the process SIGKILLs
 * itself when the updater reaches that step of a switch, commit or rollback
 * (daemon/updater/switch.ts names them), as a power cut there would stop it.
 * With `LANED_TEST_KILL_MARK=<file>` only once: the file is made just before.
 */
export function killPoint(step: string): void {
  if (process.env.LANED_TEST_HOOKS !== '1' || process.env.LANED_TEST_KILL_AT !== step) return;
  const mark = process.env.LANED_TEST_KILL_MARK;
  if (mark) {
    if (existsSync(mark)) return;
    writeFileSync(mark, `${step}\n`);
  }
  process.stderr.write(`test hook: SIGKILL at ${step}\n`);
  process.kill(process.pid, 'SIGKILL');
}
