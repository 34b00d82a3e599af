/**
 * The fleet state (`…/state`) tells the store the outbox backlog of the lane's
 * services, not only the uplink's own: the probe's broker connection is cut
 * (LANED_TEST_CUT) while it keeps committing ticks, the state shows its backlog
 * growing, and once the connection is back and the ticks acknowledged, the
 * backlog is gone from the state again.
 */
import t from 'tap';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { LaneStateDoc } from '../../../../daemon/services/uplink/contract.js';
import { until } from '../../../helpers/lane.js';
import { storeBroker } from '../../../helpers/store-broker.js';
import { recorder, startLaneFor } from './fixture.js';

const checkState = TypeCompiler.Compile(LaneStateDoc);

t.test('the fleet state carries every service’s outbox backlog', async (t) => {
  const b = await storeBroker('store-9', ['lane-6']);
  await b.start();
  t.teardown(() => b.stop());
  const store = await recorder(b);
  t.teardown(() => store.client.end(true));
  const lane = await startLaneFor(b, 'lane-6', {
    // one tick every 50 ms: the probe goes on committing for a while after each Emit
    services: { probe: { enabled: true, count: 0, batch: 1, intervalMs: 50 } },
    env: { LANED_TEST_HOOKS: '1', LANED_TEST_CUT: 'probe' },
  });
  t.teardown(() => lane.kill('SIGKILL'));
  const prefix = 'store/store-9/lane/lane-6';
  type State = LaneStateDoc & { outboxBacklog?: number; outboxBacklogs?: Record<string, number> };
  const latest = (): State | undefined => store.retained.get(`${prefix}/state`) as State | undefined;
  const probeTicks = async (): Promise<number> =>
    ((await lane.status()) as { uplink: { sources: Array<{ source: string; head: number }> } }).uplink.sources.find((s) => s.source === 'probe')?.head ?? 0;

  await until(() => latest()?.state === 'online' && latest()?.outboxBacklog === 0, 30_000, 'an online state with no outbox backlog');
  t.same(latest()?.outboxBacklogs, {}, 'no service behind');

  await lane.emit(200);
  lane.d.proc.kill('SIGUSR2'); // the probe's broker connection cut; it keeps committing
  await lane.d.waitFor(/broker connection of laned-probe cut/, 10_000);
  await until(() => (latest()?.outboxBacklogs?.probe ?? 0) >= 20, 30_000, 'the probe’s backlog in the state');
  const behind = latest()!;
  t.ok(checkState.Check(behind), `the state matches its schema: ${JSON.stringify([...checkState.Errors(behind)].slice(0, 2))}`);
  t.ok(behind.outboxBacklog! >= behind.outboxBacklogs!.probe!, `the total (${behind.outboxBacklog}) counts the probe’s ${behind.outboxBacklogs!.probe}`);
  t.equal(behind.uplinkBacklog, 0, 'none of it is the uplink’s own: what the probe did not publish cannot wait for the store');

  lane.d.proc.kill('SIGUSR2'); // and back
  await until(async () => (await probeTicks()) === 200, 60_000, 'the 200 ticks acknowledged and seen by the uplink');
  await until(() => latest()?.outboxBacklog === 0, 30_000, 'the backlog gone from the state');
  t.same(latest()?.outboxBacklogs, {}, 'no service behind any more');
  const bad = store.states.filter((s) => s.doc.state === 'online' && !checkState.Check(s.doc));
  t.same(bad, [], 'every online state matches its schema');
});
