import t from 'tap';
import { execFile } from 'node:child_process';
import { startLane, until, type InProcessLane } from '../helpers/lane.js';
import { serviceCatalog } from '../../daemon/services/index.js';

// Each principal publishes only what is its own, tried with Debian's mosquitto_pub: the
// driver and service credentials of clients other than the owner, the UI's password.

function mosquittoPub(args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    execFile('mosquitto_pub', args, { timeout: 5000 }, (err) => resolve(err ? ((err as { code?: number }).code ?? 1) : 0));
  });
}

async function counted(lane: InProcessLane, metric: 'brokerRefused' | 'rejected', labels: Record<string, string>): Promise<number> {
  return (await lane.daemon.metrics[metric].get()).values
    .filter((v) => Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want))
    .reduce((a, v) => a + v.value, 0);
}

const forgedInput = JSON.stringify({
  id: '01JDFORGEDFORGEDFORGEDFORG',
  type: 'InputChanged',
  v: 1,
  source: 'keyswitch',
  seq: 999_999_999,
  log: 'forged-log',
  at: { epoch: 1, mono: '1' },
  time: new Date().toISOString(),
  data: { on: true },
});

t.test('least privilege: drivers, services and the UI publish only what is theirs', async (t) => {
  const lane = await startLane({ services: { probe: { enabled: true } } });
  t.teardown(() => lane.stop());
  const creds = lane.daemon.credentials;
  const port = String(lane.daemon.broker!.port);
  const watcher = await lane.connect('technician', 'test-watch');
  const seen: Array<{ topic: string; body: string }> = [];
  watcher.on('message', (topic, payload) => seen.push({ topic, body: payload.toString() }));
  await watcher.subscribeAsync(['#'], { qos: 1 });
  const pub = (role: string, password: string, clientId: string, topic: string, message: string): Promise<number | null> =>
    mosquittoPub(['-h', '127.0.0.1', '-p', port, '-q', '1', '-u', role, '-P', password, '-i', clientId, '-t', topic, '-m', message]);

  await t.test('a driver or service cannot publish another source’s events, heads, replies or replays', async (t) => {
    const driver = ['driver', creds.password('driver', 'laned-rogue-driver'), 'laned-rogue-driver'] as const;
    const service = ['service', creds.password('service', 'laned-rogue'), 'laned-rogue'] as const;
    const attacks: Array<[readonly [string, string, string], string, string]> = [
      [driver, 'evt/keyswitch/InputChanged', forgedInput],
      [driver, 'svc/basket/head', '{"seq":1000000000000}'],
      [driver, 'svc/keyswitch/head', '{"seq":1000000000000}'],
      [driver, 'reply/test-watch/1', '{"id":"1","ok":true}'],
      [driver, 'replay/keyswitch/attendant', forgedInput],
      [driver, 'replay/scanner/basket', '{}'],
      [service, 'evt/keyswitch/InputChanged', forgedInput],
      [service, 'evt/basket/ItemAddedToBasket', '{}'],
      [service, 'svc/basket/head', '{"seq":1000000000000}'],
      [service, 'replay/basket/attendant', '{}'],
      [service, 'reply/test-watch/1', '{"id":"1","ok":true}'],
    ];
    const before = await counted(lane, 'brokerRefused', { reason: 'acl-publish' });
    for (const [[role, password, clientId], topic, message] of attacks) await pub(role, password, clientId, topic, message);
    await until(async () => (await counted(lane, 'brokerRefused', { reason: 'acl-publish' })) === before + attacks.length, 10_000, 'every attempt refused');
    // a publish that passes reaches the watcher: one from the rogue service to its own source marks the end
    await pub(...service, 'svc/rogue/head', '{"seq":1}');
    await until(() => seen.some((s) => s.topic === 'svc/rogue/head'), 10_000, 'the rogue’s own head');
    const forged = new Set(attacks.map(([, topic, message]) => `${topic} ${message}`));
    t.same(
      seen.filter((s) => forged.has(`${s.topic} ${s.body}`)),
      [],
      'none of them delivered',
    );
    t.ok(
      lane.logs.some((l) => /refused publish by laned-rogue-driver \(driver\) to evt\/keyswitch\/InputChanged/.test(String(l.msg))),
      'the log names client, role and topic',
    );
    const lastLane = seen.filter((s) => s.topic === 'doc/lane').at(-1);
    t.equal(lastLane && (JSON.parse(lastLane.body) as { attendantMode: boolean }).attendantMode, false, 'the attendant is not in attendant mode');
  });

  await t.test('the ui role sends only the commands its screens send', async (t) => {
    const ui = ['ui', creds.password('ui'), 'ui-test'] as const;
    const builtins = ['DlqList', 'DlqDrop', 'DlqRetry', 'Status', 'Replay'];
    const refused = [
      ...['basket', 'attendant', 'payment', 'weightcheck'].flatMap((svc) => builtins.map((c) => `cmd/${svc}/${c}`)),
      'cmd/payment/List',
      'cmd/payment/SimLedger',
      'cmd/journal/List',
      'cmd/probe/Replay',
    ];
    const before = await counted(lane, 'brokerRefused', { reason: 'acl-publish' });
    for (const topic of refused) await pub(...ui, topic, JSON.stringify({ id: `ui-${topic}`, args: { n: 1, from: 1, to: 5000, consumer: 'basket' } }));
    await until(async () => (await counted(lane, 'brokerRefused', { reason: 'acl-publish' })) === before + refused.length, 10_000, 'every command refused');
    for (const topic of refused)
      t.ok(
        lane.logs.some((l) => String(l.msg) === `refused publish by ui-test (ui) to ${topic}: not allowed for the role`),
        `${topic}: refused and logged`,
      );
    // what the screens send still goes through, as the services declare it
    const declared = serviceCatalog.flatMap(({ def }) => (def.ui ?? []).map((c) => `cmd/${def.name}/${c}`));
    t.ok(declared.includes('cmd/basket/Pay') && declared.includes('cmd/journal/Show'), 'the services declare what the UI sends');
    await pub(...ui, 'cmd/journal/Show', JSON.stringify({ id: 'ui-show', args: { txn: 'T-none' } }));
    await until(() => seen.some((s) => s.topic === 'cmd/journal/Show'), 10_000, 'the receipt request delivered');
    t.same(
      seen.filter((s) => refused.includes(s.topic)),
      [],
      'no refused command delivered',
    );
  });

  await t.test('by is the sender’s principal; replyTo is under the sender’s clientId; only the target answers it', async (t) => {
    const rogue = await lane.connect('service', 'laned-rogue');
    await watcher.publishAsync('cmd/catalog/DlqList', JSON.stringify({ id: 'by-1', replyTo: 'reply/test-watch/by-1', by: 'store-manager' }), { qos: 1 });
    const delivered = () => seen.find((s) => s.topic === 'cmd/catalog/DlqList');
    await until(() => delivered() !== undefined, 10_000, 'the command');
    t.equal((JSON.parse(delivered()!.body) as { by: string }).by, 'technician', 'the broker wrote the principal over the claimed by');
    await until(() => lane.logs.some((l) => l.msg === 'dead letters of catalog listed by technician'), 10_000, 'the target logs who listed');
    // the rogue tries to answer a command it was not asked
    const before = await counted(lane, 'brokerRefused', { reason: 'acl-publish' });
    rogue.publish('reply/test-watch/by-1', JSON.stringify({ id: 'by-1', ok: true, result: 'forged' }), { qos: 1 });
    await until(async () => (await counted(lane, 'brokerRefused', { reason: 'acl-publish' })) === before + 1, 10_000, 'the forged reply refused');
    await until(() => seen.some((s) => s.topic === 'reply/test-watch/by-1'), 10_000, 'the real reply');
    t.same(
      seen.filter((s) => s.topic === 'reply/test-watch/by-1').map((s) => (JSON.parse(s.body) as { ok: boolean; result: unknown }).result !== 'forged'),
      [true],
      'one reply, from the catalog',
    );
    // a replyTo under someone else's clientId
    const cmdBefore = await counted(lane, 'brokerRefused', { reason: 'command' });
    await pub(
      'technician',
      creds.password('technician'),
      'test-tech-x',
      'cmd/catalog/Status',
      JSON.stringify({ id: 'rt-1', replyTo: 'reply/test-watch/rt-1' }),
    );
    await until(async () => (await counted(lane, 'brokerRefused', { reason: 'command' })) === cmdBefore + 1, 10_000, 'refused');
    t.ok(
      lane.logs.some((l) =>
        /refused command by test-tech-x on cmd\/catalog\/Status: replyTo "reply\/test-watch\/rt-1" is not under reply\/test-tech-x\//.test(String(l.msg)),
      ),
    );
  });

  await t.test('replays: only services ask, each for itself, and not in a flood', async (t) => {
    const tech = ['technician', creds.password('technician'), 'test-tech-r'] as const;
    const before = await counted(lane, 'brokerRefused', { reason: 'acl-publish' });
    await pub(...tech, 'cmd/probe/Replay', JSON.stringify({ id: 'r-tech', args: { from: 1, to: 5000, consumer: 'probe-sink' } }));
    await until(async () => (await counted(lane, 'brokerRefused', { reason: 'acl-publish' })) === before + 1, 10_000, 'the technician’s replay refused');

    const greedy = await lane.connect('service', 'laned-greedy');
    const ends: string[] = [];
    greedy.on('message', (topic) => topic.endsWith('/end') && ends.push(topic));
    await greedy.subscribeAsync(['replay/+/greedy/end'], { qos: 1 });
    const rejected = () => counted(lane, 'rejected', { service: 'probe', reason: 'replay' });
    const rate = () => counted(lane, 'rejected', { service: 'probe', reason: 'replay-rate' });
    // on behalf of another consumer: refused
    await greedy.publishAsync('cmd/probe/Replay', JSON.stringify({ id: 'r-other', args: { from: 1, to: 5000, consumer: 'probe-sink' } }), { qos: 1 });
    await until(async () => (await rejected()) === 1, 10_000, 'the replay for another consumer refused');
    t.ok(lane.logs.some((l) => /replay request for probe refused: service:greedy asked on behalf of probe-sink/.test(String(l.msg))));
    // a flood: the first five answered, the rest refused
    for (let i = 0; i < 12; i++)
      await greedy.publishAsync('cmd/probe/Replay', JSON.stringify({ id: `r-${i}`, args: { from: 1, to: 5000, consumer: 'greedy' } }), { qos: 1 });
    await until(async () => ends.length + (await rate()) === 12, 20_000, 'every request answered or refused');
    t.ok(ends.length >= 5 && ends.length < 12, `a few answered (${ends.length}), the flood refused (${await rate()})`);
    t.ok(
      lane.logs.some((l) => /replay request of service:greedy for probe refused: too many requests/.test(String(l.msg))),
      'logged',
    );
  });
});
