import t from 'tap';

// several starts of laned under a loaded machine: more than the default 300 s per file
t.setTimeout(1_200_000);
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { payloadTarball } from '../helpers/bundle.js';
import { tempDir } from '../helpers/daemon.js';
import { lanectl, technician } from '../helpers/lanectl.js';
import { rolledBack } from '../helpers/rollback-case.js';
import { FLAWS, installedLane } from '../helpers/slots.js';
import { supervise } from '../helpers/supervisor.js';
import { retainedDoc } from '../../daemon/cli/lane-doc.js';
import { loadSigningKey, writeBundle } from '../../daemon/updater/bundle.js';
import { ownCompatible } from '../../daemon/updater/manifest.js';

// The whole way of a bad update: store IT's key from `lanectl update keygen`, a
// signed bundle of 0.1.1 whose laned exits at start, `lanectl update apply` on
// the running 0.1.0, staged, switched to on the idle lane, three failed starts
// under the supervisor (the unit's own commands), and back on 0.1.0, ready.

const runtime = (stateDir: string) => JSON.parse(readFileSync(join(stateDir, 'runtime.json'), 'utf8')) as { broker: string };

t.test('a bundle whose laned crashes at start, applied with lanectl, is rolled back within 3 tries', async (t) => {
  const keys = tempDir('laned-keys-');
  const made = await lanectl(join(keys, 'state'), ['update', 'keygen', 'store-2026', '--out', keys]);
  t.equal(made.code, 0, `keygen: ${made.err}`);
  const lane = installedLane({ trialSeconds: 4, keys: [{ id: 'store-2026', file: join(keys, 'store-2026.pub') }] });
  const file = join(keys, 'laned-0.1.1.bundle');
  await writeBundle({
    out: file,
    keyId: 'store-2026',
    privateKey: loadSigningKey(readFileSync(join(keys, 'store-2026.key'), 'utf8'), 'store-2026.key'),
    version: '0.1.1',
    compatible: ownCompatible(),
    minVersion: '0.1.0',
    payloadFile: await payloadTarball('0.1.1', { 'dist/daemon/main.js': FLAWS.crash('') }),
  });

  const sup = await supervise({ ...lane, env: { LANED_TEST_HOOKS: '1' } });
  t.teardown(() => sup.stop());
  await sup.waitFor(() => sup.running()?.slot === 'a' && sup.running()?.readyAt !== undefined, 300_000, 'slot a (0.1.0) ready');

  const applied = await lanectl(lane.stateDir, ['--json', 'update', 'apply', file], { timeoutMs: 300_000 });
  t.equal(applied.code, 0, `lanectl update apply: ${applied.err}`);
  t.match(JSON.parse(applied.out), { slot: 'b', version: '0.1.1' }, 'staged in slot b');

  // the idle lane switches by itself; the new version's starts all crash
  await sup.waitFor(() => sup.starts.some((s) => s.slot === 'b'), 120_000, 'the switch to slot b');
  t.equal(sup.starts[0]!.exit, '75', 'the running 0.1.0 left for the switch (exit 75, restarted by the supervisor)');
  await rolledBack(t, lane, sup, /exit-code \(exited 1\)/);
  t.same(
    sup.starts.map((s) => s.slot),
    ['a', 'b', 'b', 'b', 'a'],
    'on 0.1.0, three starts of 0.1.1, back on 0.1.0',
  );
  t.equal(sup.failures, 0, 'the boot check rolled back before systemd gave up on the unit');

  // doc/updater itself, retained on the lane's broker, as the attendant's screen reads it
  const tech = await technician(lane.stateDir, runtime(lane.stateDir).broker);
  t.teardown(() => tech.end(true));
  const doc = await retainedDoc<{ state: string; reason: string; running: unknown; history: Array<{ outcome: string; to: string }> }>(tech, 'updater', 10_000);
  t.match(doc, {
    state: 'rolled-back',
    reason: /version 0\.1\.1 \(slot b\) did not stay up in 3 starts.*exit-code \(exited 1\)/,
    running: { version: '0.1.0', slot: 'a' },
  });
  t.match(doc?.history.at(-1), { outcome: 'rolled-back', to: 'a' }, 'doc/updater history ends with the rollback');
});
