import t from 'tap';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { LANED, LANECTL, binRuntime, tempDir, writeConfig } from '../helpers/daemon.js';

// `host: 0.0.0.0` makes a listener reachable from every network the board is on: the
// daemon says so at start. It runs in a network namespace of its own (unshare -rn)
// whose only interface is loopback, so nothing listens beyond this machine.

t.test('wildcard listen addresses are warned about, naming what becomes reachable', async (t) => {
  const probe = spawnSync('unshare', ['-rn', 'sh', '-c', 'ip link set lo up'], { encoding: 'utf8' });
  t.equal(probe.status, 0, `unshare -rn and ip set up a network namespace (util-linux, iproute2, user namespaces): ${probe.stderr}`);
  const stateDir = tempDir();
  const config = writeConfig(stateDir, { devices: {}, broker: { host: '0.0.0.0' }, http: { host: '0.0.0.0' } });
  const { env, flags } = binRuntime();
  const proc = spawn(
    'unshare',
    ['-rn', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, ...flags, LANED, '--state-dir', stateDir, '--config', config],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  const exited = new Promise((r) => proc.on('exit', r));
  t.teardown(async () => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
    await exited;
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer): void => {
      out += b.toString('utf8');
      if (/"msg":"laned (ready|degraded) in/.test(out)) resolve();
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`laned exited before ready:\n${out}`)));
  });
  const lines = out.split('\n').filter((l) => l.startsWith('<4>'));
  t.ok(
    lines.some((l) => /broker\.host 0\.0\.0\.0: the MQTT broker on port \d+ is reachable from every network the board is on/.test(l)),
    'the broker listener',
  );
  t.ok(
    lines.some((l) =>
      /http\.host 0\.0\.0\.0: the touch UI, \/healthz, \/metrics and MQTT over WebSocket \(\/mqtt\) on port \d+ are reachable from every network the board is on/.test(
        l,
      ),
    ),
    'the HTTP listener and what it serves',
  );

  // lanectl finds the daemon under the configured address (runtime.json): /healthz answers to it
  const status = await new Promise<{ code: number; out: string }>((resolve) =>
    execFile(
      'nsenter',
      [`--net=/proc/${proc.pid}/ns/net`, process.execPath, LANECTL, '--state-dir', stateDir, 'status'],
      { timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    ),
  );
  t.equal(status.code, 0, `lanectl status answers: ${status.out}`);
});
