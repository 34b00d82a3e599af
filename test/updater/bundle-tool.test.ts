import t from 'tap';
import { execFile } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { list } from 'tar';
import { PACKAGE_ROOT } from '../../daemon/core/paths.js';
import { UpdaterStateKeeper } from '../../daemon/updater/state-file.js';
import { Stager } from '../../daemon/updater/stage.js';
import { silentLogger } from '../../daemon/core/log.js';
import { payloadTarball, slotsRoot } from '../helpers/bundle.js';
import { tempDir } from '../helpers/daemon.js';
import { lanectl } from '../helpers/lanectl.js';

// The tools of store IT: `lanectl update keygen` makes the key pair, `npm run
// bundle` (image/bundle.ts) signs a payload with it; a lane trusting the .pub
// stages the result. The bundle's entries come in the order a reader needs them.

function bundleTool(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', join(PACKAGE_ROOT, 'image', 'bundle.ts'), ...args],
      { cwd: PACKAGE_ROOT, timeout: 60_000 },
      (err, out, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out, err: stderr }),
    ),
  );
}

t.test('keygen, bundle, stage', async (t) => {
  const dir = tempDir();
  const state = join(dir, 'state');
  const made = await lanectl(state, ['update', 'keygen', 'store-2026', '--out', dir]);
  t.equal(made.code, 0, made.err);
  t.match(made.out, /- id: store-2026\n\s+file: .*store-2026\.pub/, 'prints the config entry');
  t.equal(statSync(join(dir, 'store-2026.key')).mode & 0o777, 0o600, 'the private key is 0600');
  t.equal(createPublicKey(readFileSync(join(dir, 'store-2026.pub'), 'utf8')).asymmetricKeyType, 'ed25519');
  const again = await lanectl(state, ['update', 'keygen', 'store-2026', '--out', dir]);
  t.equal(again.code, 73, 'an existing key is not overwritten');
  t.match(again.err, /store-2026\.key exists/);

  const version = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const payloadFile = await payloadTarball('9.9.9');
  const out = join(dir, 'bundles');
  const r = await bundleTool(['--key', join(dir, 'store-2026.key'), '--arch', 'x64', '--payload', payloadFile, '--out', out, '--min-version', '0.0.1']);
  t.equal(r.code, 0, r.err);
  const file = join(out, `laned-${version}-x64.bundle`);
  t.equal(r.out.trim(), file, 'prints the bundle path');
  const entries: string[] = [];
  await list({ file, onReadEntry: (e) => entries.push(e.path) });
  t.same(entries, ['manifest.json', 'manifest.sig', 'payload.tar.gz']);

  // a lane running an older version, trusting the key from keygen
  const root = slotsRoot();
  const keeper = new UpdaterStateKeeper(join(root, 'updater.json'));
  const stager = new Stager({
    root,
    keeper,
    keys: [{ id: 'store-2026', key: createPublicKey(readFileSync(join(dir, 'store-2026.pub'), 'utf8')) }],
    revokedKeys: [],
    maxBytes: 64 << 20,
    log: silentLogger(),
    compatible: 'laned/x64',
    runningVersion: () => '0.0.1',
  });
  const staged = await stager.stage(file);
  t.equal(staged.version, version);
  t.equal(staged.manifest.keyId, 'store-2026', 'the key id is the key file’s name');
  t.equal(staged.manifest.min_version, '0.0.1', '--min-version');
});

t.test('the bundle tool refuses what it cannot sign with', async (t) => {
  const dir = tempDir();
  const noKey = await bundleTool(['--payload', 'x.tar.gz']);
  t.equal(noKey.code, 1);
  t.match(noKey.err, /--key KEY\.key is required/);
  const rsa = join(dir, 'rsa.key');
  await new Promise<void>((resolve, reject) =>
    execFile('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', rsa], (e) =>
      e ? reject(new Error(e.message)) : resolve(),
    ),
  );
  const wrong = await bundleTool(['--key', rsa, '--payload', 'x.tar.gz']);
  t.equal(wrong.code, 1);
  t.match(wrong.err, /rsa\.key: a rsa key; bundles are signed with Ed25519/);
});
