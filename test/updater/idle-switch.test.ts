import t from 'tap';

// several starts of laned under a loaded machine: more than the default 300 s per file
t.setTimeout(1_200_000);
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { lanectl, technician } from '../helpers/lanectl.js';
import { query } from '../helpers/daemon.js';
import { supervise } from '../helpers/supervisor.js';
import { installedLane, stageByCopy } from '../helpers/slots.js';
import { request } from '../../daemon/cli/client.js';
import { retainedDoc } from '../../daemon/cli/lane-doc.js';
import { stateFilePath } from '../../daemon/updater/layout.js';
import { readUpdaterState } from '../../daemon/updater/state-file.js';
import { SNAPSHOT_DIR } from '../../daemon/updater/switch.js';

// An update staged while a shopper's transaction is open waits for it to end, then
// switches; a shopper arriving while the update holds the lane is refused with the
// closed message; and every event the lane had made is still there and delivered
// after the switch.

const runtime = (stateDir: string) => JSON.parse(readFileSync(join(stateDir, 'runtime.json'), 'utf8')) as { pid: number; broker: string };

/** Source -> event ids in the outboxes of the databases in `dir`. */
async function outboxIds(dir: string): Promise<Map<string, Set<string>>> {
  const ids = new Map<string, Set<string>>();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.db') && x !== 'broker.db')) {
    const rows = await query<{ source: string; id: string }>(join(dir, f), 'SELECT source, id FROM outbox').catch(() => []);
    for (const r of rows) (ids.get(r.source) ?? ids.set(r.source, new Set()).get(r.source)!).add(r.id);
  }
  return ids;
}

/** Source -> its highest seq in the outboxes of the databases in `dir`. */
async function outboxHeads(dir: string): Promise<Map<string, number>> {
  const heads = new Map<string, number>();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.db') && x !== 'broker.db')) {
    for (const r of await query<{ source: string; m: number }>(join(dir, f), 'SELECT source, max(seq) AS m FROM outbox GROUP BY source').catch(() => []))
      heads.set(r.source, r.m);
  }
  return heads;
}

t.test('an update waits for the open transaction, closes the lane, switches, and loses no event', async (t) => {
  const lane = installedLane({ trialSeconds: 10 });
  const sup = await supervise({ ...lane, env: { LANED_TEST_HOOKS: '1' } });
  t.teardown(() => sup.stop());
  const state = () => readUpdaterState(stateFilePath(lane.root)).state;
  await sup.waitFor(() => sup.running()?.readyAt !== undefined, 300_000, 'slot a ready');

  // a shopper scans: transaction open
  t.equal((await lanectl(lane.stateDir, ['sim', 'scan', '5449000000996', '--device', 'scanner'])).code, 0, 'scan');
  const tech = await technician(lane.stateDir, runtime(lane.stateDir).broker);
  let txn = '';
  for (let i = 0; i < 200 && !txn; i++) txn = (await retainedDoc<{ txn: string | null }>(tech, 'lane', 2000))?.txn ?? '';
  t.match(txn, /^T-/, `transaction ${txn} open`);

  stageByCopy(lane, 'b', '0.1.1');
  await sup.waitFor(() => state().state === 'waiting-for-idle' && /transaction .* is open/.test(state().reason ?? ''), 300_000, 'waiting for the idle lane');
  t.match(state().reason, new RegExp(`waiting for an idle lane: .*transaction ${txn} is open`), `reason: ${state().reason}`);
  t.same(
    sup.starts.map((s) => s.slot),
    ['a'],
    'no switch while the transaction is open',
  );

  // the shopper leaves: the transaction ends, the switch follows
  await request(tech, 'basket', 'Cancel', {}, 10_000);
  tech.end(true);
  await sup.waitFor(() => state().state === 'trial' && sup.running()?.slot === 'b' && sup.running()?.readyAt !== undefined, 300_000, 'slot b on trial, ready');
  const before = await outboxIds(join(lane.stateDir, SNAPSHOT_DIR));
  const beforeHead = await outboxHeads(join(lane.stateDir, SNAPSHOT_DIR));
  t.ok([...before.values()].reduce((n, s) => n + s.size, 0) > 0, 'the snapshot taken at the switch holds the events made before it');

  // a shopper arriving now sees the lane closed for the update, and the scan is refused
  const tech2 = await technician(lane.stateDir, runtime(lane.stateDir).broker);
  t.teardown(() => tech2.end(true));
  let laneDoc: { updating?: boolean; closed?: boolean } | undefined;
  for (let i = 0; i < 100 && laneDoc?.updating !== true; i++) laneDoc = await retainedDoc(tech2, 'lane', 2000);
  t.match(laneDoc, { updating: true, closed: true }, 'doc/lane: updating, closed to new shoppers');
  t.equal((await lanectl(lane.stateDir, ['sim', 'scan', '4006381333931', '--device', 'scanner'])).code, 0, 'a new shopper scans');
  let refused: Array<{ payload: string }> = [];
  for (let i = 0; i < 200 && refused.length === 0; i++) {
    refused = await query<{ payload: string }>(join(lane.stateDir, 'basket.db'), "SELECT payload FROM outbox WHERE type = 'ScanRefused'");
    if (refused.length === 0) await new Promise((r) => setTimeout(r, 50));
  }
  t.ok(refused.length >= 1, `the scan refused (${refused.length} ScanRefused)`);
  for (const r of refused) t.match(JSON.parse(r.payload).data, { reason: 'lane-closed', detail: /being updated, please use another/ });

  await sup.waitFor(() => state().state === 'good', 300_000, 'the new version marked good');
  t.equal(readlinkSync(join(lane.root, 'current')), 'slots/b');
  t.equal(readlinkSync(join(lane.root, 'good')), 'slots/b', 'good -> slots/b');
  t.equal(sup.starts.filter((s) => s.slot === 'b').length, 1, 'one start of the new version');
  t.match(state().history.at(-1), { outcome: 'good', from: 'a', to: 'b', version: '0.1.1' });

  // nothing lost: every event of the snapshot is still in its source's log, and every
  // consumer has applied each source up to at least the last one of it
  const after = await outboxIds(lane.stateDir);
  for (const [source, ids] of before) {
    const missing = [...ids].filter((id) => !after.get(source)?.has(id));
    t.same(missing, [], `${source}: all ${ids.size} events of before the switch still logged`);
  }
  let checked = 0;
  for (const f of readdirSync(lane.stateDir).filter((x) => x.endsWith('.db') && x !== 'broker.db')) {
    for (const r of await query<{ source: string; last_seq: number }>(join(lane.stateDir, f), 'SELECT source, last_seq FROM inbox_position').catch(() => [])) {
      const head = beforeHead.get(r.source);
      if (head === undefined) continue;
      checked += 1;
      t.ok(r.last_seq >= head, `${f} applied ${r.source} up to ${r.last_seq}, at least the ${head} it had made before the switch`);
    }
  }
  t.ok(checked > 0, `${checked} consumer positions checked`);

  // the lane is open again: a scan opens a transaction
  let open: { updating?: boolean } | undefined = { updating: true };
  for (let i = 0; i < 100 && open?.updating; i++) open = await retainedDoc(tech2, 'lane', 2000);
  t.notOk(open?.updating, 'doc/lane: no longer updating');
});
