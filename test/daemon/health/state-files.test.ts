import t from 'tap';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { healthz, startDaemon, tempDir, writeConfig, query, type RunningDaemon } from '../../helpers/daemon.js';
import { eventually } from '../../helpers/wait.js';
import { lanectl } from '../../helpers/lanectl.js';

// The state directory's small files fail safe: a damaged board epoch is
// recovered from the stores (board time never runs backwards), damaged
// credentials are replaced and the technician told who needs the new secret, a
// deleted credentials file is noticed, a damaged terminal journal degrades like
// any database, and a state directory laned cannot use is one line and exit 73.

interface Health {
  status: string;
  reasons: string[];
  epoch: number;
  statusLine: string;
}

/** The epochs of the scanner's logged events (devices.db outbox). */
async function scannerEpochs(stateDir: string): Promise<number[]> {
  const rows = await query<{ e: number }>(
    join(stateDir, 'devices.db'),
    "SELECT json_extract(payload, '$.at.epoch') AS e FROM outbox WHERE source = 'scanner' ORDER BY seq",
  );
  return rows.map((r) => r.e);
}

t.test('a damaged board-epoch.json: the epoch goes on from the highest the stores have seen, and the lane says so', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir);
  // a board that has booted 58 times
  writeFileSync(join(stateDir, 'board-epoch.json'), JSON.stringify({ epoch: 58, bootId: 'an-earlier-boot' }));
  const cfg = writeConfig(dir, {});
  const first = await startDaemon({ configFile: cfg, stateDir });
  t.equal((await healthz<Health>(first)).body.epoch, 59, 'a new boot: epoch 59');
  t.equal((await lanectl(stateDir, ['sim', 'scan', '4006381333931', '--device', 'scanner'])).code, 0);
  await eventually(async () => ((await scannerEpochs(stateDir)).includes(59) ? true : undefined), 'a scan logged at epoch 59');
  t.equal(await first.kill('SIGTERM'), 0);

  // torn by a power cut: zeros where the JSON was
  writeFileSync(join(stateDir, 'board-epoch.json'), Buffer.alloc(24));
  const d = await startDaemon({ configFile: cfg, stateDir });
  t.teardown(() => d.kill('SIGKILL'));
  const h = await healthz<Health>(d);
  t.equal(h.body.epoch, 60, 'the epoch moves on past the 59 the devices log holds, never back to 1');
  t.equal(h.body.status, 'degraded');
  t.equal(h.code, 200);
  t.match(
    h.body.reasons.join('\n'),
    /board-epoch\.json was damaged \(not JSON: .*\); moved aside to .*board-epoch\.json\.corrupt-\S+; epoch recovered as 60, after the highest seen in the stores \(59 in \S+\.db\)/,
    'the reason names the file, where it went and the epoch recovered',
  );
  t.match(h.body.statusLine, /^degraded \(board-epoch\.json damaged, replaced\)/, 'STATUS= says it');
  t.equal(readdirSync(stateDir).filter((f) => f.startsWith('board-epoch.json.corrupt-')).length, 1, 'the damaged file is kept');
  t.equal((JSON.parse(readFileSync(join(stateDir, 'board-epoch.json'), 'utf8')) as { epoch: number }).epoch, 60, 'and the recovered epoch persisted');
  t.equal((await lanectl(stateDir, ['sim', 'scan', '5449000000996', '--device', 'scanner'])).code, 0);
  const epochs = await eventually(async () => {
    const e = await scannerEpochs(stateDir);
    return e.includes(60) ? e : undefined;
  }, 'a scan logged at epoch 60');
  t.same(
    epochs,
    [...epochs].sort((a, b) => a - b),
    'board time never runs backwards in the log',
  );
  const st = await lanectl(stateDir, ['status']);
  t.equal(st.code, 1);
  t.match(st.out, /^lane: degraded \(state .*board-epoch\.json: .*epoch recovered as 60/m, 'lanectl status says it');
});

t.test('a damaged credentials.json: moved aside, new passwords, the technician told which clients need them', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir);
  writeFileSync(join(stateDir, 'credentials.json'), '{"driver": "abc', { mode: 0o600 });
  const d = await startDaemon({ configFile: writeConfig(dir, {}), stateDir });
  t.teardown(() => d.kill('SIGKILL'));
  const h = await healthz<Health>(d);
  t.equal(h.body.status, 'degraded', 'the lane starts, degraded');
  t.match(
    h.body.reasons.join('\n'),
    /credentials\.json was damaged \(not valid JSON: .*\); moved aside to .*credentials\.json\.corrupt-\S+ and new passwords generated; give the new password to every client outside laned that signs in as ui, technician, uplink \(lanectl creds <role>\)/,
  );
  t.equal(readdirSync(stateDir).filter((f) => f.startsWith('credentials.json.corrupt-')).length, 1, 'the damaged file is kept');
  const creds = await lanectl(stateDir, ['creds', 'technician']);
  t.equal(creds.code, 0, 'lanectl reads the new file');
  t.ok(creds.out.trim().length >= 16, 'a new technician password');
  const st = await lanectl(stateDir, ['status']);
  t.equal(st.code, 1, 'lanectl status signs in with it and says degraded');
  t.match(
    st.out,
    /^lane: degraded \(state .*credentials\.json: .*give the new password to every client outside laned that signs in as ui, technician, uplink/m,
  );
});

t.test('credentials.json deleted while laned runs: noticed, written again with the passwords in use', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  const d = await startDaemon({ configFile: writeConfig(dir, { health: { checkMs: 200 } }), stateDir });
  t.teardown(() => d.kill('SIGKILL'));
  const file = join(stateDir, 'credentials.json');
  const before = readFileSync(file, 'utf8');
  t.equal((await healthz<Health>(d)).body.status, 'ready');
  rmSync(file);
  const h = await eventually(async () => {
    const x = await healthz<Health>(d);
    return x.body.status === 'degraded' ? x : undefined;
  }, 'the deletion to be noticed');
  t.match(h.body.reasons.join('\n'), /credentials\.json was deleted while laned ran .*; written again with the passwords in use/);
  t.match(h.body.statusLine, /^degraded \(credentials\.json deleted, written again\)/);
  t.equal(readFileSync(file, 'utf8'), before, 'the same passwords, so every client keeps working');
  t.equal((await lanectl(stateDir, ['status'])).code, 1, 'lanectl signs in and reports degraded');
});

t.test('a damaged payment-terminal.db degrades the lane like any other database', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  const cfg = writeConfig(dir, {});
  const first = await startDaemon({ configFile: cfg, stateDir });
  t.equal(await first.kill('SIGTERM'), 0);
  const file = join(stateDir, 'payment-terminal.db');
  t.ok(existsSync(file), 'the simulated terminal keeps its journal');
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(8192, 0x5a), 0, 8192, 4096);
  closeSync(fd);
  const d = await startDaemon({ configFile: cfg, stateDir });
  t.teardown(() => d.kill('SIGKILL'));
  const h = await healthz<Health>(d);
  t.equal(h.body.status, 'degraded');
  t.match(h.body.reasons.join('\n'), /payment-terminal\.db failed its integrity check .*; moved aside to .*payment-terminal\.db\.corrupt-\S+/);
  t.match(h.body.statusLine, /^degraded \(database payment-terminal\.db corrupt, moved aside\)/);
});

/** laned as user nobody, without the test runner's NODE_OPTIONS (its hooks write where nobody may not). */
const AS_NOBODY = ['env', '-u', 'NODE_OPTIONS', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

/** laned's own stderr and exit, for a start that must not get far. */
async function failedStart(d: RunningDaemon): Promise<{ code: number | string; text: string }> {
  const code = await d.exited;
  return { code, text: d.lines.join('\n') };
}

t.test('a read-only state directory: one line naming it, exit 73', async (t) => {
  t.equal(process.getuid?.(), 0, 'runs as root (a read-only bind mount in a private mount namespace)');
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir);
  const d = await startDaemon({
    configFile: writeConfig(dir, {}),
    stateDir,
    waitReady: false,
    wrap: [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"',
      'sh',
      stateDir,
    ],
  });
  const r = await failedStart(d);
  t.equal(r.code, 73, 'EX_CANTCREAT');
  t.equal(r.text.trim().split('\n').length, 1, `one line: ${r.text}`);
  t.match(r.text, new RegExp(`^laned: state directory ${stateDir} is on a read-only filesystem \\(EROFS\\); laned keeps its databases`));
  t.notMatch(r.text, /\n\s+at /, 'no stack trace');
});

t.test('a state directory laned may not read: one line naming it, exit 73', async (t) => {
  t.equal(process.getuid?.(), 0, 'runs as root (to start laned as another user)');
  const dir = tempDir();
  chmodSync(dir, 0o755);
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir, { mode: 0o700 });
  const cfg = writeConfig(dir, {});
  chmodSync(cfg, 0o644);
  const d = await startDaemon({
    configFile: cfg,
    stateDir,
    waitReady: false,
    wrap: AS_NOBODY,
  });
  const r = await failedStart(d);
  t.equal(r.code, 73, 'EX_CANTCREAT');
  t.equal(r.text.trim().split('\n').length, 1, `one line: ${r.text}`);
  t.match(r.text, new RegExp(`^laned: state directory ${stateDir} is not readable and writable by this user \\(EACCES\\)`));
});

t.test('a credentials.json laned may not read: one line naming the file, exit 73', async (t) => {
  t.equal(process.getuid?.(), 0, 'runs as root (to start laned as another user)');
  const dir = tempDir();
  chmodSync(dir, 0o755);
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir, { mode: 0o777 });
  chmodSync(stateDir, 0o777);
  writeFileSync(join(stateDir, 'credentials.json'), '{}', { mode: 0o600 });
  const cfg = writeConfig(dir, {});
  chmodSync(cfg, 0o644);
  const d = await startDaemon({ configFile: cfg, stateDir, waitReady: false, wrap: AS_NOBODY });
  const r = await failedStart(d);
  t.equal(r.code, 73);
  t.equal(r.text.trim().split('\n').length, 1, `one line: ${r.text}`);
  t.match(r.text, /^laned: state directory .*: credentials\.json is not readable and writable by this user \(EACCES\)/);
});
