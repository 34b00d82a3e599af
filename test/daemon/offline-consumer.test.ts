import t from 'tap';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startDaemon, tempDir, writeConfig, query, sleep, type RunningDaemon } from '../helpers/daemon.js';
import { eventually, until } from '../helpers/wait.js';
import { Credentials } from '../../broker/credentials.js';

// "Don't forget to listen" (the design): a consumer's durable session keeps what it
// missed, while the broker stays up and across a daemon restart.

async function emit(d: RunningDaemon, stateDir: string, count: number, id: string): Promise<void> {
  const c = mqtt.connect(d.brokerUrl, {
    clientId: `test-${id}`,
    username: 'technician',
    password: Credentials.readGenerated(stateDir).technician,
    reconnectPeriod: 0,
  });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => c.publish('cmd/probe/Emit', JSON.stringify({ id, args: { count } }), { qos: 1 }, (err) => (err ? reject(err) : resolve())));
    c.once('error', reject);
  });
  c.end(true);
}

const tallyOf = (stateDir: string) => async (): Promise<{ ticks: number; applied: number }> => {
  try {
    return (
      await query<{ ticks: number; applied: number }>(
        join(stateDir, 'probe-sink.db'),
        'SELECT count(*) AS ticks, coalesce(sum(applied), 0) AS applied FROM probe_tally',
      )
    )[0];
  } catch {
    return { ticks: 0, applied: 0 };
  }
};

function waitTicks(tally: () => Promise<{ ticks: number; applied: number }>, n: number): Promise<{ ticks: number; applied: number }> {
  return eventually(async () => {
    const r = await tally();
    return r.ticks >= n ? r : undefined;
  }, `${n} ticks at the sink`);
}

/** Resolves once the probe has logged `n` ticks and the broker has acknowledged every one (its outbox all sent). */
function waitLogged(stateDir: string, n: number): Promise<void> {
  return until(
    async () => {
      const [r] = await query<{ c: number; unsent: number }>(
        join(stateDir, 'probe.db'),
        "SELECT count(*) AS c, coalesce(sum(sent = 0), 0) AS unsent FROM outbox WHERE type = 'ProbeTick'",
      ).catch(() => [{ c: 0, unsent: 1 }]);
      return r!.c >= n && r!.unsent === 0;
    },
    30_000,
    `${n} ticks logged by the probe and acknowledged by the broker`,
  );
}

t.test('a consumer that was away gets everything it missed, exactly once', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  const configFile = writeConfig(dir, { services: { probe: { enabled: true }, 'probe-sink': { enabled: false } } });
  const tally = tallyOf(stateDir);
  let daemon = await startDaemon({ configFile, stateDir });
  t.teardown(() => daemon.kill('SIGKILL'));

  let sink = await startDaemon({ configFile, stateDir, args: ['--only', 'probe-sink'] });
  await emit(daemon, stateDir, 50, 'a');
  t.same(await waitTicks(tally, 50), { ticks: 50, applied: 50 }, 'online consumer applies all 50');

  t.equal(await sink.kill('SIGTERM'), 0, 'consumer stops cleanly');
  await emit(daemon, stateDir, 100, 'b');
  await waitLogged(stateDir, 150);
  t.equal((await tally()).ticks, 50, 'nothing applied while away');
  sink = await startDaemon({ configFile, stateDir, args: ['--only', 'probe-sink'] });
  t.same(await waitTicks(tally, 150), { ticks: 150, applied: 150 }, 'broker stayed up: the 100 missed arrive on reconnect');

  t.equal(await sink.kill('SIGTERM'), 0);
  await emit(daemon, stateDir, 80, 'c');
  await waitLogged(stateDir, 230);
  t.equal(await daemon.kill('SIGTERM'), 0, 'daemon stops with the consumer away');
  daemon = await startDaemon({ configFile, stateDir });
  sink = await startDaemon({ configFile, stateDir, args: ['--only', 'probe-sink'] });
  t.same(await waitTicks(tally, 230), { ticks: 230, applied: 230 }, 'across a daemon restart: the 80 missed arrive');
  // the subject is that nothing more comes: room for a wrongly repeated tick to arrive
  await sleep(300);
  t.same(await tally(), { ticks: 230, applied: 230 }, 'and nothing twice');
  t.equal(await sink.kill('SIGTERM'), 0);
  t.equal(await daemon.kill('SIGTERM'), 0);
});
