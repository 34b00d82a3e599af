import t from 'tap';
import { join } from 'node:path';
import { startDaemon, tempDir, writeConfig, query, prng, sleep } from '../helpers/daemon.js';

// Delivery guarantees under crashes: 2,000 events from a producer service to a consumer
// service through the embedded broker, the daemon SIGKILLed at random moments at
// least five times; afterwards the consumer's state equals the producer's log.
const TOTAL = 2000;
const seed = Number(process.env.LANED_TEST_SEED ?? Date.now() % 100000);

t.test(`SIGKILL at random moments loses and duplicates nothing (seed ${seed})`, async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  const configFile = writeConfig(dir, {
    services: { probe: { enabled: true, count: TOTAL, batch: 4 }, 'probe-sink': { enabled: true } },
  });
  const random = prng(seed);
  const tally = async (): Promise<number> => {
    try {
      return (await query<{ c: number }>(join(stateDir, 'probe-sink.db'), 'SELECT count(*) AS c FROM probe_tally'))[0].c;
    } catch {
      return 0;
    }
  };
  let kills = 0;
  while (kills < 5 || (kills < 12 && (await tally()) < TOTAL * 0.9)) {
    const d = await startDaemon({ configFile, stateDir });
    await sleep(30 + Math.floor(random() * 700)); // the subject: a kill at a random point of the work
    const how = await d.kill('SIGKILL');
    if (how !== 'SIGKILL') t.comment(d.lines.slice(-8).join('\n'));
    t.equal(how, 'SIGKILL', `kill ${kills + 1} by SIGKILL (still running until then)`);
    kills += 1;
  }
  t.ok(kills >= 5, `killed ${kills} times`);

  const d = await startDaemon({ configFile, stateDir });
  for (let i = 0; i < 600 && (await tally()) < TOTAL; i++) await sleep(100);
  // the subject is silence: room for a wrongly repeated apply before the counts are read
  await sleep(500);
  t.equal(await d.kill('SIGTERM'), 0, 'graceful stop exits 0');

  const produced = await query<{ seq: number; type: string; payload: string }>(
    join(stateDir, 'probe.db'),
    "SELECT seq, type, payload FROM outbox WHERE source = 'probe' ORDER BY seq",
  );
  t.equal(produced.length, TOTAL, 'producer log holds every event');
  t.same(
    produced.map((r) => r.seq),
    Array.from({ length: TOTAL }, (_, i) => i + 1),
    'producer seq is gapless from 1',
  );
  t.ok(
    produced.every((r) => (JSON.parse(r.payload) as { data: { n: number } }).data.n === r.seq),
    'tick n equals seq',
  );
  const applied = await query<{ n: number; applied: number }>(join(stateDir, 'probe-sink.db'), 'SELECT n, applied FROM probe_tally ORDER BY n');
  t.same(
    applied.map((r) => r.n),
    produced.map((r) => r.seq),
    'consumer applied exactly the producer log',
  );
  t.same(
    applied.filter((r) => r.applied !== 1),
    [],
    'no event applied twice',
  );
  const unsent = await query<{ c: number }>(join(stateDir, 'probe.db'), 'SELECT count(*) AS c FROM outbox WHERE sent = 0');
  t.equal(unsent[0].c, 0, 'outbox empty after graceful stop');
});
