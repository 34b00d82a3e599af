import t from 'tap';
import { Socket } from 'node:net';
import { once } from 'node:events';
import { duplexPair } from '../../broker/in-process.js';
import { connectClient, whenConnected } from '../../daemon/runtime/mqtt.js';
import { createLogger } from '../../daemon/core/log.js';
import { startLane, until } from '../helpers/lane.js';

// The daemon's own clients reach the broker over an in-memory stream pair: it must
// behave like the TCP connection it replaces (order, end, close, backpressure), and
// the lane must really use it.

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test('duplexPair: in order both ways, a tick later, never inside the write', async (t) => {
  const [a, b] = duplexPair();
  const atB: string[] = [];
  const atA: string[] = [];
  b.on('data', (c: Buffer) => atB.push(c.toString()));
  a.on('data', (c: Buffer) => atA.push(c.toString()));
  a.write('one');
  a.write('two');
  b.write('back');
  t.same(atB, [], 'nothing is read inside the writer’s call');
  await tick();
  t.same(atB, ['one', 'two'], 'in order');
  t.same(atA, ['back'], 'and the other way');
  a.destroy();
  b.destroy();
});

t.test('duplexPair: ending one end closes both, like a socket without half-open', async (t) => {
  const [a, b] = duplexPair();
  b.resume();
  a.resume();
  const bEnded = once(b, 'end');
  const aClosed = once(a, 'close');
  const bClosed = once(b, 'close');
  a.end('last');
  await bEnded;
  await Promise.all([aClosed, bClosed]);
  t.ok(a.destroyed && b.destroyed, 'both ends closed');
});

t.test('duplexPair: destroying one end closes the other; a write to it fails', async (t) => {
  const [a, b] = duplexPair();
  const bClosed = once(b, 'close');
  a.destroy();
  await bClosed;
  t.ok(b.destroyed, 'the peer is closed too');
  const [c, d] = duplexPair();
  d.destroy();
  await once(c, 'close');
  t.notOk(c.write('x'), 'a closed end takes no writes');
});

t.test('duplexPair: a writer waits while the reader does not read', async (t) => {
  const [a, b] = duplexPair();
  b.pause();
  const chunk = Buffer.alloc(64 * 1024, 1);
  let written = 0;
  const done = new Promise<void>((resolve) => a.write(chunk, () => resolve()));
  void done.then(() => (written += 1));
  await tick();
  await tick();
  t.equal(written, 0, 'the write is not done while the peer’s buffer is full');
  let read = 0;
  b.on('data', (c: Buffer) => (read += c.length));
  b.resume();
  await done;
  t.equal(read, chunk.length, 'all of it arrives once the reader reads');
  a.destroy();
});

t.test('the lane’s services and drivers use in-process connections; outside clients TCP', async (t) => {
  const lane = await startLane({});
  t.teardown(() => lane.stop());
  const outside = await lane.connect('technician', 'test-outside');
  t.teardown(() => outside.end(true));
  const clients = Object.values((lane.daemon.broker as unknown as { aedes: { clients: Record<string, { id: string; conn: unknown }> } }).aedes.clients);
  const inProcess = clients.filter((c) => !(c.conn instanceof Socket)).map((c) => c.id);
  const tcp = clients.filter((c) => c.conn instanceof Socket).map((c) => c.id);
  t.same(tcp, ['test-outside'], 'only the outside client on TCP');
  t.ok(inProcess.includes('laned-basket') && inProcess.includes('laned-devices'), `services in process: ${inProcess.join(', ')}`);
});

t.test('an in-process client: credentials checked, messages both ways, the broker stopping closes it', async (t) => {
  const lane = await startLane({ devices: {} });
  t.teardown(() => lane.stop());
  const log = createLogger({ level: 'error', destination: { write: () => true } as never });
  const broker = lane.daemon.broker!;
  const refused = connectClient({
    url: 'mqtt://unused.invalid:1',
    stream: () => broker.connectInProcess(),
    clientId: 'laned-wrongpass',
    username: 'service',
    password: 'not the password',
    log,
  });
  await t.rejects(whenConnected(refused, 1500), 'a wrong password is refused in process too');
  refused.end(true);

  const got: string[] = [];
  let onSubscribed!: () => void;
  const subscribed = new Promise<void>((r) => (onSubscribed = r));
  const client = connectClient({
    url: 'mqtt://unused.invalid:1',
    stream: () => broker.connectInProcess(),
    clientId: 'laned-inproc',
    username: 'service',
    password: lane.daemon.credentials.password('service', 'laned-inproc'),
    log,
    subscriptions: ['evt/outside/+'],
    onMessage: async (_topic, payload) => {
      got.push(payload.toString());
    },
    onSubscribed: () => onSubscribed(),
  });
  t.teardown(() => client.end(true));
  await whenConnected(client, 5000);
  await until(() => Object.keys((broker as unknown as { aedes: { clients: object } }).aedes.clients).includes('laned-inproc'), 5000, 'connected');
  const outside = await lane.connect('service', 'laned-outside');
  t.teardown(() => outside.end(true));
  const heard: string[] = [];
  outside.on('message', (_topic, p) => heard.push(p.toString()));
  await outside.subscribeAsync('evt/inproc/+', { qos: 1 });
  await subscribed;
  await outside.publishAsync('evt/outside/Hello', 'from tcp', { qos: 1 });
  await client.publishAsync('evt/inproc/Hello', 'from memory', { qos: 1 });
  await until(() => got.length === 1 && heard.length === 1, 5000, 'both messages');
  t.same([got, heard], [['from tcp'], ['from memory']], 'TCP and in-memory clients talk through the one broker');
  const closed = new Promise<boolean>((resolve) => {
    client.once('close', () => resolve(true));
    setTimeout(() => resolve(false), 5000).unref();
  });
  await broker.stop();
  t.ok(await closed, 'the client saw its connection close within 5 s of the broker stopping');
});
