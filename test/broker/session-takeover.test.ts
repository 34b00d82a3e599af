import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { startLane, until, type InProcessLane } from '../helpers/lane.js';
import { query, tempDir } from '../helpers/daemon.js';

// Another principal's clientId, tried with clients nobody here wrote (Debian's mosquitto_sub
// with -c: CleanSession=0, to resume the session and take its queued messages).

interface Run {
  code: number | null;
  out: string;
}

function mosquittoSub(args: string[], timeoutMs = 5000): Promise<Run> {
  return new Promise((resolve) => {
    execFile('mosquitto_sub', args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

async function refused(lane: InProcessLane, reason: string): Promise<number> {
  return (await lane.daemon.metrics.brokerRefused.get()).values.filter((v) => v.labels.reason === reason).reduce((a, v) => a + v.value, 0);
}

/** Probe ticks this client receives, by seq. */
function collect(c: MqttClient): number[] {
  const seqs: number[] = [];
  c.on('message', (topic, payload) => {
    if (topic.startsWith('evt/probe/')) seqs.push((JSON.parse(payload.toString()) as { seq: number }).seq);
  });
  return seqs;
}

function online(lane: InProcessLane, clientId: string): boolean {
  return clientId in (lane.daemon.broker as unknown as { aedes: { clients: Record<string, unknown> } }).aedes.clients;
}

async function emit(lane: InProcessLane, tech: MqttClient, count: number, id: string): Promise<number> {
  const before = lane.daemon.services.find((s) => s.name === 'probe')!.status().lastSeq;
  await tech.publishAsync('cmd/probe/Emit', JSON.stringify({ id, args: { count } }), { qos: 1 });
  await until(() => lane.daemon.services.find((s) => s.name === 'probe')!.status().lastSeq >= before + count, 10_000, `${count} probe ticks`);
  return before;
}

t.test('a takeover with another principal’s clientId is refused; the victim’s queued messages all reach the victim', async (t) => {
  const lane = await startLane({ services: { probe: { enabled: true } } });
  t.teardown(() => lane.stop());
  const port = String(lane.daemon.broker!.port);
  const creds = lane.daemon.credentials;
  const base = ['-h', '127.0.0.1', '-p', port, '-q', '1', '-c', '-C', '1', '-W', '3', '-v'];
  const tech = await lane.connect('technician', 'test-tech');

  // The victims: the store's uplink and a technician's durable session, both offline with messages queued.
  const uplink = await lane.connect('uplink', 'store-uplink', { clean: false });
  await uplink.subscribeAsync('evt/probe/+', { qos: 1 });
  const durable = await lane.connect('technician', 'tech-durable', { clean: false });
  await durable.subscribeAsync('evt/probe/+', { qos: 1 });
  uplink.end(true);
  durable.end(true);
  await until(() => !online(lane, 'store-uplink') && !online(lane, 'tech-durable'), 5000, 'the victims offline');
  const first = await emit(lane, tech, 5, 'emit-queued');
  const queued = [1, 2, 3, 4, 5].map((i) => first + i);
  await until(() => lane.daemon.broker!.stats().queued >= 10, 10_000, 'ten messages queued for the two offline sessions');

  await t.test('the attempts', async (t) => {
    const attempts: Array<[string, string, string, string]> = [
      ['technician', creds.password('technician'), 'store-uplink', 'client-id'],
      ['ui', creds.password('ui'), 'store-uplink', 'client-id'],
      ['service', creds.password('service', 'laned-probe'), 'store-uplink', 'auth'],
      ['ui', creds.password('ui'), 'tech-durable', 'takeover'],
      ['uplink', creds.password('uplink'), 'tech-durable', 'takeover'],
      ['technician', creds.password('technician'), 'laned-basket', 'client-id'],
      ['ui', creds.password('ui'), 'laned-basket', 'client-id'],
      ['uplink', creds.password('uplink'), 'laned-basket', 'client-id'],
      // one service's own password does not open another's clientId
      ['service', creds.password('service', 'laned-probe'), 'laned-basket', 'auth'],
      ['driver', creds.password('driver', 'laned-sim'), 'laned-devices', 'auth'],
    ];
    for (const [role, password, clientId, reason] of attempts) {
      const before = await refused(lane, reason);
      const r = await mosquittoSub([...base, '-u', role, '-P', password, '-i', clientId, '-t', 'evt/#', '-t', 'cmd/#']);
      t.not(r.code, 0, `${role} as ${clientId}: mosquitto_sub fails`);
      t.match(r.out, /identifier rejected|not authori[sz]ed|bad user name or password/i, `${role} as ${clientId}: CONNACK refused (${r.out.trim()})`);
      t.notMatch(r.out, /^evt\//m, `${role} as ${clientId}: no message handed over`);
      t.equal(await refused(lane, reason), before + 1, `${role} as ${clientId}: counted as ${reason}`);
    }
    t.ok(
      lane.logs.some((l) => /refused connection of tech-durable as ui: that clientId is the session of technician/.test(String(l.msg))),
      'the log names the clientId, the principal and the owner',
    );
    t.ok(
      lane.logs.some((l) => /refused connection of laned-basket from \S+: clientId laned-basket belongs to the lane's own basket/.test(String(l.msg))),
      'and the reserved clientId',
    );
  });

  await t.test('the victims get every queued message', async (t) => {
    const back = await lane.connect('uplink', 'store-uplink', { clean: false });
    const got = collect(back);
    const back2 = await lane.connect('technician', 'tech-durable', { clean: false });
    const got2 = collect(back2);
    await until(() => queued.every((s) => got.includes(s) && got2.includes(s)), 10_000, 'the queued ticks');
    t.same(
      got.filter((s) => s > first),
      queued,
      'the uplink: all five, in order',
    );
    t.same(
      got2.filter((s) => s > first),
      queued,
      'the technician’s session: all five, in order',
    );
  });

  await t.test('the service whose clientId was tried never lost its connection', async (t) => {
    const basket = lane.daemon.services.find((s) => s.name === 'basket')!;
    t.equal(basket.status().connected, true);
    t.notOk(
      lane.logs.some((l) => l.component === 'services/basket' && /broker connection lost/.test(String(l.msg))),
      'no reconnect of laned-basket',
    );
  });
});

t.test('a resumed session from before owners were kept holds only what its new principal may read', async (t) => {
  const stateDir = tempDir();
  const config = { services: { probe: { enabled: true } } };
  const first = await startLane(config, stateDir);
  const tech = await first.connect('technician', 'test-tech');
  const old = await first.connect('technician', 'old-session', { clean: false });
  await old.subscribeAsync(['evt/probe/+', 'doc/#'], { qos: 1 });
  old.end(true);
  await until(() => !online(first, 'old-session'), 5000, 'the old session offline');
  await emit(first, tech, 3, 'emit-old');
  await until(() => first.daemon.broker!.stats().queued >= 3, 10_000, 'three ticks queued for the offline session');
  await first.stop();
  // a broker.db written before sessions had owners: the session is nobody's yet
  await query(join(stateDir, 'broker.db'), "DELETE FROM meta WHERE key LIKE 'owner:%'", [], { write: true });

  const second = await startLane(config, stateDir);
  t.teardown(() => second.stop());
  const before = await refused(second, 'acl-session');
  const ui = await second.connect('ui', 'old-session', { clean: false });
  const got = collect(ui);
  const docs: string[] = [];
  ui.on('message', (topic) => topic.startsWith('doc/') && docs.push(topic));
  await until(() => docs.length > 0, 10_000, 'a document through the kept doc/# subscription');
  const tech2 = await second.connect('technician', 'test-tech-2');
  const techGot = collect(tech2);
  await tech2.subscribeAsync('evt/probe/+', { qos: 1 });
  await emit(second, tech2, 2, 'emit-new');
  await until(() => techGot.length >= 2, 10_000, 'the two new ticks at a technician');
  t.same(got, [], 'no event reaches the UI: neither the queued ones nor new ones');
  t.equal(await refused(second, 'acl-session'), before + 1, 'counted');
  t.ok(
    second.logs.some((l) =>
      /session old-session resumed by ui: dropped subscriptions its ACL refuses \(evt\/probe\/\+\) and 3 queued messages/.test(String(l.msg)),
    ),
    'the log names the session, the principal, the filter and the messages',
  );
});
