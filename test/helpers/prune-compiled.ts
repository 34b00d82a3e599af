/**
 * `npm test` runs the compiled test files (dist/test/**\/*.test.js): each test process
 * then starts without a TypeScript loader. tsc never deletes what it once emitted, so a
 * test file removed or renamed under test/ would still run from dist/ as a ghost. Run
 * after the build (package.json, pretest): removes every compiled test file, and its
 * source map, whose source is gone.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PACKAGE_ROOT } from '../../daemon/core/paths.js';

const compiled = join(PACKAGE_ROOT, 'dist', 'test');
const pruned: string[] = [];
if (existsSync(compiled)) {
  for (const e of readdirSync(compiled, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith('.test.js')) continue;
    const file = join(e.parentPath, e.name);
    const source = join(PACKAGE_ROOT, relative(join(PACKAGE_ROOT, 'dist'), file)).replace(/\.js$/, '.ts');
    if (existsSync(source)) continue;
    rmSync(file, { force: true });
    rmSync(`${file}.map`, { force: true });
    pruned.push(relative(PACKAGE_ROOT, file));
  }
}
if (pruned.length) console.log(`removed ${pruned.length} compiled test file(s) whose source is gone: ${pruned.join(', ')}`);
