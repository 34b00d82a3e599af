import t from 'tap';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { STAGE_STEPS } from '../../daemon/updater/stage.js';
import { readUpdaterState } from '../../daemon/updater/state-file.js';
import { PACKAGE_ROOT } from '../../daemon/core/paths.js';
import { bundle, keyPair, payloadTarball, slotsRoot, stager, treeHash } from '../helpers/bundle.js';

// SIGKILL of the updater at each step of staging (LANED_TEST_KILL_AT=stage:<step>,
// the process kills itself there): the next start (recover()) finds the lane on
// slot a, unchanged; slot b either as it was or wholly the new version; no
// leftovers; a state file that reads; and the same bundle stages afterwards.

const key = keyPair('store-2026');

function child(root: string, file: string, step: string): Promise<{ signal: NodeJS.Signals | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(PACKAGE_ROOT, 'test/helpers/stage-child.ts'), root, file],
      {
        cwd: PACKAGE_ROOT,
        timeout: 60_000,
        env: { ...process.env, LANED_TEST_HOOKS: '1', LANED_TEST_KILL_AT: `stage:${step}`, STAGE_KEY_ID: key.id, STAGE_KEY_PEM: key.publicPem },
      },
      (err, out, stderr) => resolve({ signal: (err as { signal?: NodeJS.Signals } | null)?.signal ?? null, out, err: stderr }),
    );
  });
}

t.test('SIGKILL at every step of staging leaves a lane that runs and a state file that reads', async (t) => {
  // incompressible files, so that the payload arrives in several chunks and "midway" is inside it
  const files: Record<string, string> = {};
  for (let i = 0; i < 8; i++) files[`node_modules/m${i}/index.js`] = randomBytes(48 * 1024).toString('base64');
  const file = await bundle({ key, version: '0.2.0', payloadFile: await payloadTarball('0.2.0', files) });

  // what slot b holds once the bundle is staged
  const reference = slotsRoot();
  await stager(reference, [key]).stager.stage(file);
  const newB = treeHash(join(reference, 'slots', 'b'));

  for (const step of STAGE_STEPS) {
    await t.test(step, async (t) => {
      const root = slotsRoot();
      const a = treeHash(join(root, 'slots', 'a'));
      const oldB = treeHash(join(root, 'slots', 'b'));
      const r = await child(root, file, step);
      t.equal(r.signal, 'SIGKILL', `the updater died at ${step}: ${r.err}`);
      t.equal(r.out, '', 'it never got to the end');

      const read = readUpdaterState(join(root, 'updater.json'));
      t.equal(read.problem, undefined, 'the state file reads as written, not torn');

      // the next start
      const { stager: s, keeper } = stager(root, [key]);
      s.recover();
      t.equal(readlinkSync(join(root, 'current')), 'slots/a', 'current still points to slot a');
      t.equal(treeHash(join(root, 'slots', 'a')), a, 'slot a is unchanged');
      const b = treeHash(join(root, 'slots', 'b'));
      t.ok(b === oldB || b === newB, 'slot b is the old content or the whole new version, nothing in between');
      t.same(readdirSync(join(root, 'slots')).sort(), ['a', 'b'], 'no .new or .old left');
      const state = keeper.get();
      if (step === 'staged') t.equal(state.state, 'staged', 'killed after the state was written: staged');
      else {
        t.equal(state.state, 'failed', 'an interrupted staging is reported');
        t.match(state.reason, /staging was interrupted/);
      }
      const again = await s.stage(file);
      t.equal(again.slot, 'b', 'the bundle stages after the crash');
      t.equal(treeHash(join(root, 'slots', 'b')), newB);
    });
  }
});
