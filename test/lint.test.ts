import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './helpers/daemon.js';

// `npm run lint` as part of `npm test`: ESLint (typescript-eslint, type-checked: no
// floating promises, nothing unused, no explicit any) and Prettier over the whole tree.

t.setTimeout(600_000);

const run = (bin: string, args: string[]) =>
  new Promise<{ code: number; out: string }>((resolve) =>
    execFile(process.execPath, [join(ROOT, 'node_modules', bin), ...args], { cwd: ROOT, maxBuffer: 16 << 20, timeout: 540_000 }, (err, out, errOut) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? -1) : 0, out: `${out}${errOut}` }),
    ),
  );

// both run at once, each a process of its own: the file takes the longer of the two, not their sum
const eslint = run('eslint/bin/eslint.js', ['.']);
const prettier = run('prettier/bin/prettier.cjs', ['--check', '.']);

t.test('eslint finds nothing', async (t) => {
  const r = await eslint;
  t.equal(r.code, 0, `eslint .\n${r.out.slice(-6000)}`);
});

t.test('every file is as prettier writes it', async (t) => {
  const r = await prettier;
  t.equal(r.code, 0, `prettier --check .\n${r.out.slice(-6000)}`);
});
