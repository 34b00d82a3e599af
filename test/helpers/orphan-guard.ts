/**
 * A test's long-lived children (lanes, store brokers) must not outlive it. Teardowns
 * do not run when tap kills a test process on its timeout (SIGALRM, then SIGKILL), and
 * a lane left running holds ports and CPU for every test after it. So each test
 * process has one guard: a small process that reads the children's pids on a pipe
 * from the test, and when that pipe closes (the test process is gone, however it
 * ended) SIGKILLs those still running.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const GUARD = `
const pids = new Set();
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buf += chunk;
  for (let i = buf.indexOf('\\n'); i >= 0; i = buf.indexOf('\\n')) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    if (line.startsWith('-')) pids.delete(line.slice(1));
    else pids.add(line);
  }
});
process.stdin.on('end', () => {
  for (const pid of pids) {
    try { process.kill(Number(pid), 'SIGKILL'); } catch {}
  }
  process.exit(0);
});
`;

let guard: ChildProcess | undefined;

/** Have `child` killed if this test process ends while it still runs. */
export function guardChild(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  if (!guard) {
    // its own process group, so that whatever kills the test's group leaves the guard to clean up
    guard = spawn(process.execPath, ['-e', GUARD], { stdio: ['pipe', 'ignore', 'ignore'], detached: true, env: { ...process.env, NODE_OPTIONS: '' } });
    guard.unref();
    // the pipe must not keep the test process up either
    (guard.stdin as unknown as { unref(): void }).unref();
  }
  const pipe = guard.stdin!;
  pipe.write(`${child.pid}\n`);
  child.once('exit', () => {
    if (!pipe.destroyed) pipe.write(`-${child.pid}\n`);
  });
}
