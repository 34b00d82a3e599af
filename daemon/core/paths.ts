import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${start}`);
    dir = up;
  }
  return dir;
}

/** The installed package's folder, whether running from dist/ or from source. */
export const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const UI_ROOT = join(PACKAGE_ROOT, 'ui-static');

/** In the state directory while laned runs: where its broker and HTTP server listen (lanectl reads it). */
export const RUNTIME_FILE = 'runtime.json';

/** `--state-dir`, else systemd's $STATE_DIRECTORY (first entry), else ~/.local/state/laned. */
export function resolveStateDir(flag?: string): string {
  if (flag) return flag;
  const fromSystemd = process.env.STATE_DIRECTORY?.split(':')[0];
  if (fromSystemd) return fromSystemd;
  return join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'laned');
}
