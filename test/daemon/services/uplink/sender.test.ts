/**
 * Store IT's sender (`by`) at its longest, 64 characters: the command is applied and
 * journaled as `store:<by>` (StoreCommandApplied), shown on the staff screen with it;
 * one character more is refused by the command's schema, naming the field.
 */
import { join } from 'node:path';
import t from 'tap';
import { retainedDoc } from '../../../../daemon/cli/lane-doc.js';
import { query } from '../../../helpers/daemon.js';
import { until } from '../../../helpers/lane.js';
import { storeBroker } from '../../../helpers/store-broker.js';
import { startLaneFor, storeConsole } from './fixture.js';

t.test('a 64-character sender', async (t) => {
  const b = await storeBroker('store-2', ['lane-5']);
  await b.start();
  t.teardown(() => b.stop());
  const lane = await startLaneFor(b, 'lane-5', { probe: false });
  t.teardown(() => lane.kill('SIGKILL'));
  const prefix = 'store/store-2/lane/lane-5';
  const { it, send: sendTo } = await storeConsole(b, lane, prefix);
  t.teardown(() => it.end(true));
  const send = (cmd: { id: string; by: string; args: unknown }): Promise<Record<string, unknown>> => sendTo('Message', cmd);
  const journaled = async (): Promise<Array<{ id: string; by: string; ok: boolean }>> =>
    (await query<{ payload: string }>(join(lane.stateDir, 'uplink.db'), "SELECT payload FROM outbox WHERE type = 'StoreCommandApplied' ORDER BY seq")).map(
      (r) => (JSON.parse(r.payload) as { data: { id: string; by: string; ok: boolean } }).data,
    );

  const longest = `it-${'x'.repeat(61)}`;
  t.equal(longest.length, 64);
  const ok = await send({ id: 'm-64', by: longest, args: { text: 'Till 3 needs change' } });
  t.equal(ok.ok, true, `applied: ${JSON.stringify(ok)}`);
  await until(async () => (await journaled()).some((e) => e.id === 'm-64'), 30_000, 'StoreCommandApplied of m-64');
  t.same(
    (await journaled()).map((e) => [e.id, e.by, e.ok]),
    [['m-64', `store:${longest}`, true]],
    'journaled with the whole sender',
  );
  let shown: { storeMessages?: Array<{ text: string; by: string }> } | undefined;
  for (let i = 0; i < 50 && !shown?.storeMessages; i++) shown = await retainedDoc(lane.tech, 'lane', 2000);
  t.match(shown?.storeMessages, [{ text: 'Till 3 needs change', by: `store:${longest}` }], 'on the staff screen with it');

  const tooLong = await send({ id: 'm-65', by: `${longest}y`, args: { text: 'never shown' } });
  t.equal(tooLong.ok, false);
  t.match(tooLong.error, /^command\/by: .*64/, `refused naming the field: ${String(tooLong.error)}`);
  t.same(
    (await journaled()).map((e) => e.id),
    ['m-64'],
    'the refused one is not journaled as applied',
  );
});
