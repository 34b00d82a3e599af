import t from 'tap';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../helpers/daemon.js';

// Every shell script in the repository is shellcheck-clean, and the pi-gen stage has
// what pi-gen looks for (pi-gen's build.sh: prerun.sh and NN-run.sh executable,
// NN-run-chroot.sh piped into the chroot, NN-packages(-nr) lists, EXPORT_IMAGE).

function run(cmd: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { timeout: 120_000, maxBuffer: 8 << 20 }, (err, out, errOut) =>
      resolve({
        code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0,
        out: String(out),
        err: String(errOut),
      }),
    ),
  );
}

const SKIP = new Set(['node_modules', 'dist', 'build', '.git', '.tap']);
/** Files whose first line runs a shell, or named *.sh. */
function shellScripts(dir = ROOT): string[] {
  const found: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) found.push(...shellScripts(p));
    else if (e.isFile()) {
      const head = readFileSync(p, 'utf8').slice(0, 64);
      if (e.name.endsWith('.sh') || /^#!\s*\/(usr\/)?bin\/(env )?(ba)?sh\b/.test(head)) found.push(p);
    }
  }
  return found;
}

t.test('shellcheck: every shell script', async (t) => {
  const scripts = shellScripts();
  const names = scripts.map((s) => relative(ROOT, s));
  for (const must of [
    'image/install.sh',
    'image/payload.sh',
    'image/pi-gen/rootfs.sh',
    'image/kiosk/laned-kiosk',
    'image/bin/laned',
    'image/bin/lanectl',
    '.ci/run',
  ])
    t.ok(names.includes(must), `${must} is checked`);
  for (const s of scripts) {
    const r = await run('shellcheck', ['--severity=style', '--external-sources', s]);
    t.equal(r.code, 0, `shellcheck ${relative(ROOT, s)}\n${r.out}${r.err}`);
  }
});

const STAGE = join(ROOT, 'image/pi-gen/stage-laned');
const executable = (f: string): boolean => (statSync(f).mode & 0o111) !== 0;

t.test('the pi-gen stage has what pi-gen needs', async (t) => {
  t.ok(executable(join(STAGE, 'prerun.sh')), 'prerun.sh executable');
  t.match(readFileSync(join(STAGE, 'prerun.sh'), 'utf8'), /copy_previous/, 'prerun.sh starts from the previous stage');
  t.match(readFileSync(join(STAGE, 'EXPORT_IMAGE'), 'utf8'), /^IMG_SUFFIX="-laned"$/m, 'EXPORT_IMAGE: an image is exported, named -laned');
  const subs = readdirSync(STAGE, { withFileTypes: true }).filter((e) => e.isDirectory());
  t.ok(subs.length >= 2, 'sub-stages');
  for (const sub of subs) {
    t.match(sub.name, /^\d\d-[a-z-]+$/, `${sub.name}: pi-gen runs sub-stages in NN- order`);
    for (const f of readdirSync(join(STAGE, sub.name))) {
      const p = join(STAGE, sub.name, f);
      if (/^\d\d-run\.sh$/.test(f)) t.ok(executable(p), `${sub.name}/${f} executable (pi-gen runs it only then)`);
      else if (/^\d\d-run-chroot\.sh$/.test(f)) t.match(readFileSync(p, 'utf8'), /^#!\/bin\/bash -e\n/, `${sub.name}/${f} stops at the first error`);
      else if (/^\d\d-packages(-nr)?$/.test(f)) {
        const pkgs = readFileSync(p, 'utf8')
          .split('\n')
          .filter((l) => l && !l.startsWith('#'));
        for (const pkg of pkgs) t.match(pkg, /^[a-z0-9][a-z0-9+.-]+$/, `${sub.name}/${f}: ${pkg} is a package name`);
        for (const pkg of ['cage', 'chromium', 'fake-hwclock', 'systemd-timesyncd', 'overlayroot']) t.ok(pkgs.includes(pkg), `${pkg} installed`);
      } else t.ok(f === 'files' && statSync(p).isDirectory(), `${sub.name}/${f}: pi-gen knows it (files/ for run scripts)`);
    }
  }
  const run = readFileSync(join(STAGE, '01-laned/00-run.sh'), 'utf8');
  t.match(run, /image\/pi-gen\/rootfs\.sh" --root "\$\{ROOTFS_DIR\}"/, "00-run.sh lays the payload out with the payload's rootfs.sh");
  t.match(run, /sha256sum --quiet -c SHA256SUMS/, 'and checks the payload against its SHA256SUMS first');
  const example = readFileSync(join(ROOT, 'image/pi-gen/config.example'), 'utf8');
  t.match(example, /^PUBKEY_ONLY_SSH=1$/m, 'the example config: SSH keys only');
  t.match(example, /^STAGE_LIST=".*stage2 .*image\/pi-gen\/stage-laned"$/m, 'stage-laned after stage2 (Lite)');
});
