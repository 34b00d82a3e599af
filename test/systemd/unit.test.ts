import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT, LANED, tempDir, binRuntime } from '../helpers/daemon.js';

// systemd/laned.service checked by systemd's own tools (systemd-analyze verify
// and security, systemd 252), run here in the tests.

const UNIT = join(ROOT, 'systemd/laned.service');

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { timeout: 60_000, env: { ...process.env, SYSTEMD_LOG_COLOR: '0', SYSTEMD_PAGER: '', ...env } }, (err, out, errOut) =>
      resolve({
        code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0,
        out: String(out),
        err: String(errOut),
      }),
    ),
  );
}

/**
 * A copy of the unit whose ExecStart runs this checkout: `systemd-analyze verify`
 * checks that the ExecStart binary exists and is executable, and the slot
 * and /opt/laned need not exist on the machine running the tests. Nothing else changes.
 */
function unitCopy(text = readFileSync(UNIT, 'utf8')): string {
  const dir = join(tempDir('laned-unit-'), 'units');
  mkdirSync(dir);
  const file = join(dir, 'laned.service');
  const rewritten = text.replace(
    /^ExecStart=\/opt\/laned\/current\/runtime\/node ((?:--\S+ )*)\/opt\/laned\/current\/dist\/daemon\/main\.js /m,
    `ExecStart=${process.execPath} $1${LANED} `,
  );
  if (rewritten === text)
    throw new Error(
      'ExecStart of systemd/laned.service is not the /opt/laned/current/runtime/node /opt/laned/current/dist/daemon/main.js form this test rewrites',
    );
  // the boot check runs from the good slot: this checkout here
  writeFileSync(file, goodSlotHere(rewritten));
  writeFileSync(join(dir, 'laned-rollback.service'), goodSlotHere(readFileSync(join(ROOT, 'systemd/laned-rollback.service'), 'utf8')));
  return file;
}

/** `/opt/laned/good/runtime/node /opt/laned/good/dist/…` as this checkout's node and dist/. */
function goodSlotHere(text: string): string {
  return text.replaceAll('/opt/laned/good/runtime/node ', `${process.execPath} `).replaceAll('/opt/laned/good/dist/', `${ROOT}/dist/`);
}

/** Every value of a key in the [Service]/[Unit] sections, in order. */
function settings(key: string): string[] {
  return [...readFileSync(UNIT, 'utf8').matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());
}

t.test('the unit runs node as the laned bin does (its first line): same flags, same environment', async (t) => {
  const { env, flags } = binRuntime();
  const exec = /^ExecStart=\/opt\/laned\/current\/runtime\/node (.*?) ?\/opt\/laned\/current\/dist\/daemon\/main\.js /m.exec(readFileSync(UNIT, 'utf8'));
  t.same(exec?.[1].split(' ').filter(Boolean), flags, `node flags ${flags.join(' ')}`);
  const environment = settings('Environment').flatMap((v) => v.split(/\s+/));
  for (const [k, v] of Object.entries(env)) t.ok(environment.includes(`${k}=${v}`), `Environment= has ${k}=${v}`);
  const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  t.equal(start, [...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'node', ...flags, 'dist/daemon/main.js'].join(' '), `npm start: ${start}`);
});

t.test('systemd-analyze verify is clean', async (t) => {
  const r = await run('systemd-analyze', ['verify', '--man=no', unitCopy()]);
  t.equal(r.code, 0, 'exit 0');
  t.equal(`${r.out}${r.err}`.trim(), '', `no warning or error at all:\n${r.out}${r.err}`);

  // the same check does fail on a broken unit, so the clean result means something
  const broken = unitCopy(readFileSync(UNIT, 'utf8').replace('ProtectSystem=strict', 'ProtectSystm=strict').replace('Type=notify', 'Type=notifyy'));
  const b = await run('systemd-analyze', ['verify', '--man=no', broken]);
  t.match(`${b.out}${b.err}`, /Unknown key (name )?'ProtectSystm'/, 'verify reports an unknown key');
  t.match(`${b.out}${b.err}`, /notifyy/, 'and a bad value');
});

t.test('laned-rollback.service: systemd-analyze verify is clean', async (t) => {
  const file = join(dirname(unitCopy()), 'laned-rollback.service');
  const r = await run('systemd-analyze', ['verify', '--man=no', file]);
  t.equal(r.code, 0, 'exit 0');
  t.equal(`${r.out}${r.err}`.trim(), '', `no warning or error at all:\n${r.out}${r.err}`);
  const broken = join(dirname(file), 'broken-rollback.service');
  writeFileSync(broken, readFileSync(file, 'utf8').replace('Type=oneshot', 'Type=oneshott'));
  const b = await run('systemd-analyze', ['verify', '--man=no', broken]);
  t.match(`${b.out}${b.err}`, /oneshott/, 'the same check reports a bad value');
});

t.test('systemd-analyze security --offline=true: exposure at most 2.5', async (t) => {
  const file = unitCopy();
  const r = await run('systemd-analyze', ['security', '--offline=true', file]);
  t.equal(r.code, 0, r.err);
  const m = /Overall exposure level for laned\.service: (\d+\.\d+)/.exec(r.out);
  t.ok(m, 'an overall exposure line');
  const exposure = Number(m?.[1]);
  t.ok(exposure <= 2.5, `exposure ${exposure} <= 2.5`);
  const th = await run('systemd-analyze', ['security', '--offline=true', '--threshold=25', file]);
  t.equal(th.code, 0, '--threshold=25 (2.5) passes too');

  // hardening settings laned cannot use, as systemd-analyze sees them
  const j = await run('systemd-analyze', ['security', '--offline=true', '--json=short', file]);
  const items = JSON.parse(j.out) as Array<{ name: string; set: boolean; json_field: string }>;
  const item = (field: string) => items.find((x) => x.json_field === field);
  t.equal(item('MemoryDenyWriteExecute')?.set, false, 'not MemoryDenyWriteExecute (V8 needs W+X pages)');
  t.equal(item('PrivateDevices')?.set, false, 'not PrivateDevices (it would hide /dev/tty*, /dev/i2c-*, /dev/input)');
  for (const f of ['NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'PrivateTmp', 'RestrictAddressFamilies_AF_PACKET', 'SystemCallArchitectures']) {
    t.equal(item(f)?.set, true, `${f} in effect`);
  }
});

t.test('the unit: notify, its user and groups, the sandbox, the device allow-list, restarts', async (t) => {
  t.same(settings('Type'), ['notify']);
  t.same(settings('NotifyAccess'), ['all'], 'systemd-notify is a child process of laned');
  t.same(settings('User'), ['laned']);
  t.same(settings('SupplementaryGroups')[0]?.split(/\s+/).sort(), ['dialout', 'gpio', 'i2c', 'input']);
  t.same(settings('StateDirectory'), ['laned']);
  t.same(settings('ProtectSystem'), ['strict']);
  t.same(settings('ProtectHome'), ['yes']);
  t.same(settings('PrivateTmp'), ['yes']);
  t.same(settings('DevicePolicy'), ['closed']);
  const allowed = settings('DeviceAllow').map((x) => x.split(/\s+/)[0]);
  for (const cls of ['char-ttyACM', 'char-ttyUSB', 'char-ttyAMA', 'char-i2c', 'char-gpiochip', 'char-input']) t.ok(allowed.includes(cls), `DeviceAllow=${cls}`);
  t.same(settings('NoNewPrivileges'), ['yes']);
  t.same(settings('RestrictAddressFamilies'), ['AF_UNIX AF_INET AF_INET6']);
  t.same(settings('SystemCallFilter')[0], '@system-service');
  t.same(settings('Restart'), ['on-failure']);
  t.ok(Number(settings('StartLimitBurst')[0]) > 0 && Number(settings('StartLimitIntervalSec')[0]) > 0, 'a start limit');
  t.same(settings('RestartPreventExitStatus'), ['78 73'], 'EX_CONFIG and EX_CANTCREAT stop the restarts');
  t.ok(Number(settings('WatchdogSec')[0]) >= 10, 'WatchdogSec');
  t.ok(Number(settings('TimeoutStopSec')[0]) >= 10, 'TimeoutStopSec');
  t.same(settings('MemoryDenyWriteExecute'), []);
  t.same(settings('PrivateDevices'), []);
});

t.test('laned exits 78 on a bad config, the status RestartPreventExitStatus names', async (t) => {
  const dir = tempDir();
  const cfg = join(dir, 'bad.yaml');
  writeFileSync(cfg, 'broker:\n  port: "not a port"\n');
  const r = await run(process.execPath, [LANED, '--config', cfg, '--state-dir', join(dir, 'state')]);
  t.equal(r.code, 78);
  t.match(r.err, /broker\.port/);
});

t.test('modules-load.d loads i2c-dev', async (t) => {
  const lines = readFileSync(join(ROOT, 'systemd/modules-load.d/laned.conf'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith(';'));
  t.same(lines, ['i2c-dev'], 'one module name per line (modules-load.d(5))');
});
