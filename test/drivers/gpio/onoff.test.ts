import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { BOARDS, FakeSysfs } from '../../../drivers/sim/fake-sysfs.js';
import { ROOT } from '../../helpers/daemon.js';

// The real onoff under the real GPIO drivers. onoff only works under /sys/class/gpio,
// so a child process gets a private mount namespace (unshare(1), as root: mount(2)
// needs CAP_SYS_ADMIN) with a FakeSysfs tree bind-mounted there; this process plays
// the kernel's part for export and unexport. What stays for a board: the edge
// interrupt (onoff's watch() polls the value file with epoll EPOLLPRI, which a
// regular file does not raise).

const SCRIPT = `mount -t tmpfs laned-test /sys/class && mkdir /sys/class/gpio && mount --bind "$1" /sys/class/gpio && shift && exec "$@"`;

function inNamespace(tree: string): Promise<{ code: number; out: string; err: string }> {
  const args = [
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    SCRIPT,
    'sh',
    tree,
    process.execPath,
    '--import',
    'tsx',
    join(ROOT, 'test/helpers/onoff-child.ts'),
  ];
  return new Promise((resolve) => {
    execFile('unshare', args, { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr }),
    );
  });
}

t.test('the real onoff drives the fake sysfs tree: export, direction, value, unexport', async (t) => {
  t.equal(process.getuid?.(), 0, 'runs as root, as CI does (mount namespaces need CAP_SYS_ADMIN)');
  const fs = new FakeSysfs({ chips: BOARDS['pi4-6.6'] });
  t.teardown(() => fs.close());
  const stop = fs.serveExports();
  t.teardown(stop);
  const r = await inNamespace(fs.root);
  t.equal(r.code, 0, `the child ran: ${r.err}`);
  const got = JSON.parse(r.out.trim().split('\n').pop() ?? '{}') as Record<string, Record<string, unknown>>;
  t.match(
    got.lamp,
    { state: 'ok', direction: 'out', atStart: '0', on: '1', off: '0', blink: ['0', '1'], exportedAfterStop: false },
    'a lamp on BCM 17 (sysfs 529 on a Pi 4, kernel 6.6)',
  );
  t.match(
    got.activeLow,
    { state: 'ok', direction: 'out', atStart: '1', on: '0', off: '1', blink: ['0', '1'], exportedAfterStop: false },
    'an active-low lamp on BCM 27',
  );
  t.match(got.input, { direction: 'in', edge: 'both', high: 1, low: 0, exportedAfterClose: false }, 'an input: direction, edge, level read through onoff');
});
