/**
 * A test process that dies without its teardowns (tap's timeout kills it) takes its
 * lanes and store brokers with it: the guard (test/helpers/orphan-guard.ts) kills the
 * children it was given once the test process is gone, and leaves alone a child that
 * already ended. Checked with a stand-in test process that is SIGKILLed.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { ROOT } from './helpers/daemon.js';
import { until } from './helpers/wait.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// The stand-in: starts two long sleeps under the guard, lets one end, prints both pids, waits.
const STAND_IN = `
import { spawn } from 'node:child_process';
import { guardChild } from './test/helpers/orphan-guard.ts';
const kept = spawn('sleep', ['600'], { stdio: 'ignore' });
guardChild(kept);
const ended = spawn('sleep', ['600'], { stdio: 'ignore' });
guardChild(ended);
ended.once('exit', () => process.stdout.write(JSON.stringify({ kept: kept.pid, ended: ended.pid }) + '\\n'));
ended.kill('SIGTERM');
setInterval(() => undefined, 1000);
`;

t.test('children under the guard die with a test process killed outright', async (t) => {
  const standIn = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', STAND_IN], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const pids = await new Promise<{ kept: number; ended: number }>((resolve, reject) => {
    let out = '';
    standIn.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      if (out.includes('\n')) resolve(JSON.parse(out) as { kept: number; ended: number });
    });
    standIn.once('exit', (code) => reject(new Error(`the stand-in exited (${code}) before it started its children`)));
  });
  t.teardown(() => {
    if (alive(pids.kept)) process.kill(pids.kept, 'SIGKILL');
  });
  t.ok(alive(pids.kept), 'the child runs while its test process does');
  standIn.kill('SIGKILL');
  await until(() => !alive(pids.kept), 10_000, `child ${pids.kept} killed by the guard`);
  t.notOk(alive(pids.kept), 'the child is gone with its test process');
});
