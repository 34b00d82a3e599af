import t from 'tap';
import { createConnection, type Socket } from 'node:net';
import WebSocket from 'ws';
import mqtt from 'mqtt';
import { startLane, until } from '../helpers/lane.js';

// Topics that are not well-formed UTF-8 or hold U+0000 close the connection
// [MQTT-1.5.3-1] [MQTT-1.5.3-2]; connections are capped per listener and per role.

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
/** A length-prefixed string of raw bytes (MQTT 3.1.1 §1.5.3), so ill-formed UTF-8 can be written. */
const bytes = (b: Buffer | string): Buffer => {
  const buf = typeof b === 'string' ? Buffer.from(b) : b;
  return Buffer.concat([u16(buf.length), buf]);
};
const packet = (first: number, body: Buffer): Buffer => {
  if (body.length > 127) throw new Error('test packets stay under 128 bytes');
  return Buffer.concat([Buffer.from([first, body.length]), body]);
};

/** CONNECT (§3.1) as technician, clean session; with a will when `will` is given (flags 0x04). */
function connect(clientId: string, password: string, will?: Buffer): Buffer {
  const flags = 0xc2 | (will ? 0x04 : 0);
  return packet(
    0x10,
    Buffer.concat([
      bytes('MQTT'),
      Buffer.from([0x04, flags, 0x00, 0x3c]),
      bytes(clientId),
      ...(will ? [bytes(will), bytes('{}')] : []),
      bytes('technician'),
      bytes(password),
    ]),
  );
}

/** Write `packets` and collect what the broker answers until it closes the connection (or 3 s pass: still open). */
function exchange(port: number, packets: Buffer[]): Promise<{ got: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const sock: Socket = createConnection(port, '127.0.0.1');
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ got: Buffer.concat(parts), closed: false });
    }, 3000);
    sock.on('data', (b: Buffer) => parts.push(b));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve({ got: Buffer.concat(parts), closed: true });
    });
    sock.on('connect', () => {
      for (const p of packets) sock.write(p);
    });
  });
}

const CONNACK_OK = [0x20, 0x02, 0x00, 0x00];

t.test('topics with U+0000 or ill-formed UTF-8 are refused', async (t) => {
  const lane = await startLane({ devices: {}, services: { probe: { enabled: true } } });
  t.teardown(() => lane.stop());
  const port = lane.daemon.broker!.port;
  const pw = lane.daemon.credentials.password('technician');
  const refused = async (): Promise<number> =>
    (await lane.daemon.metrics.brokerRefused.get()).values.filter((v) => v.labels.reason === 'topic').reduce((a, v) => a + v.value, 0);
  const seen: string[] = [];
  const watcher = await lane.connect('technician', 'watcher');
  watcher.on('message', (topic) => seen.push(topic));
  await watcher.subscribeAsync('cmd/#', { qos: 1 });

  const cases: Array<[string, Buffer]> = [
    // PUBLISH QoS 1 (§3.3): topic, packet id 1, payload "{}"
    ['PUBLISH to a topic with U+0000', packet(0x32, Buffer.concat([bytes(Buffer.from('cmd/probe/\u0000Emit')), u16(1), Buffer.from('{}')]))],
    [
      'PUBLISH to a topic with a lone 0xFF byte',
      packet(0x32, Buffer.concat([bytes(Buffer.from([...Buffer.from('cmd/probe/'), 0xff, 0x45])), u16(1), Buffer.from('{}')])),
    ],
    [
      'PUBLISH to a topic with an encoded surrogate (ED A0 80)',
      packet(0x32, Buffer.concat([bytes(Buffer.from([...Buffer.from('cmd/probe/'), 0xed, 0xa0, 0x80])), u16(1), Buffer.from('{}')])),
    ],
    // SUBSCRIBE (§3.8): packet id 2, filter, QoS 1
    ['SUBSCRIBE to a filter with U+0000', packet(0x82, Buffer.concat([u16(2), bytes(Buffer.from('evt/\u0000/#')), Buffer.from([0x01])]))],
    [
      'SUBSCRIBE to a filter truncated mid-character (E2 82)',
      packet(0x82, Buffer.concat([u16(2), bytes(Buffer.from([...Buffer.from('evt/'), 0xe2, 0x82])), Buffer.from([0x01])])),
    ],
  ];
  for (const [what, p] of cases) {
    const before = await refused();
    const r = await exchange(port, [connect(`topic-${before}`, pw), p]);
    t.same([...r.got.subarray(0, 4)], CONNACK_OK, `${what}: connected first`);
    t.equal(r.got.length, 4, `${what}: no PUBACK, no SUBACK`);
    t.ok(r.closed, `${what}: the connection is closed`);
    t.equal(await refused(), before + 1, `${what}: counted`);
  }
  const will = await exchange(port, [connect('topic-will', pw, Buffer.from('svc/x\u0000/state'))]);
  t.ok(will.closed && will.got.length === 0, 'a will topic with U+0000: closed without a CONNACK');
  t.ok(
    lane.logs.some((l) => /closed connection of topic-\d+: it published to a topic that holds U\+0000 \[MQTT-1\.5\.3-2\]/.test(String(l.msg))),
    'logged with the clause',
  );
  t.ok(lane.logs.some((l) => /closed connection of topic-\d+: it published to a topic that is not well-formed UTF-8 \[MQTT-1\.5\.3-1\]/.test(String(l.msg))));
  // a good publish on the same broker still goes through
  const ok = await exchange(port, [connect('topic-good', pw), packet(0x32, Buffer.concat([bytes('cmd/probe/Nothing'), u16(1), Buffer.from('{}')]))]);
  t.same([...ok.got], [...CONNACK_OK, 0x40, 0x02, 0x00, 0x01], 'a well-formed topic: CONNACK, PUBACK');
  await until(() => seen.includes('cmd/probe/Nothing'), 5000, 'the good publish delivered');
  t.same(seen, ['cmd/probe/Nothing'], 'and nothing of the refused ones was delivered');
});

t.test('connections are capped per listener and per role', async (t) => {
  const lane = await startLane({
    devices: {},
    broker: { maxConnections: { tcp: 4, websocket: 2 }, maxClientsPerRole: { technician: 2 } },
  });
  t.teardown(() => lane.stop());
  const port = lane.daemon.broker!.port;
  const refused = async (reason: string): Promise<number> =>
    (await lane.daemon.metrics.brokerRefused.get()).values.filter((v) => v.labels.reason === reason).reduce((a, v) => a + v.value, 0);

  await t.test('per role: CONNACK 0x03 once the role has its clients', async (t) => {
    const a = await lane.connect('technician', 'tech-a');
    await lane.connect('technician', 'tech-b');
    const third = await new Promise<string>((resolve) => {
      const c = mqtt.connect(lane.brokerUrl, {
        clientId: 'tech-c',
        username: 'technician',
        password: lane.daemon.credentials.password('technician'),
        reconnectPeriod: 0,
      });
      c.once('connect', () => resolve('connected'));
      c.once('error', (err) => {
        c.end(true);
        resolve(err.message);
      });
    });
    t.match(third, /Server unavailable/i, 'the third technician is refused (CONNACK 0x03)');
    t.equal(await refused('role-full'), 1, 'counted');
    t.ok(
      lane.logs.some((l) =>
        /refused connection of tech-c from 127\.0\.0\.1:\d+: role technician has its 2 clients \(broker\.maxClientsPerRole\.technician\)/.test(String(l.msg)),
      ),
    );
    const again = await lane.connect('technician', 'tech-a');
    t.ok(again.connected, 'a client taking over its own session is not counted twice');
    a.end(true);
    await until(() => lane.daemon.broker!.clients <= 2 + lane.daemon.services.length, 5000, 'tech-a gone');
  });

  await t.test('per listener: the TCP listener holds its connections, unauthenticated ones too', async (t) => {
    // the two technicians above are still connected: two more silent sockets fill the listener
    const silent: Socket[] = [];
    for (let i = 0; i < 2; i++) {
      const s = createConnection(port, '127.0.0.1');
      s.on('error', () => undefined);
      await new Promise((r) => s.once('connect', r));
      silent.push(s);
    }
    t.teardown(() => silent.forEach((s) => s.destroy()));
    const extra = await exchange(port, [connect('over-cap', lane.daemon.credentials.password('technician'))]);
    t.ok(extra.closed && extra.got.length === 0, 'the fifth connection is closed at once, unread');
    await until(async () => (await refused('connections')) === 1, 5000, 'the dropped connection counted');
  });

  await t.test('per listener: WebSocket upgrades beyond the cap get 503', async (t) => {
    const httpPort = lane.daemon.http!.port;
    const open = (): Promise<{ status: number; ws: WebSocket }> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/mqtt`, 'mqtt');
        ws.on('open', () => resolve({ status: 101, ws }));
        ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0, ws }));
        ws.on('error', () => undefined);
      });
    const a = await open();
    const b = await open();
    const c = await open();
    t.same([a.status, b.status, c.status], [101, 101, 503], 'two open, the third refused');
    for (const x of [a, b, c]) x.ws.terminate();
  });
});
