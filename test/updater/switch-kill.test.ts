import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from '../helpers/daemon.js';
import { stateFilePath, switchCurrent } from '../../daemon/updater/layout.js';
import { readUpdaterState, writeUpdaterState } from '../../daemon/updater/state-file.js';
import { linkGood } from '../../daemon/updater/switch.js';

// SIGKILL at every step of the switch, the commit and the rollback (LANED_TEST_KILL_AT),
// then the next start's boot check (the unit's ExecStartPre=, dist/daemon/updater/boot.js):
// the state file is never torn, and laned starts either the good slot or, once the
// trial is written, the slot on trial, complete; the databases are the pre-switch
// copy after a rollback.

const CHILD = join(ROOT, 'test/helpers/switch-child.ts');
const BOOT = join(ROOT, 'dist/daemon/updater/boot.js');

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve) =>
    execFile(args[0]!, args.slice(1), { env: { ...process.env, ...env }, timeout: 120_000 }, (err, out, errOut) =>
      resolve({
        code: err ? ((err as { code?: number }).code ?? null) : 0,
        signal: (err as { signal?: string } | null)?.signal ?? null,
        out: `${out}${errOut}`,
      }),
    ),
  );
}

const child = (op: string, lane: Lane, step?: string) =>
  run([process.execPath, '--import', 'tsx', CHILD, op, lane.root, lane.stateDir], step ? { LANED_TEST_HOOKS: '1', LANED_TEST_KILL_AT: step } : {});
const boot = (lane: Lane) => run([process.execPath, BOOT, 'start', '--root', lane.root, '--state-dir', lane.stateDir]);

interface Lane {
  root: string;
  stateDir: string;
}

/** Slots a (0.1.0, good) and b (0.1.1, staged) as folders; a database of the old version in the state directory. */
function lane(): Lane {
  const dir = tempDir('laned-kill-');
  const root = join(dir, 'opt');
  const stateDir = join(dir, 'state');
  for (const [slot, version] of [
    ['a', '0.1.0'],
    ['b', '0.1.1'],
  ] as const) {
    mkdirSync(join(root, 'slots', slot, 'dist/daemon'), { recursive: true });
    writeFileSync(join(root, 'slots', slot, 'package.json'), JSON.stringify({ version }));
    writeFileSync(join(root, 'slots', slot, 'dist/daemon/main.js'), `// laned ${version}\n`);
  }
  switchCurrent(root, 'a');
  linkGood(root, 'a');
  mkdirSync(stateDir);
  writeFileSync(join(stateDir, 'basket.db'), "the old version's database");
  writeUpdaterState(stateFilePath(root), {
    state: 'switching',
    good: 'a',
    active: 'a',
    staged: { slot: 'b', version: '0.1.1', manifestSha256: 'a'.repeat(64) },
    history: [],
  });
  return { root, stateDir };
}

/** What the next start runs: the state file whole, current on the good slot or (in a trial) the slot on trial. */
function checkNextStart(t: Test, l: Lane, what: string): void {
  const read = readUpdaterState(stateFilePath(l.root));
  t.equal(read.problem, undefined, `${what}: the state file is whole`);
  const s = read.state;
  const current = readlinkSync(join(l.root, 'current'));
  const expected = s.trial ? `slots/${s.trial.slot}` : `slots/${s.good}`;
  t.equal(current, expected, `${what}: current -> ${expected} (${s.trial ? 'the slot on trial' : 'the good slot'}; state ${s.state})`);
  t.match(readFileSync(join(l.root, current, 'dist/daemon/main.js'), 'utf8'), /^\/\/ laned /, `${what}: a complete slot`);
}

for (const step of ['switch:stopped', 'switch:snapshot', 'switch:state', 'switch:link']) {
  t.test(`SIGKILL at ${step}`, async (t) => {
    const l = lane();
    const r = await child('switch', l, step);
    t.equal(r.signal, 'SIGKILL', `killed at ${step}: ${r.out}`);
    const b = await boot(l);
    t.equal(b.code, 0, `boot check: ${b.out}`);
    checkNextStart(t, l, step);
  });
}

for (const step of ['commit:state', 'commit:link', 'commit:snapshot']) {
  t.test(`SIGKILL at ${step}`, async (t) => {
    const l = lane();
    t.equal((await child('switch', l)).code, 0, 'switched');
    t.equal((await boot(l)).code, 0, 'start 1 of the trial counted');
    writeFileSync(join(l.stateDir, 'basket.db'), "the new version's database");
    const r = await child('commit', l, step);
    t.equal(r.signal, 'SIGKILL', `killed at ${step}`);
    const b = await boot(l);
    t.equal(b.code, 0, `boot check: ${b.out}`);
    checkNextStart(t, l, step);
    const s = readUpdaterState(stateFilePath(l.root)).state;
    if (s.state === 'good') t.equal(readlinkSync(join(l.root, 'good')), 'slots/b', 'committed: good -> slots/b, repaired if the kill came before the link');
    t.equal(readFileSync(join(l.stateDir, 'basket.db'), 'utf8'), "the new version's database", 'a commit never touches the databases');
  });
}

for (const step of ['rollback:restore', 'rollback:state', 'rollback:link']) {
  t.test(`SIGKILL at ${step}`, async (t) => {
    const l = lane();
    t.equal((await child('switch', l)).code, 0, 'switched');
    writeFileSync(join(l.stateDir, 'basket.db'), "the new version's database");
    const r = await child('rollback', l, step);
    t.equal(r.signal, 'SIGKILL', `killed at ${step}`);
    const b = await boot(l);
    t.equal(b.code, 0, `boot check: ${b.out}`);
    checkNextStart(t, l, step);
    const s = readUpdaterState(stateFilePath(l.root)).state;
    if (s.state === 'rolled-back') {
      t.equal(readlinkSync(join(l.root, 'current')), 'slots/a', 'rolled back: current -> slots/a');
      t.equal(readFileSync(join(l.stateDir, 'basket.db'), 'utf8'), "the old version's database", 'the databases as they were before the switch');
    } else {
      t.ok(s.trial, 'cut before the state was written: still the trial, which the boot check goes on judging');
    }
  });
}
