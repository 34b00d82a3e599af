import { existsSync } from 'node:fs';
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
