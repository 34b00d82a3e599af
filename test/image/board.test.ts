import t from 'tap';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from '../helpers/daemon.js';
import { checkPayload, readManifest } from '../../image/check-payload.js';

// The x64 payload (image/payload.sh) built from this checkout, unpacked outside it and
// run with its own runtime/node; then the board image's root overlay assembled from it
// with image/pi-gen/rootfs.sh (install.sh --root --kiosk and the board settings).

t.setTimeout(1_500_000);

function run(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { cwd: opts.cwd, timeout: opts.timeoutMs ?? 1_200_000, maxBuffer: 32 << 20 }, (err, out, errOut) =>
      resolve({
        code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0,
        out: String(out),
        err: String(errOut),
      }),
    ),
  );
}

const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const out = tempDir('laned-payload-');
const built = run('bash', [join(ROOT, 'image/payload.sh'), '--arch', 'x64', '--out', out]);
const payloadDir = join(out, `laned-${version}-x64`);

t.test('npm run payload -- --arch x64 builds a payload with its own Node', async (t) => {
  const r = await built;
  t.equal(r.code, 0, `payload.sh:\n${r.err.slice(-3000)}`);
  t.equal(r.out.trim(), payloadDir, 'it prints where the payload is');
  const m = readManifest(payloadDir);
  const pin = JSON.parse(readFileSync(join(ROOT, 'image/node-runtime.json'), 'utf8')) as { version: string; x64: { integrity: string } };
  t.equal(m.arch, 'x64');
  t.equal(m.node.version, pin.version, 'the pinned Node version');
  t.equal((m.node as { integrity?: string }).integrity, pin.x64.integrity);
  t.equal(m.node.modules, 115, 'Node 20 addon ABI (NODE_MODULE_VERSION)');
  t.ok(m.node.napi >= 9, `N-API ${m.node.napi}`);
  t.same(
    m.addons
      .map((a) =>
        a.path
          .split('/node_modules/')
          .pop()!
          .split('/build/')[0]!
          .replace(/^node_modules\//, ''),
      )
      .sort(),
    ['@serialport/bindings-cpp', 'epoll', 'i2c-bus', 'sqlite3'],
    'the four native addons, built here (no prebuilds)',
  );
  for (const f of [
    'dist/daemon/main.js',
    'ui-static/index.html',
    'runtime/node',
    'bin/laned',
    'bin/lanectl',
    'image/install.sh',
    'systemd/laned.service',
    'systemd/laned-kiosk.service',
  ])
    t.ok(existsSync(join(payloadDir, f)), f);
  t.notOk(existsSync(join(payloadDir, 'dist/test')), 'no compiled tests');
  const mods = readdirSync(join(payloadDir, 'node_modules'));
  t.notOk(mods.includes('tap') || mods.includes('typescript') || mods.includes('tsx'), 'no dev dependencies');
  t.notOk(existsSync(join(payloadDir, 'node_modules/@serialport/bindings-cpp/prebuilds')), 'no prebuilt binaries beside ours');
  const sums = await run('sha256sum', ['--quiet', '-c', 'SHA256SUMS'], { cwd: payloadDir });
  t.equal(sums.code, 0, `every file matches SHA256SUMS ${sums.out}${sums.err}`);
  t.ok(readFileSync(join(payloadDir, 'SHA256SUMS'), 'utf8').split('\n').length > 1000, 'SHA256SUMS lists the files');
  t.ok(statSync(`${payloadDir}.tar.gz`).size > 10 << 20, 'the tarball');
  const bad = await run('bash', [join(ROOT, 'image/payload.sh'), '--arch', 'sparc']);
  t.equal(bad.code, 1);
  t.match(bad.err, /--arch sparc: use arm64 or x64/, 'an unknown CPU is named');
});

t.test('the x64 payload, unpacked outside the checkout, runs on its own Node', async (t) => {
  t.equal((await built).code, 0, 'payload built');
  const elsewhere = tempDir('laned-unpacked-');
  const r = await run('tar', ['-xzf', `${payloadDir}.tar.gz`, '-C', elsewhere]);
  t.equal(r.code, 0, r.err);
  const copy = join(elsewhere, `laned-${version}-x64`);
  t.notOk(copy.startsWith(ROOT), 'outside the checkout');
  const help = await run(join(copy, 'bin/lanectl'), ['--help']);
  t.equal(help.code, 0, `bin/lanectl runs: ${help.err}`);
  const steps = await checkPayload(copy, { log: (l) => t.comment(l) });
  for (const s of steps) t.ok(s.ok, `${s.what}: ${s.detail}`);
  t.ok(
    steps.some((s) => s.what.includes("payload's files only") && s.ok),
    "laned mapped only the payload's addons and ran its runtime/node",
  );
  t.ok(
    steps.some((s) => s.what.includes('reaches doc/basket') && s.ok),
    'a scan reached doc/basket',
  );
});

/** A root file system as Raspberry Pi OS Lite leaves it for the next pi-gen stage, as far as rootfs.sh needs. */
function raspiosRoot(): string {
  const root = tempDir('laned-image-');
  mkdirSync(join(root, 'etc'));
  for (const f of ['passwd', 'group', 'shadow', 'gshadow']) if (existsSync(`/etc/${f}`)) copyFileSync(`/etc/${f}`, join(root, 'etc', f));
  mkdirSync(join(root, 'boot/firmware'), { recursive: true });
  // the lines of Raspberry Pi OS bookworm's stock config.txt and cmdline.txt that matter here
  writeFileSync(
    join(root, 'boot/firmware/config.txt'),
    '# For more options and information see\n# http://rptl.io/configtxt\n#dtparam=i2c_arm=on\ndtparam=audio=on\nauto_initramfs=1\n[all]\n',
  );
  writeFileSync(
    join(root, 'boot/firmware/cmdline.txt'),
    'console=serial0,115200 console=tty1 root=PARTUUID=12345678-02 rootfstype=ext4 fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot\n',
  );
  // systemd's own units (Debian 12's systemd 252 here, as on Raspberry Pi OS bookworm), so
  // systemd-analyze verify --root= finds the targets the units hang on
  cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  writeFileSync(
    join(root, 'etc/fstab'),
    'proc /proc proc defaults 0 0\nPARTUUID=12345678-01 /boot/firmware vfat defaults 0 2\nPARTUUID=12345678-02 / ext4 defaults,noatime 0 1\n',
  );
  return root;
}

t.test('the board image root overlay, assembled from the payload', async (t) => {
  t.equal((await built).code, 0, 'payload built');
  const root = raspiosRoot();
  const r = await run('bash', [join(payloadDir, 'image/pi-gen/rootfs.sh'), '--root', root]);
  t.equal(r.code, 0, `rootfs.sh:\n${r.out}${r.err}`);

  // slots
  t.equal(readlinkSync(join(root, 'opt/laned/current')), 'slots/a', '/opt/laned/current -> slots/a');
  t.ok(statSync(join(root, 'opt/laned/slots/a/runtime/node')).mode & 0o111, 'the slot has its runtime/node');
  t.same(
    JSON.parse(readFileSync(join(root, 'opt/laned/slots/a/payload.json'), 'utf8')),
    JSON.parse(readFileSync(join(payloadDir, 'payload.json'), 'utf8')),
    'the payload as built',
  );
  t.equal(readlinkSync(join(root, 'usr/local/bin/lanectl')), '/opt/laned/current/bin/lanectl');

  // units: laned runs the slot's own Node; the kiosk; both enabled
  const unit = readFileSync(join(root, 'etc/systemd/system/laned.service'), 'utf8');
  t.match(
    unit,
    /^ExecStart=\/opt\/laned\/current\/runtime\/node --max-semi-space-size=2 \/opt\/laned\/current\/dist\/daemon\/main\.js --config \/etc\/laned\/laned\.yaml$/m,
  );
  t.equal(readFileSync(join(root, 'etc/systemd/system/laned-kiosk.service'), 'utf8'), readFileSync(join(ROOT, 'systemd/laned-kiosk.service'), 'utf8'));
  t.ok(lstatSync(join(root, 'etc/systemd/system/multi-user.target.wants/laned.service')).isSymbolicLink(), 'laned enabled');
  t.ok(lstatSync(join(root, 'etc/systemd/system/multi-user.target.wants/laned-kiosk.service')).isSymbolicLink(), 'the kiosk enabled');
  t.ok(lstatSync(join(root, 'etc/systemd/system/local-fs.target.wants/laned-statefs.service')).isSymbolicLink(), 'the state partition unit enabled');
  t.match(readFileSync(join(root, 'etc/systemd/system/laned.service.d/state-partition.conf'), 'utf8'), /^RequiresMountsFor=\/var\/lib\/laned$/m);
  t.match(readFileSync(join(root, 'etc/passwd'), 'utf8'), /^laned-kiosk:x:\d+:\d+:[^:]*:\/var\/lib\/laned-kiosk:\/usr\/sbin\/nologin$/m, 'the kiosk user');
  for (const g of ['video', 'render', 'input'])
    t.match(
      readFileSync(join(root, 'etc/group'), 'utf8')
        .split('\n')
        .find((l) => l.startsWith(`${g}:`)),
      /[:,]laned-kiosk(,|$)/,
      `laned-kiosk in ${g}`,
    );
  t.match(readFileSync(join(root, 'etc/pam.d/laned-kiosk'), 'utf8'), /^session\s+required\s+pam_systemd\.so$/m, 'a logind session for cage');

  // udev, modules, config
  t.equal(readFileSync(join(root, 'etc/udev/rules.d/70-laned.rules'), 'utf8'), readFileSync(join(ROOT, 'systemd/udev/70-laned.rules'), 'utf8'));
  t.equal(readFileSync(join(root, 'etc/modules-load.d/laned.conf'), 'utf8'), readFileSync(join(ROOT, 'systemd/modules-load.d/laned.conf'), 'utf8'));
  t.equal(readFileSync(join(root, 'etc/laned/laned.yaml'), 'utf8'), readFileSync(join(ROOT, 'image/laned.yaml'), 'utf8'));

  // board settings
  const config = readFileSync(join(root, 'boot/firmware/config.txt'), 'utf8').split('\n');
  t.ok(config.includes('dtparam=i2c_arm=on') && config.includes('dtparam=watchdog=on'), 'I2C and the watchdog on in config.txt');
  t.ok(config.includes('dtparam=audio=on'), 'the rest of config.txt kept');
  const cmdline = readFileSync(join(root, 'boot/firmware/cmdline.txt'), 'utf8');
  t.equal(cmdline.split('\n').length, 2, 'cmdline.txt stays one line');
  t.match(cmdline, /(^| )consoleblank=0(\s|$)/, 'no console blanking');
  t.match(cmdline, /(^| )overlayroot=tmpfs:recurse=0(\s|$)/, 'read-only root with an overlay in RAM');
  t.notMatch(cmdline, /firstboot/, "Raspberry Pi OS's first-boot root resize off (its space is the state partition)");
  t.match(cmdline, /root=PARTUUID=12345678-02 /, 'the root kept');
  t.match(
    readFileSync(join(root, 'etc/fstab'), 'utf8'),
    /^LABEL=laned-state \/var\/lib\/laned ext4 \S*nofail\S* 0 2$/m,
    'the state partition at /var/lib/laned',
  );
  t.match(
    readFileSync(join(root, 'etc/systemd/system.conf.d/laned-watchdog.conf'), 'utf8'),
    /^RuntimeWatchdogSec=14s$/m,
    'the hardware watchdog (bcm2835-wdt counts to 15 s)',
  );
  t.match(readFileSync(join(root, 'etc/systemd/journald.conf.d/laned.conf'), 'utf8'), /^Storage=volatile$/m, 'the journal in RAM');
  const sshd = readFileSync(join(root, 'etc/ssh/sshd_config.d/laned.conf'), 'utf8');
  t.match(sshd, /^PasswordAuthentication no$/m);
  t.match(sshd, /^KbdInteractiveAuthentication no$/m);
  const policy = JSON.parse(readFileSync(join(root, 'etc/chromium/policies/managed/laned.json'), 'utf8')) as { URLBlocklist: string[]; URLAllowlist: string[] };
  t.same(policy.URLBlocklist, ['*'], 'Chromium: everything blocked…');
  t.ok(
    policy.URLAllowlist.every((u) => /^http:\/\/(127\.0\.0\.1|localhost):8080\/$/.test(u)),
    '…but the lane on loopback',
  );

  // again: idempotent
  const again = await run('bash', [join(payloadDir, 'image/pi-gen/rootfs.sh'), '--root', root]);
  t.equal(again.code, 0, again.err);
  t.equal(
    readFileSync(join(root, 'boot/firmware/config.txt'), 'utf8')
      .split('\n')
      .filter((l) => l === 'dtparam=i2c_arm=on').length,
    1,
    'config.txt lines once',
  );
  t.equal(readFileSync(join(root, 'boot/firmware/cmdline.txt'), 'utf8').match(/overlayroot=/g)?.length, 1, 'cmdline.txt arguments once');
  t.equal(readFileSync(join(root, 'etc/fstab'), 'utf8').match(/laned-state/g)?.length, 1, 'fstab line once');

  // systemd-analyze verify --root: clean but for what only the image has (cage, Chromium, the OS units)
  const verify = await run('systemd-analyze', [
    'verify',
    '--man=no',
    `--root=${root}`,
    '/etc/systemd/system/laned.service',
    '/etc/systemd/system/laned-kiosk.service',
    '/etc/systemd/system/laned-statefs.service',
  ]);
  const problems = `${verify.out}${verify.err}`
    .split('\n')
    .filter(Boolean)
    // what only the image has: Raspberry Pi OS's plymouth and D-Bus units
    .filter((l) => !/(plymouth-quit-wait\.service|dbus\.socket)/.test(l));
  t.comment(`systemd-analyze verify --root:\n${verify.out}${verify.err}`);
  t.same(problems, [], 'nothing else to say about the units');

  // the kiosk unit's exposure, printed (Chromium's sandbox needs namespaces: not as low as laned's)
  const score = await run('systemd-analyze', ['security', '--offline=true', `--root=${root}`, '--no-pager', 'laned-kiosk.service']);
  const overall = /Overall exposure level for laned-kiosk\.service: ([\d.]+)/.exec(`${score.out}${score.err}`);
  t.ok(overall, `systemd-analyze security printed a score: ${(score.out + score.err).slice(-300)}`);
  t.comment(`laned-kiosk.service exposure: ${overall?.[1]} (laned.service: see test/systemd/unit.test.ts)`);
  t.ok(Number(overall?.[1]) < 7, `laned-kiosk.service exposure ${overall?.[1]} is below "exposed"`);
});

t.test('rootfs.sh refuses a folder that is not a Raspberry Pi OS root', async (t) => {
  t.equal((await built).code, 0, 'payload built');
  const r = await run('bash', [join(payloadDir, 'image/pi-gen/rootfs.sh'), '--root', tempDir('laned-notaroot-')]);
  t.equal(r.code, 1);
  t.match(r.err, /boot\/firmware\/config\.txt missing/);
});
