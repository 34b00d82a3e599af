#!/usr/bin/env node
/**
 * The judge outside laned (the unit's ExecStartPre=, ExecStopPost= and
 * laned-rollback.service), run from the last good slot (`<root>/good`), so a
 * broken new version cannot judge itself:
 *
 *   boot.js start  [--root DIR] [--config FILE] [--state-dir DIR]   count a start on trial; roll back when they are used up
 *   boot.js stop   …                                                why the start ended ($SERVICE_RESULT, $EXIT_CODE, $EXIT_STATUS)
 *   boot.js failed …                                                the unit gave up (start limit, an exit it does not restart): roll back now
 *   boot.js on-trial …                                              exit 0 while a version is on trial, else 1 (laned-rollback's ExecCondition=)
 *
 * It never fails the start: whatever goes wrong is printed and laned starts
 * from what `current` points to.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { resolveStateDir } from '../core/paths.js';
import { defaultUpdaterRoot } from './layout.js';
import { bootCheck, readState, recordStop, rollBack } from './switch.js';

const USAGE = 'usage: boot.js start|stop|failed|on-trial [--root DIR] [--config FILE] [--state-dir DIR]\n';

/** `updater.root` and `updater.tries` from the config, read leniently: a config the good slot does not fully understand must not stop the check. */
function settings(file: string | undefined): { root?: string; tries: number } {
  if (!file) return { tries: 3 };
  try {
    const doc = parseYaml(readFileSync(file, 'utf8')) as { updater?: { root?: unknown; tries?: unknown } } | null;
    const u = doc?.updater ?? {};
    return {
      ...(typeof u.root === 'string' ? { root: u.root } : {}),
      tries: typeof u.tries === 'number' && Number.isInteger(u.tries) && u.tries >= 1 ? u.tries : 3,
    };
  } catch (err) {
    process.stdout.write(`laned-boot: config ${file}: ${(err as Error).message}; using updater.tries 3\n`);
    return { tries: 3 };
  }
}

function main(): number {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { root: { type: 'string' }, config: { type: 'string' }, 'state-dir': { type: 'string' } },
    });
  } catch (err) {
    process.stderr.write(`laned-boot: ${(err as Error).message}\n${USAGE}`);
    return 64;
  }
  const [what] = parsed.positionals;
  if (what !== 'start' && what !== 'stop' && what !== 'failed' && what !== 'on-trial') {
    process.stderr.write(USAGE);
    return 64;
  }
  const cfg = settings(parsed.values.config ?? process.env.LANED_CONFIG);
  const stateDir = resolveStateDir(parsed.values['state-dir']);
  const root = parsed.values.root ?? cfg.root ?? defaultUpdaterRoot(stateDir);
  if (what === 'on-trial') return readState(root).trial ? 0 : 1;
  try {
    if (what === 'start') {
      process.stdout.write(`laned-boot: ${bootCheck(root, stateDir, cfg.tries).said}\n`);
    } else if (what === 'stop') {
      const reason = recordStop(root, cfg.tries, process.env);
      if (reason) process.stdout.write(`laned-boot: trial ${reason}\n`);
    } else {
      const s = readState(root);
      if (s.trial) {
        const next = rollBack(
          root,
          stateDir,
          `laned failed and systemd gave up on version ${s.trial.version} (slot ${s.trial.slot})${s.reason ? `: ${s.reason}` : ''}`,
        );
        process.stdout.write(`laned-boot: rolled back to slot ${next.active}: ${next.reason}\n`);
      } else {
        process.stdout.write('laned-boot: laned failed outside a trial: nothing to roll back\n');
      }
    }
  } catch (err) {
    process.stdout.write(`laned-boot: ${what} in ${root}: ${(err as Error).message}; laned starts from what current points to\n`);
  }
  return 0;
}

process.exitCode = main();
