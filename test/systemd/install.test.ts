import t from 'tap';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from '../helpers/daemon.js';
import { loadConfig } from '../../daemon/core/config.js';
import { validateDeviceConfig } from '../../drivers/registry.js';

// image/install.sh: shellcheck-clean, and a real run into a temporary root
// (--root: users and groups with useradd --prefix, nothing started).

const SCRIPT = join(ROOT, 'image/install.sh');

function run(cmd: string, args: string[], timeoutMs = 120_000): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 8 << 20 }, (err, out, errOut) =>
      resolve({
        code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0,
        out: String(out),
        err: String(errOut),
      }),
    ),
  );
}

/** A root with the host's account files, so groupadd/useradd --prefix have something to edit. */
function fakeRoot(): string {
  const root = tempDir('laned-root-');
  mkdirSync(join(root, 'etc'));
  for (const f of ['passwd', 'group', 'shadow', 'gshadow']) {
    if (existsSync(`/etc/${f}`)) copyFileSync(`/etc/${f}`, join(root, 'etc', f));
  }
  return root;
}

const line = (file: string, name: string): string | undefined =>
  readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));

t.test('shellcheck is clean', async (t) => {
  const r = await run('shellcheck', ['--shell=bash', '--severity=style', SCRIPT]);
  t.equal(r.code, 0, `shellcheck:\n${r.out}${r.err}`);
  t.equal((await run('bash', ['-n', SCRIPT])).code, 0, 'bash -n');
});

t.test('--help documents it, an unknown option is refused', async (t) => {
  const h = await run('bash', [SCRIPT, '--help']);
  t.equal(h.code, 0);
  for (const s of [
    'groups dialout, i2c, gpio, input',
    'system user',
    '/opt/laned',
    '/usr/local/bin/laned',
    'laned.service',
    '70-laned.rules',
    'modules-load.d',
    '--root DIR',
    '--modules MODE',
  ])
    t.match(h.out, s);
  const bad = await run('bash', [SCRIPT, '--frob']);
  t.equal(bad.code, 1);
  t.match(bad.err, /unknown option --frob/);
  t.equal((await run('bash', [SCRIPT, '--modules', 'maybe'])).code, 1, 'a --modules value it does not know');
});

t.test('an install into a temporary root', async (t) => {
  const root = fakeRoot();
  const r = await run('bash', [SCRIPT, '--root', root, '--modules', 'copy']);
  t.equal(r.code, 0, `install.sh:\n${r.out}${r.err}`);

  // 1. user and groups
  const passwd = line(join(root, 'etc/passwd'), 'laned');
  t.match(passwd, /^laned:x:\d+:\d+:[^:]*:\/var\/lib\/laned:\/usr\/sbin\/nologin$/, 'system user laned, home /var/lib/laned, no login');
  t.ok(Number(passwd?.split(':')[2]) < 1000, 'a system uid');
  for (const g of ['dialout', 'i2c', 'gpio', 'input']) t.match(line(join(root, 'etc/group'), g), /[:,]laned(,|$)/, `laned in group ${g}`);

  // 2. the package, in slot a, current -> slots/a (relative: right inside an image)
  const pkg = join(root, 'opt/laned/slots/a');
  t.equal(readlinkSync(join(root, 'opt/laned/current')), 'slots/a', '/opt/laned/current -> slots/a');
  t.ok(statSync(join(pkg, 'dist/daemon/main.js')).mode & 0o111, 'laned is executable');
  t.notOk(existsSync(join(pkg, 'dist/test')), 'no compiled tests on the lane');
  t.ok(existsSync(join(pkg, 'ui-static')), 'the touch UI');
  const mods = readdirSync(join(pkg, 'node_modules'));
  t.ok(mods.includes('sqlite3') && mods.includes('aedes') && mods.includes('serialport'), 'production dependencies');
  t.notOk(mods.includes('tap') || mods.includes('typescript') || mods.includes('tsx'), 'no dev dependencies');
  const help = await run(process.execPath, [join(pkg, 'dist/daemon/cli/lanectl.js'), '--help']);
  t.equal(help.code, 0, 'the installed lanectl runs');
  const badCfg = join(root, 'bad.yaml');
  writeFileSync(badCfg, 'lane: [1, 2]\n');
  const exit = await run(process.execPath, [join(pkg, 'dist/daemon/main.js'), '--config', badCfg, '--state-dir', join(root, 'state')]);
  t.equal(exit.code, 78, 'the installed laned runs (and exits 78 on a bad config)');

  // 3. commands
  t.ok(lstatSync(join(root, 'usr/local/bin/laned')).isSymbolicLink());
  t.equal(readlinkSync(join(root, 'usr/local/bin/laned')), '/opt/laned/current/dist/daemon/main.js');
  t.equal(readlinkSync(join(root, 'usr/local/bin/lanectl')), '/opt/laned/current/dist/daemon/cli/lanectl.js');

  // 4. unit, udev, modules, config
  const unit = join(root, 'etc/systemd/system/laned.service');
  const node = (await run('sh', ['-c', 'command -v node'])).out.trim();
  t.equal(
    readFileSync(unit, 'utf8'),
    readFileSync(join(ROOT, 'systemd/laned.service'), 'utf8')
      .replace('ExecStart=/opt/laned/current/runtime/node ', `ExecStart=${node} `)
      .replaceAll('/opt/laned/good/runtime/node ', `${node} `),
    'the unit as in systemd/, ExecStart and the boot check with the node found on the board (a checkout brings none)',
  );
  t.equal(readlinkSync(join(root, 'opt/laned/good')), 'slots/a', '/opt/laned/good -> slots/a: the boot check runs from the installed version');
  t.equal(
    readFileSync(join(root, 'etc/systemd/system/laned-rollback.service'), 'utf8'),
    readFileSync(join(ROOT, 'systemd/laned-rollback.service'), 'utf8').replaceAll('/opt/laned/good/runtime/node ', `${node} `),
    'laned-rollback.service, the OnFailure= of laned.service',
  );
  const verify = await run('systemd-analyze', ['verify', '--man=no', unit]);
  t.equal(`${verify.code} ${verify.out}${verify.err}`.trim(), '0', 'systemd-analyze verify: clean on the installed unit');
  t.equal(readFileSync(join(root, 'etc/udev/rules.d/70-laned.rules'), 'utf8'), readFileSync(join(ROOT, 'systemd/udev/70-laned.rules'), 'utf8'), 'udev rules');
  t.equal(
    readFileSync(join(root, 'etc/modules-load.d/laned.conf'), 'utf8'),
    readFileSync(join(ROOT, 'systemd/modules-load.d/laned.conf'), 'utf8'),
    'modules-load.d',
  );
  const lanedGid = Number(line(join(root, 'etc/group'), 'laned')?.split(':')[2]);
  const confDir = statSync(join(root, 'etc/laned'));
  t.equal(confDir.mode & 0o777, 0o750, '/etc/laned 0750');
  const conf = statSync(join(root, 'etc/laned/laned.yaml'));
  t.equal(conf.mode & 0o777, 0o640, 'laned.yaml 0640');
  if (process.getuid?.() === 0) t.same([conf.uid, conf.gid], [0, lanedGid], 'root:laned: laned reads it, only root changes it');

  // again: nothing duplicated, the config kept, the package replaced
  writeFileSync(join(root, 'etc/laned/laned.yaml'), '# edited by the technician\n');
  writeFileSync(join(pkg, 'stale-file'), 'x');
  const again = await run('bash', [SCRIPT, '--root', root, '--modules', 'none']);
  t.equal(again.code, 0, again.err);
  t.match(again.out, /kept .*laned\.yaml/);
  t.equal(readFileSync(join(root, 'etc/laned/laned.yaml'), 'utf8'), '# edited by the technician\n', 'an edited config is never overwritten');
  t.equal(
    readFileSync(join(root, 'etc/passwd'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('laned:')).length,
    1,
    'one laned user',
  );
  t.notOk(existsSync(join(pkg, 'stale-file')), 'the package folder is replaced as a whole');
  t.notOk(existsSync(`${pkg}.new`) || existsSync(`${pkg}.old`), 'no staging folders left');
  t.equal(readlinkSync(join(root, 'opt/laned/current')), 'slots/a', 'the slot current points to is the one refilled');
  t.same(readdirSync(join(root, 'opt/laned/slots')), ['a'], 'slot b is left to the updater');
});

t.test('the board config it installs is valid, with real devices on the udev names', async (t) => {
  const config = loadConfig(join(ROOT, 'image/laned.yaml'));
  t.equal(config.broker.host, '127.0.0.1', 'broker on loopback');
  const devices = Object.entries(config.devices ?? {});
  t.ok(devices.length >= 4);
  for (const [name, raw] of devices) {
    const v = validateDeviceConfig(name, raw);
    t.ok(v.ok, `${name}: ${v.ok ? 'valid' : v.problem}`);
    if (v.ok) t.equal(v.config.simulate, false, `${name} is a real device`);
  }
  const paths = devices.map(([, raw]) => (raw as { path?: string }).path).filter(Boolean);
  t.same(paths.sort(), ['/dev/laned/scale', '/dev/laned/scanner'], 'serial devices by the names the udev rules give');
});

t.test('a board installed before the slots moves to them; --slot b fills the other slot', async (t) => {
  const root = fakeRoot();
  // the layout install.sh wrote before slots: the package straight in /opt/laned
  mkdirSync(join(root, 'opt/laned/dist/daemon'), { recursive: true });
  writeFileSync(join(root, 'opt/laned/dist/daemon/main.js'), '// old\n');
  writeFileSync(join(root, 'opt/laned/package.json'), '{"version":"0.0.1"}\n');
  const r = await run('bash', [SCRIPT, '--root', root, '--modules', 'none']);
  t.equal(r.code, 0, `install.sh:\n${r.out}${r.err}`);
  t.match(r.out, /moving the package in .*opt\/laned \(before slots\) aside/);
  t.same(readdirSync(join(root, 'opt/laned')).sort(), ['current', 'good', 'slots'], 'only the slots, current and good left in /opt/laned');
  t.equal(readlinkSync(join(root, 'opt/laned/current')), 'slots/a');
  t.not(readFileSync(join(root, 'opt/laned/current/dist/daemon/main.js'), 'utf8'), '// old\n', 'the new package in slot a');

  const b = await run('bash', [SCRIPT, '--root', root, '--modules', 'none', '--slot', 'b']);
  t.equal(b.code, 0, b.err);
  t.equal(readlinkSync(join(root, 'opt/laned/current')), 'slots/b', 'current switched to b');
  t.equal(readlinkSync(join(root, 'opt/laned/good')), 'slots/b', 'and good: the version installed by hand is the good one');
  t.ok(existsSync(join(root, 'opt/laned/slots/a/dist/daemon/main.js')), 'slot a kept (the way back)');
  const again = await run('bash', [SCRIPT, '--root', root, '--modules', 'none']);
  t.equal(again.code, 0, again.err);
  t.equal(readlinkSync(join(root, 'opt/laned/current')), 'slots/b', 'without --slot, the slot current points to is refilled');
  t.equal((await run('bash', [SCRIPT, '--root', root, '--slot', 'c'])).code, 1, 'a slot that is not a or b');
});
