import t from 'tap';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../daemon/core/paths.js';
import { bundle, keyPair, payloadTarball } from '../helpers/bundle.js';
import { tempDir } from '../helpers/daemon.js';

// Disk full while unpacking: the slots root is a 512 KiB tmpfs in a private mount
// namespace (unshare(1), as root like CI), the payload needs 2 MiB. The bundle is
// refused with no-space, the partial slot is removed and the running slot is intact.

const SCRIPT = 'mount -t tmpfs -o size=512k laned-test "$1" && shift && exec "$@"';
const key = keyPair('store-2026');

t.test('ENOSPC while unpacking: refused, partial slot removed, running slot intact', async (t) => {
  t.equal(process.getuid?.(), 0, 'runs as root, as CI does (mount namespaces need CAP_SYS_ADMIN)');
  const files: Record<string, string> = {};
  for (let i = 0; i < 4; i++) files[`node_modules/big${i}/index.js`] = randomBytes(384 * 1024).toString('base64');
  const file = await bundle({ key, version: '0.2.0', payloadFile: await payloadTarball('0.2.0', files) });
  const root = tempDir('laned-tmpfs-');
  const r = await new Promise<{ err: Error | null; out: string; stderr: string }>((resolve) =>
    execFile(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        SCRIPT,
        'sh',
        root,
        process.execPath,
        '--import',
        'tsx',
        join(PACKAGE_ROOT, 'test/helpers/stage-child.ts'),
        root,
        file,
      ],
      { cwd: PACKAGE_ROOT, timeout: 60_000, env: { ...process.env, STAGE_SETUP: '1', STAGE_KEY_ID: key.id, STAGE_KEY_PEM: key.publicPem } },
      (err, out, stderr) => resolve({ err, out, stderr }),
    ),
  );
  t.equal(r.err, null, `the child ran: ${r.stderr}`);
  const report = JSON.parse(r.out) as {
    before: string;
    after: string;
    slots: string[];
    state: { state: string; reason?: string };
    result: { refused?: string; message?: string };
  };
  t.equal(report.result.refused, 'no-space', report.result.message ?? JSON.stringify(report.result));
  t.match(report.result.message, /no space left/);
  t.equal(report.after, report.before, 'the slots are as they were');
  t.same(report.slots, ['a'], 'no partial slot b.new left');
  t.equal(report.state.state, 'failed');
  t.match(report.state.reason, /no space left/, 'the state says why');
});
