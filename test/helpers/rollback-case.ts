import type { Test } from 'tap';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { lanectl } from './lanectl.js';
import { supervise, type Supervisor } from './supervisor.js';
import { installedLane, stageByCopy, type Flaw, type TestLane } from './slots.js';
import { stateFilePath } from '../../daemon/updater/layout.js';
import { readUpdaterState } from '../../daemon/updater/state-file.js';

/**
 * A new version with `flaw` staged on an installed lane under the supervisor (the
 * unit's own commands): rolled back within updater.tries by the boot check outside
 * laned, the lane back on the old version and ready, `why` in the reason.
 */
export async function rolledBackWithinTries(t: Test, c: { flaw: Flaw; why: RegExp; startTimeoutMs?: number }): Promise<void> {
  const lane = installedLane({ trialSeconds: 4 });
  stageByCopy(lane, 'b', '0.1.1', c.flaw);
  const sup = await supervise({ ...lane, env: { LANED_TEST_HOOKS: '1' }, ...(c.startTimeoutMs ? { startTimeoutMs: c.startTimeoutMs } : {}) });
  t.teardown(() => sup.stop());
  await rolledBack(t, lane, sup, c.why);
}

/**
 * After version 0.1.1 in slot b failed its trial under `sup`: rolled back within
 * updater.tries, the lane back on 0.1.0 in slot a and ready, `why` in the reason,
 * as the state file, `lanectl update status` and doc/updater say.
 */
export async function rolledBack(t: Test, lane: TestLane, sup: Supervisor, why: RegExp): Promise<void> {
  const state = () => readUpdaterState(stateFilePath(lane.root)).state;
  await sup.waitFor(() => state().state === 'rolled-back', 400_000, 'the rollback');
  await sup.waitFor(() => sup.running()?.slot === 'a' && sup.running()?.readyAt !== undefined, 300_000, 'slot a ready again');

  const onB = sup.starts.filter((s) => s.slot === 'b');
  t.equal(onB.length, 3, `3 starts of the new version (updater.tries), then back: ${sup.starts.map((s) => s.slot).join(' ')}`);
  t.ok(
    onB.every((s) => s.exit !== undefined),
    'none of them still runs',
  );
  t.equal(readlinkSync(join(lane.root, 'current')), 'slots/a', 'current -> slots/a');
  t.equal(sup.running()?.slot, 'a', 'the lane runs slot a');
  const s = state();
  t.match(s.reason, /version 0\.1\.1 \(slot b\) did not stay up in 3 starts/, `reason: ${s.reason}`);
  t.match(s.reason, why, 'and why the last start ended');
  t.equal(s.trial, undefined, 'no trial left');
  t.match(s.history.at(-1), { outcome: 'rolled-back', from: 'b', to: 'a', version: '0.1.0' });

  // as a technician sees it: doc/updater of the running lane through lanectl
  const st = await lanectl(lane.stateDir, ['--json', 'update', 'status']);
  t.equal(st.code, 1, 'lanectl update status exits 1 after a rollback');
  const doc = JSON.parse(st.out) as { state: string; reason: string; running: { version: string; slot: string } };
  t.equal(doc.state, 'rolled-back');
  t.match(doc.reason, why);
  t.same(doc.running, { version: '0.1.0', slot: 'a' }, 'doc/updater of the running old version');
  const human = await lanectl(lane.stateDir, ['update', 'status']);
  t.match(human.out, /update: rolled-back \(version 0\.1\.1 \(slot b\) did not stay up in 3 starts/);
}
