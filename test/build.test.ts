import t from 'tap';
import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, readFileSync, readdirSync, realpathSync, statSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT, tempDir } from './helpers/daemon.js';

// `npm start` builds first (prestart); it must only build what changed, so a
// second start does not spend seconds compiling the same sources again.

function npm(cwd: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('npm', args, { cwd, timeout: 280_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

/** Every file under dir with its modification time. */
function mtimes(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    out.set(relative(dir, p), statSync(p).mtimeMs);
  }
  return out;
}

t.test('npm start builds only what changed since the last build', async (t) => {
  const copy = tempDir('laned-build-');
  for (const part of ['daemon', 'drivers', 'broker', 'image', 'test', 'package.json', 'tsconfig.json']) {
    cpSync(join(ROOT, part), join(copy, part), { recursive: true, preserveTimestamps: true });
  }
  cpSync(join(ROOT, 'dist'), join(copy, 'dist'), { recursive: true, preserveTimestamps: true });
  symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(copy, 'node_modules'));

  // whatever state the copied dist is in, this brings it up to date
  const first = await npm(copy, 'run', 'prestart');
  t.equal(first.code, 0, first.out);
  const before = mtimes(join(copy, 'dist'));
  t.ok(before.has('daemon/main.js'), 'built');

  const again = await npm(copy, 'run', 'prestart');
  t.equal(again.code, 0, again.out);
  const after = mtimes(join(copy, 'dist'));
  const rewritten = [...after].filter(([f, m]) => before.get(f) !== m).map(([f]) => f);
  t.same(rewritten, [], 'nothing changed: nothing compiled or written again');
  t.ok(statSync(join(copy, 'dist/daemon/main.js')).mode & 0o100, 'the bin stays executable');

  appendFileSync(join(copy, 'daemon/core/version.ts'), '\nexport const BUILD_PROBE = 4711;\n');
  const changed = await npm(copy, 'run', 'prestart');
  t.equal(changed.code, 0, changed.out);
  t.match(readFileSync(join(copy, 'dist/daemon/core/version.js'), 'utf8'), /BUILD_PROBE = 4711/, 'a changed source is compiled again');
});
