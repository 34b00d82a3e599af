/**
 * The updater's staging in a process of its own, for the tests that kill it
 * (LANED_TEST_KILL_AT=stage:<step>) or run it on a tiny tmpfs in a mount namespace.
 *
 *   node --import tsx test/helpers/stage-child.ts ROOT BUNDLE
 *
 * Environment: STAGE_KEY_ID and STAGE_KEY_PEM (the trusted public key);
 * STAGE_SETUP=1 first lays out ROOT as slotsRoot() does (for a fresh tmpfs).
 * Prints one JSON line: the slots' hash before and after, and the result.
 */
import { createPublicKey } from 'node:crypto';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../daemon/core/log.js';
import { UpdaterStateKeeper } from '../../daemon/updater/state-file.js';
import { Stager } from '../../daemon/updater/stage.js';
import { UpdateRefused } from '../../daemon/updater/manifest.js';
import { treeHash } from './bundle.js';

const [root, file] = process.argv.slice(2) as [string, string];
if (process.env.STAGE_SETUP === '1') {
  mkdirSync(join(root, 'slots', 'a', 'dist'), { recursive: true });
  writeFileSync(join(root, 'slots', 'a', 'package.json'), `${JSON.stringify({ name: 'laned', version: '0.1.0' })}\n`);
  writeFileSync(join(root, 'slots', 'a', 'dist', 'main.js'), '// 0.1.0\n');
  symlinkSync('slots/a', join(root, 'current'));
}
const keeper = new UpdaterStateKeeper(join(root, 'updater.json'));
const stager = new Stager({
  root,
  keeper,
  keys: [{ id: process.env.STAGE_KEY_ID!, key: createPublicKey(process.env.STAGE_KEY_PEM!) }],
  revokedKeys: [],
  maxBytes: 64 << 20,
  log: silentLogger(),
  compatible: 'laned/x64',
});
stager.recover();
const before = treeHash(join(root, 'slots'));
let result: unknown;
try {
  result = { staged: await stager.stage(file) };
} catch (err) {
  result = err instanceof UpdateRefused ? { refused: err.code, message: err.message } : { error: String(err) };
}
process.stdout.write(
  `${JSON.stringify({ before, after: treeHash(join(root, 'slots')), slots: readdirSync(join(root, 'slots')).sort(), state: keeper.get(), result })}\n`,
);
