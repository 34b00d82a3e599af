import t from 'tap';
import { execFile } from 'node:child_process';
import { startLane, until, type InProcessLane } from '../helpers/lane.js';
import { UPLINK_SENDS } from '../../daemon/services/uplink/contract.js';

// The uplink service (`laned-uplink`, with its own service password) is held to the
// uplink role: it publishes its own log and doc/uplink, asks for replays and sends
// the commands it hands on; any other document or command is refused and logged.
// Tried with Debian's mosquitto_pub against a lane in this process.

function mosquittoPub(args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    execFile('mosquitto_pub', args, { timeout: 5000 }, (err) => resolve(err ? ((err as { code?: number }).code ?? 1) : 0));
  });
}

async function refusedPublishes(lane: InProcessLane): Promise<number> {
  return (await lane.daemon.metrics.brokerRefused.get()).values.filter((v) => v.labels.reason === 'acl-publish').reduce((a, v) => a + v.value, 0);
}

t.test('the uplink service publishes only what the uplink role allows', async (t) => {
  const lane = await startLane({ services: { probe: { enabled: true } } });
  t.teardown(() => lane.stop());
  const port = String(lane.daemon.broker!.port);
  const watcher = await lane.connect('technician', 'test-watch');
  const seen: Array<{ topic: string; body: string }> = [];
  watcher.on('message', (topic, payload) => seen.push({ topic, body: payload.toString() }));
  await watcher.subscribeAsync(['#'], { qos: 1 });
  const password = lane.daemon.credentials.password('service', 'laned-uplink');
  const pub = (topic: string, message: string): Promise<number | null> =>
    mosquittoPub(['-h', '127.0.0.1', '-p', port, '-q', '1', '-u', 'service', '-P', password, '-i', 'laned-uplink', '-t', topic, '-m', message]);
  const cmd = (id: string, args: unknown = {}): string => JSON.stringify({ id, args });

  const refused = [
    'doc/basket',
    'doc/lane',
    'cmd/basket/Cancel',
    'cmd/payment/Pay',
    'cmd/catalog/DlqDrop',
    'cmd/updater/Apply',
    'evt/basket/TransactionStarted',
  ];
  const before = await refusedPublishes(lane);
  for (const topic of refused) await pub(topic, topic.startsWith('cmd/') ? cmd(`forged-${topic}`, { n: 1 }) : '{"forged":true}');
  await until(async () => (await refusedPublishes(lane)) === before + refused.length, 10_000, 'every publish outside the role refused');
  for (const topic of refused)
    t.ok(
      lane.logs.some((l) => String(l.msg) === `refused publish by laned-uplink (uplink) to ${topic}: not allowed for the role`),
      `${topic}: refused and logged`,
    );

  // what it needs goes through
  t.ok(UPLINK_SENDS.journal?.includes('Show') && UPLINK_SENDS.updater?.includes('Offer'), 'the commands it sends are declared');
  await pub('cmd/probe/Replay', cmd('u-replay', { from: 1, to: 1, consumer: 'uplink' }));
  await pub('cmd/journal/Show', cmd('u-show', { txn: 'T-none' }));
  await pub('doc/uplink', JSON.stringify({ connected: false, store: 'mqtts://store.example:8883', backlog: 0, alarms: [], lost: 0 }));
  await until(
    () => ['cmd/probe/Replay', 'cmd/journal/Show', 'doc/uplink'].every((topic) => seen.some((s) => s.topic === topic)),
    10_000,
    'the replay request, the receipt request and doc/uplink delivered',
  );
  const show = seen.find((s) => s.topic === 'cmd/journal/Show')!;
  t.equal((JSON.parse(show.body) as { by: string }).by, 'service:uplink', 'its commands still say who sent them: the uplink service');
  t.same(
    seen.filter((s) => refused.includes(s.topic) && s.body.includes('forged')),
    [],
    'none of the refused delivered',
  );
  t.equal(await refusedPublishes(lane), before + refused.length, 'and nothing it needs refused');
});
