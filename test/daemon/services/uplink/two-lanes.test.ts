/**
 * Two lanes (laned processes) into one store broker (a real Mosquitto, TLS, ACL):
 * store IT sees each lane's events under its own prefix, the retained fleet state
 * follows a transaction opening and closing, and a lane killed outright shows
 * `offline` through its last will.
 */
import t from 'tap';
import { request } from '../../../../daemon/cli/client.js';
import { lanectl } from '../../../helpers/lanectl.js';
import { until } from '../../../helpers/lane.js';
import { storeBroker } from '../../../helpers/store-broker.js';
import { audit, recorder, startLaneFor } from './fixture.js';

t.test('two lanes, one store broker', async (t) => {
  const b = await storeBroker('store-9', ['lane-a', 'lane-b']);
  await b.start();
  t.teardown(() => b.stop());
  const store = await recorder(b);
  t.teardown(() => store.client.end(true));
  const a = await startLaneFor(b, 'lane-a', { probe: false });
  t.teardown(() => a.kill('SIGKILL'));
  const lb = await startLaneFor(b, 'lane-b');
  t.teardown(() => lb.kill('SIGKILL'));
  const pa = 'store/store-9/lane/lane-a';
  const pb = 'store/store-9/lane/lane-b';

  // Fleet state: retained, online, following the shopper's transaction.
  await until(() => store.retained.get(`${pa}/state`)?.state === 'online', 30_000, 'lane-a’s state online');
  const st = store.retained.get(`${pa}/state`)!;
  t.equal(st.laneId, 'lane-a');
  t.type(st.version, 'string');
  await until(() => typeof store.retained.get(`${pa}/devices`) === 'object', 20_000, 'lane-a’s devices doc');
  await lb.emit(150);
  for (const code of ['4006381333931', '5449000000996', '2812347012503']) t.equal((await lanectl(a.stateDir, ['sim', 'scan', code])).code, 0, `scan ${code}`);
  await until(() => store.events.filter((e) => e.topic === `${pa}/evt/scanner/BarcodeScanned`).length === 3, 30_000, 'the three scans at the store');
  await until(() => store.retained.get(`${pa}/state`)?.transactionOpen === true, 10_000, 'the store sees their transaction open');
  await request(a.tech, 'basket', 'Cancel', { reason: 'test: fleet state' });
  await until(() => store.retained.get(`${pa}/state`)?.transactionOpen === false, 10_000, 'the store sees it closed');
  t.equal((await lanectl(a.stateDir, ['sim', 'scan', '5449000000996'])).code, 0, 'a scan opens a transaction');
  await until(() => store.retained.get(`${pa}/state`)?.transactionOpen === true, 10_000, 'the store sees the next transaction open');
  await request(a.tech, 'basket', 'Cancel', { reason: 'test: fleet state' });
  await until(() => store.retained.get(`${pa}/state`)?.transactionOpen === false, 10_000, 'the store sees it closed');
  t.equal(store.retained.get(`${pa}/state`)?.lane, 'open', 'the lane open');

  // Events: lane-a's scan and its basket, lane-b's probe ticks, each under its prefix.
  await until(() => audit(store.events, pb, 'probe', 150).missing.length === 0, 60_000, 'lane-b’s ticks at the store');
  const rb = audit(store.events, pb, 'probe', 150);
  t.equal(rb.outOfOrder, 0, 'lane-b’s probe events arrive in seq order');
  t.equal(rb.duplicates, rb.sameIdDuplicates, 'a repeated seq repeats its id');
  t.ok(
    store.events.filter((e) => e.topic.startsWith(pb) && e.source === 'probe').every((e) => e.topic === `${pb}/evt/probe/ProbeTick`),
    'ticks under lane-b’s prefix and evt/<source>/<Type>',
  );
  await until(
    () => store.events.filter((e) => e.topic === `${pa}/evt/basket/TransactionCancelled`).length === 2,
    20_000,
    'lane-a’s cancelled transactions at the store',
  );
  t.ok(
    store.events.some((e) => e.topic === `${pa}/evt/basket/ItemAddedToBasket`),
    'lane-a’s item at the store',
  );
  t.ok(
    store.events.some((e) => e.topic === `${pa}/evt/scanner/BarcodeScanned`),
    'lane-a’s scan at the store',
  );
  t.notOk(
    store.events.some((e) => e.topic.startsWith(pa) && e.source === 'probe'),
    'no ticks under lane-a: lane-b’s are lane-b’s only',
  );
  t.notOk(
    store.events.some((e) => e.type === 'WeightHasChanged'),
    'high-rate weight readings are not forwarded by default',
  );

  // SIGKILL: no goodbye from the lane; the store broker publishes its will.
  await until(() => store.retained.get(`${pb}/state`)?.state === 'online', 20_000, 'lane-b online');
  await lb.kill('SIGKILL');
  await until(() => store.retained.get(`${pb}/state`)?.state === 'offline', 20_000, 'lane-b offline through its will');
  t.equal(store.retained.get(`${pa}/state`)?.state, 'online', 'lane-a still online');
});
