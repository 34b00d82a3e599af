import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { startLane, until } from '../helpers/lane.js';

// The broker against clients nobody here wrote: Debian's mosquitto_pub / mosquitto_sub.

interface Run {
  code: number | null;
  out: string;
}

function mosq(tool: 'mosquitto_pub' | 'mosquitto_sub', args: string[], timeoutMs = 5000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(tool, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

async function refusedCount(lane: Awaited<ReturnType<typeof startLane>>, reason: string): Promise<number> {
  return (await lane.daemon.metrics.brokerRefused.get()).values.filter((v) => v.labels.reason === reason).reduce((a, v) => a + v.value, 0);
}

t.test('broker: authentication and role ACLs with real clients', async (t) => {
  const lane = await startLane({ services: { probe: { enabled: true } } });
  t.teardown(() => lane.stop());
  const port = String(lane.daemon.broker!.port);
  const pw = (role: 'technician' | 'ui' | 'service', clientId?: string) => lane.daemon.credentials.password(role, clientId);
  const base = ['-h', '127.0.0.1', '-p', port];

  await t.test('a technician sees events with mosquitto_sub', async (t) => {
    // the probe's retained state comes first: once it is there, mosquitto_sub is subscribed
    const sub = spawn('mosquitto_sub', [
      ...base,
      '-u',
      'technician',
      '-P',
      pw('technician'),
      '-t',
      'svc/probe/state',
      '-t',
      'evt/probe/#',
      '-v',
      '-C',
      '4',
      '-W',
      '10',
    ]);
    const exited = new Promise<number | null>((r) => sub.on('exit', r));
    let out = '';
    sub.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => out.startsWith('svc/probe/state '), 10_000, 'mosquitto_sub subscribed (the retained svc/probe/state)');
    const probeClient = await lane.connect('technician', 'test-tech');
    probeClient.publish('cmd/probe/Emit', JSON.stringify({ id: 'emit-1', args: { count: 3 } }), { qos: 1 });
    t.equal(await exited, 0, 'mosquitto_sub got its 3 messages');
    const lines = out.trim().split('\n').slice(1);
    t.equal(lines.length, 3);
    t.ok(
      lines.every((l) => l.startsWith('evt/probe/ProbeTick {')),
      'topic and JSON envelope',
    );
    t.same(
      lines.map((l) => (JSON.parse(l.slice(l.indexOf(' ') + 1)) as { seq: number }).seq),
      [1, 2, 3],
    );
  });

  await t.test('a bad password is refused, counted and logged', async (t) => {
    const before = await refusedCount(lane, 'auth');
    const r = await mosq('mosquitto_pub', [...base, '-u', 'technician', '-P', 'wrong-password', '-t', 'cmd/probe/Emit', '-m', '{}']);
    t.not(r.code, 0, 'mosquitto_pub fails');
    t.match(r.out, /not authori[sz]ed|bad user name or password/i);
    t.equal(await refusedCount(lane, 'auth'), before + 1, 'counted');
    t.ok(
      lane.logs.some((l) => /bad user name or password for "technician"/.test(String(l.msg))),
      'one log line names the user',
    );
    const unknown = await mosq('mosquitto_pub', [...base, '-u', 'nobody', '-P', 'x', '-t', 'a', '-m', '{}']);
    t.not(unknown.code, 0, 'unknown role refused');
  });

  await t.test('the UI cannot publish events; nobody publishes under $SYS', async (t) => {
    const seen: string[] = [];
    const watcher = await lane.connect('technician', 'test-watch');
    watcher.on('message', (topic) => seen.push(topic));
    await new Promise((r) => watcher.subscribe(['evt/basket/#', 'evt/probe/#', '$SYS/laned/#'], { qos: 1 }, r));
    const before = await refusedCount(lane, 'acl-publish');
    await mosq('mosquitto_pub', [...base, '-u', 'ui', '-P', pw('ui'), '-i', 'ui-test', '-q', '1', '-t', 'evt/basket/ItemAddedToBasket', '-m', '{}']);
    await mosq('mosquitto_pub', [...base, '-u', 'technician', '-P', pw('technician'), '-q', '1', '-t', '$SYS/laned/x', '-m', '{}']);
    await mosq('mosquitto_pub', [
      ...base,
      '-u',
      'service',
      '-P',
      pw('service', 'laned-probe-sink'),
      '-i',
      'laned-probe-sink',
      '-q',
      '1',
      '-t',
      'evt/probe/ProbeTick',
      '-m',
      '{}',
    ]);
    // the subject is silence: room for a wrongly delivered message to arrive
    await new Promise((r) => setTimeout(r, 300));
    t.same(seen, [], 'nothing delivered');
    t.equal(await refusedCount(lane, 'acl-publish'), before + 3, 'each refusal counted');
    t.ok(
      lane.logs.some((l) => /refused publish by ui-test \(ui\) to evt\/basket\/ItemAddedToBasket/.test(String(l.msg))),
      'log names client, role and topic',
    );
  });

  await t.test('the UI may not subscribe to events', async (t) => {
    const r = await mosq('mosquitto_sub', [...base, '-u', 'ui', '-P', pw('ui'), '-t', 'evt/#', '-C', '1', '-W', '2']);
    t.match(r.out, /All subscription requests were denied/, 'SUBACK 0x80 reported by mosquitto_sub');
    const ok = await mosq('mosquitto_sub', [...base, '-u', 'ui', '-P', pw('ui'), '-t', 'svc/probe/state', '-C', '1', '-W', '3']);
    t.equal(ok.code, 0, 'the UI reads retained service state');
    t.match(ok.out, /"state":"online"/);
  });

  await t.test('a payload over events.maxPayloadBytes is refused', async (t) => {
    const before = await refusedCount(lane, 'payload-size');
    const big = 'x'.repeat(70_000);
    await mosq('mosquitto_pub', [...base, '-u', 'technician', '-P', pw('technician'), '-q', '1', '-t', 'cmd/probe/Emit', '-m', big]);
    t.equal(await refusedCount(lane, 'payload-size'), before + 1);
  });

  await t.test('a refused publish is acknowledged and dropped: the client keeps its connection [MQTT-3.3.5-2]', async (t) => {
    const watcher = await lane.connect('technician', 'test-refused-watch');
    const seen: string[] = [];
    watcher.on('message', (topic, payload) => seen.push(`${topic} ${payload.length}`));
    await watcher.subscribeAsync('doc/refusetest', { qos: 1 });
    const peek = await new Promise<Error | undefined>((resolve) => watcher.subscribe('$laned/discarded', { qos: 1 }, (err) => resolve(err ?? undefined)));
    t.ok(peek, 'nobody subscribes to where refused messages go (SUBACK 0x80)');
    const service = await lane.connect('service', 'laned-refusetest', { clean: false });
    let closed = 0;
    service.on('close', () => (closed += 1));
    const sizeBefore = await refusedCount(lane, 'payload-size');
    const aclBefore = await refusedCount(lane, 'acl-publish');
    // over events.maxPayloadBytes (65,536) but within the header allowance, where the packet guard would close the connection
    await service.publishAsync('doc/refusetest', 'x'.repeat(66_000), { qos: 1, retain: true });
    await service.publishAsync('evt/basket/ItemAddedToBasket', '{}', { qos: 1 });
    t.ok(service.connected, 'both refused publishes got their PUBACK, the client still connected');
    await service.publishAsync('doc/refusetest', '{"small":true}', { qos: 1, retain: true });
    await until(() => seen.length > 0, 5000, 'the small document at the watcher');
    t.same(seen, ['doc/refusetest 14'], 'only the document within the limit is delivered');
    t.equal(closed, 0, 'the connection stayed open');
    t.ok(service.connected, 'and is connected');
    t.equal(await refusedCount(lane, 'payload-size'), sizeBefore + 1, 'the oversized one counted');
    t.equal(await refusedCount(lane, 'acl-publish'), aclBefore + 1, 'the forbidden one counted');
    const late = await lane.connect('technician', 'test-refused-late');
    const retained: string[] = [];
    late.on('message', (topic, payload) => retained.push(`${topic} ${payload.toString()}`));
    await late.subscribeAsync('doc/refusetest', { qos: 1 });
    await until(() => retained.length > 0, 5000, 'the retained document');
    t.same(retained, ['doc/refusetest {"small":true}'], 'the refused one was not retained either');
    service.end(true);
    watcher.end(true);
    late.end(true);
  });

  await t.test('a zero-length clientId with clean=false gets CONNACK 0x02 [MQTT-3.1.3-8]', async (t) => {
    // mqtt.js and mosquitto_pub refuse to send this, so the CONNECT is written by hand
    // (MQTT 3.1.1 §3.1): protocol "MQTT" level 4, flags 0xC0 (user name, password, CleanSession=0).
    const str = (s: string): Buffer => Buffer.concat([Buffer.from([s.length >> 8, s.length & 0xff]), Buffer.from(s)]);
    const body = Buffer.concat([str('MQTT'), Buffer.from([0x04, 0xc0, 0x00, 0x3c]), str(''), str('technician'), str(pw('technician'))]);
    const connect = Buffer.concat([Buffer.from([0x10, body.length]), body]);
    const sock = createConnection(Number(port), '127.0.0.1');
    const reply = await new Promise<Buffer>((resolve) => {
      sock.once('data', resolve);
      sock.once('close', () => resolve(Buffer.alloc(0)));
      sock.write(connect);
    });
    sock.destroy();
    t.same([...reply], [0x20, 0x02, 0x00, 0x02], 'CONNACK, return code 0x02 identifier rejected');
    t.equal(lane.daemon.health().status, 'ready', 'broker still serving');
  });
});
