import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../../daemon/core/config.js';
import { startDaemon, tempDir } from '../helpers/daemon.js';

// updater.keys: each a PEM Ed25519 public key, inline or in a file; a bad one is a
// config error naming updater.keys[i] (laned exits 78).

const pub = (type: 'ed25519' | 'x25519' = 'ed25519'): string =>
  generateKeyPairSync(type as 'ed25519')
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();

t.test('trusted keys inline and in a file', async (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'k2.pub'), pub());
  const c = validateConfig(
    {
      updater: {
        keys: [
          { id: 'k1', publicKey: pub() },
          { id: 'k2', file: 'k2.pub' },
        ],
        revokedKeys: ['k0'],
      },
    },
    'config x.yaml',
    dir,
  );
  t.equal(c.updater.keys.length, 2);
  t.same(c.updater.revokedKeys, ['k0']);
  t.equal(c.updater.maxBundleMB, 512, 'default');
});

t.test('bad keys are config errors naming the key', async (t) => {
  const dir = tempDir();
  const cases: [unknown, RegExp][] = [
    [[{ id: 'k1' }], /updater\.keys\[0\] \(k1\): give exactly one of publicKey/],
    [[{ id: 'k1', publicKey: 'hello' }], /updater\.keys\[0\] \(k1\): not a PEM public key/],
    [[{ id: 'k1', publicKey: pub('x25519') }], /updater\.keys\[0\] \(k1\): a x25519 key/],
    [[{ id: 'k1', file: 'missing.pub' }], /updater\.keys\[0\] \(k1\)\.file: cannot read .*missing\.pub \(ENOENT\)/],
    [
      [
        { id: 'k1', publicKey: pub() },
        { id: 'k1', publicKey: pub() },
      ],
      /updater\.keys\[1\] \(k1\): id listed twice/,
    ],
    [[{ id: 'bad id', publicKey: pub() }], /updater\.keys\/0\/id|updater\.keys\.0\.id/],
  ];
  for (const [keys, message] of cases) {
    t.throws(() => validateConfig({ updater: { keys } }, 'config x.yaml', dir), { name: 'ConfigError', message }, JSON.stringify(keys).slice(0, 60));
  }
  t.throws(() => validateConfig({ updater: { rooot: '/x' } }, 'config x.yaml', dir), { message: /updater\.rooot: unknown key/ });
});

t.test('laned exits 78 on a bad trusted key, naming it', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'laned.yaml');
  writeFileSync(file, 'updater:\n  keys:\n    - id: store-2026\n      file: nope.pub\n');
  const d = await startDaemon({ configFile: file, stateDir: join(dir, 'state'), waitReady: false });
  t.equal(await d.exited, 78, 'EX_CONFIG');
  t.match(d.lines.join('\n'), /updater\.keys\[0\] \(store-2026\)\.file: cannot read/);
});
