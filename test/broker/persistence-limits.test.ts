import t from 'tap';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import sqlite3 from 'sqlite3';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { PACKAGE_ROOT as ROOT } from '../../daemon/core/paths.js';
import { PersistenceFileError, SqlitePersistence, type SqlitePersistenceOptions, type StoredPacket } from '../../broker/persistence.js';

const dirs: string[] = [];
const tmp = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'laned-persistence-limits-'));
  dirs.push(dir);
  return dir;
};
t.teardown(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface FakeBroker {
  id: string;
  clients: Record<string, unknown>;
}

async function open(file: string, opts: Partial<SqlitePersistenceOptions> = {}, broker: FakeBroker = { id: 'broker-a', clients: {} }) {
  const p = new SqlitePersistence({ file, ...opts });
  await p.setup(broker);
  return p;
}

async function list<T = StoredPacket>(stream: Readable): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item as T);
  return out;
}

function publish(counter: number, extra: Partial<StoredPacket> = {}): StoredPacket {
  return {
    cmd: 'publish',
    topic: 'evt/scanner/BarcodeScanned',
    payload: Buffer.from(`scan-${counter}`),
    qos: 1,
    retain: false,
    dup: false,
    brokerId: 'broker-a',
    brokerCounter: counter,
    ...extra,
  };
}

function sqlAll(file: string, sql: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (err) => {
      if (err) return reject(err);
      db.all(sql, (err2, rows) => db.close(() => (err2 ? reject(err2) : resolve(rows as Record<string, unknown>[]))));
    });
  });
}

function sqlRun(file: string, sql: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, (err) => {
      if (err) return reject(err);
      db.run(sql, (err2) => db.close(() => (err2 ? reject(err2) : resolve())));
    });
  });
}

function settlesWithin<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('a clean=false session survives closing and reopening the file', async (t) => {
  const file = join(tmp(), 'broker.sqlite');
  const a = { id: 'svc-basket' };
  const p = await open(file);
  const subs = [
    { topic: 'evt/#', qos: 1, rh: 0, rap: false, nl: false },
    { topic: 'doc/basket', qos: 0, rh: 0, rap: true, nl: false },
    { topic: 'cmd/basket/+', qos: 2, rh: 0, rap: false, nl: true, subscriptionIdentifier: 7 },
  ];
  await p.addSubscriptions(a, subs);
  await p.storeRetained({ cmd: 'publish', topic: 'doc/basket', payload: Buffer.from([0, 255, 10]), qos: 1, retain: true });
  await p.storeRetained({ cmd: 'publish', topic: 'doc/lane', payload: 'open', qos: 1, retain: true });
  await p.storeRetained({ cmd: 'publish', topic: 'doc/gone', payload: Buffer.from('x'), qos: 1, retain: true });
  await p.storeRetained({ cmd: 'publish', topic: 'doc/gone', payload: Buffer.alloc(0), qos: 1, retain: true });
  await p.outgoingEnqueueCombi([{ clientId: a.id }], publish(1));
  await p.outgoingEnqueueCombi([{ clientId: a.id }], publish(2, { qos: 2 }));
  await p.outgoingEnqueueCombi([{ clientId: a.id }], publish(3, { properties: { correlationData: Buffer.from('c0ffee', 'hex') } }));
  await p.outgoingUpdate(a, { ...publish(1), messageId: 10 });
  await p.outgoingUpdate(a, { ...publish(2, { qos: 2 }), messageId: 11 });
  await p.outgoingUpdate(a, { cmd: 'pubrel', messageId: 11 });
  await p.outgoingClearMessageId(a, { messageId: 10 });
  await p.incomingStorePacket(a, { cmd: 'publish', topic: 'evt/basket/ItemAdded', payload: Buffer.from('q2'), qos: 2, messageId: 42 });
  await p.incomingStorePacket(a, { cmd: 'publish', topic: 'evt/basket/ItemAdded', payload: Buffer.from('q2b'), qos: 2, messageId: 43 });
  await p.incomingDelPacket(a, { messageId: 43 });
  await p.putWill(a, { topic: 'svc/basket/state', payload: Buffer.from('offline'), qos: 1, retain: true });
  await p.destroy();

  const q = await open(file, {}, { id: 'broker-b', clients: {} });
  t.same(await q.subscriptionsByClient(a), subs, 'subscriptions with qos, rh, rap, nl and subscription identifier');
  t.same(
    await q.subscriptionsByTopic('evt/scanner/BarcodeScanned'),
    [{ clientId: a.id, topic: 'evt/#', qos: 1, rh: 0, rap: false, nl: false }],
    'the topic index is rebuilt',
  );
  t.same(await q.countOffline(), { subsCount: 2, clientsCount: 1 }, 'QoS 0 subscriptions are restored but not counted');

  const retained = await list(q.createRetainedStream('doc/#'));
  t.same(retained.map((r) => r.topic).sort(), ['doc/basket', 'doc/lane'], 'deleted retained message stays deleted');
  const basket = retained.find((r) => r.topic === 'doc/basket');
  t.ok(Buffer.isBuffer(basket?.payload) && (basket?.payload as Buffer).equals(Buffer.from([0, 255, 10])), 'binary payload intact');
  t.equal(retained.find((r) => r.topic === 'doc/lane')?.payload, 'open', 'a string payload stays a string');

  const queue = await list(q.outgoingStream(a));
  t.equal(queue.length, 2, 'cleared packet stays cleared');
  t.same(queue[0], { cmd: 'pubrel', messageId: 11 }, '[MQTT-4.4.0-1] PUBREL kept with its packet identifier');
  t.equal(queue[1].brokerCounter, 3);
  t.ok('messageId' in queue[1] && queue[1].messageId === undefined, 'unsent packet has no messageId yet');
  t.same((queue[1].properties as { correlationData: Buffer }).correlationData, Buffer.from('c0ffee', 'hex'), 'MQTT 5 binary property intact');

  const q2 = await q.incomingGetPacket(a, { messageId: 42 });
  t.equal((q2.payload as Buffer).toString(), 'q2', 'QoS 2 packet awaiting PUBREL is kept');
  await t.rejects(q.incomingGetPacket(a, { messageId: 43 }), /no such packet/, 'released QoS 2 packet stays released');

  t.same(
    await q.getWill(a),
    { topic: 'svc/basket/state', payload: Buffer.from('offline'), qos: 1, retain: true, brokerId: 'broker-a', clientId: a.id },
    'will with its broker id',
  );
  t.equal((await list(q.streamWill({ 'broker-b': Date.now() }))).length, 1, 'a will of the previous broker is offered for publishing');

  await q.outgoingUpdate(a, { ...queue[1], messageId: 12 });
  t.same((await q.outgoingClearMessageId(a, { messageId: 11 }))?.cmd, 'pubrel', 'restored queue is indexed by messageId');
  t.equal((await q.outgoingClearMessageId(a, { messageId: 12 }))?.brokerCounter, 3, 'restored queue is indexed by brokerCounter');
  await q.destroy();

  const header = Buffer.alloc(2);
  const fd = openSync(file, 'r');
  readSync(fd, header, 0, 2, 18);
  closeSync(fd);
  t.same([...header], [2, 2], 'file is in WAL mode (header bytes 18-19 = 2, sqlite.org/fileformat2.html §1.3.1)');
});

const persistenceUrl = pathToFileURL(join(ROOT, 'broker', 'persistence.ts')).href;

/** Runs one write in a child process that SIGKILLs itself the moment the write's promise resolves. */
function killAfter(file: string, scenario: string): Promise<{ signal: NodeJS.Signals | null; stderr: string }> {
  const code = `
    const { SqlitePersistence } = await import(${JSON.stringify(persistenceUrl)});
    const p = new SqlitePersistence({ file: ${JSON.stringify(file)} });
    await p.setup({ id: 'broker-child' });
    const client = { id: 'svc-basket' };
    const packet = { cmd: 'publish', topic: 'evt/scanner/BarcodeScanned', payload: Buffer.from('scan-1'), qos: 1,
      retain: false, dup: false, brokerId: 'broker-child', brokerCounter: 1 };
    const scenario = ${JSON.stringify(scenario)};
    let op;
    if (scenario === 'subscribe') op = p.addSubscriptions(client, [{ topic: 'evt/#', qos: 1 }]);
    if (scenario === 'retain') op = p.storeRetained({ ...packet, topic: 'doc/basket', retain: true });
    if (scenario === 'enqueue') op = p.outgoingEnqueueCombi([{ clientId: client.id }, { clientId: 'svc-journal' }], packet);
    if (scenario === 'update') {
      await p.outgoingEnqueueCombi([{ clientId: client.id }], packet);
      op = p.outgoingUpdate(client, { ...packet, messageId: 77 });
    }
    op.then(() => process.kill(process.pid, 'SIGKILL'));
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (_code, signal) => resolve({ signal, stderr }));
  });
}

t.test('a write resolves only after COMMIT: SIGKILL right after the promise loses nothing', async (t) => {
  const dir = tmp();
  const cases: Array<[string, (p: SqlitePersistence) => Promise<void>]> = [
    [
      'subscribe',
      async (p) => {
        t.same(await p.subscriptionsByTopic('evt/x'), [{ clientId: 'svc-basket', topic: 'evt/#', qos: 1 }], 'addSubscriptions committed');
      },
    ],
    [
      'retain',
      async (p) => {
        t.same(
          (await list(p.createRetainedStream('doc/basket'))).map((r) => String(r.payload)),
          ['scan-1'],
          'storeRetained committed',
        );
      },
    ],
    [
      'enqueue',
      async (p) => {
        t.equal((await list(p.outgoingStream({ id: 'svc-basket' }))).length, 1, 'outgoingEnqueueCombi committed for the first subscriber');
        t.equal((await list(p.outgoingStream({ id: 'svc-journal' }))).length, 1, 'and for the second');
      },
    ],
    [
      'update',
      async (p) => {
        t.equal((await list(p.outgoingStream({ id: 'svc-basket' })))[0]?.messageId, 77, '[MQTT-4.4.0-1] outgoingUpdate committed the messageId');
      },
    ],
  ];
  for (const [scenario, check] of cases) {
    const file = join(dir, `${scenario}.sqlite`);
    const { signal, stderr } = await killAfter(file, scenario);
    t.equal(signal, 'SIGKILL', `${scenario}: child was killed, not exited (${stderr.trim().slice(0, 300)})`);
    const p = await open(file);
    await check(p);
    await p.destroy();
  }
});

t.test('writes requested in one tick commit together and in order', async (t) => {
  const file = join(tmp(), 'broker.sqlite');
  const p = await open(file);
  const a = { id: 'svc-basket' };
  const retained = (topic: string, payload: string) => ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: true });
  const ops = [
    p.storeRetained(retained('doc/basket', 'first')),
    p.storeRetained(retained('doc/basket', 'second')),
    p.storeRetained(retained('doc/lane', 'open')),
    p.storeRetained(retained('doc/lane', '')),
    p.addSubscriptions(a, [{ topic: 'evt/#', qos: 1 }]),
    p.removeSubscriptions(a, ['evt/#']),
    p.addSubscriptions(a, [{ topic: 'cmd/#', qos: 1 }]),
  ];
  let settled = 0;
  const whenFirstSettles = new Promise<number>((resolve) => {
    for (const op of ops) {
      void op.then(() => {
        if (++settled === 1) setImmediate(() => resolve(settled));
      });
    }
  });
  t.equal(await whenFirstSettles, ops.length, 'one commit settles all writes of the tick together');
  await Promise.all(ops);
  await p.destroy();
  const rows = await sqlAll(file, 'SELECT topic, payload FROM retained');
  t.same(
    rows.map((r) => [r.topic, String(r.payload)]),
    [['doc/basket', 'second']],
    'last write per topic wins, the emptied topic is gone',
  );
  const q = await open(file);
  t.same(
    (await q.subscriptionsByClient(a)).map((s) => s.topic),
    ['cmd/#'],
    'unsubscribe after subscribe in the same batch',
  );
  await q.destroy();
});

t.test('deliveryWritesBehind: delivery writes resolve before their commit and are still written, in order', async (t) => {
  const file = join(tmp(), 'broker.sqlite');
  const p = await open(file, { deliveryWritesBehind: true });
  const a = { id: 'svc-basket' };
  const b = { id: 'svc-journal' };
  const committed = async () => (await sqlAll(file, 'SELECT client_id, packet FROM outgoing ORDER BY seq')).map((r) => r.client_id);
  // The group commit starts on the next turn of the event loop and needs I/O to finish:
  // resolved by then means resolved before the commit.
  let resolved = false;
  void p.outgoingEnqueueCombi([{ clientId: a.id }, { clientId: b.id }], publish(1)).then(() => (resolved = true));
  await new Promise((r) => setImmediate(r));
  t.ok(resolved, 'outgoingEnqueueCombi resolves without waiting for its commit');
  t.same(await committed(), [], 'not committed at that moment');
  const forA = { ...publish(1), messageId: 9 };
  await p.outgoingUpdate(a, forA);
  await p.outgoingClearMessageId(a, forA);
  await p.outgoingEnqueueCombi([{ clientId: a.id }], publish(2));
  await p.destroy();
  t.same(
    await committed(),
    ['svc-journal', 'svc-basket'],
    'the next commit wrote the queues as they stood: delivered to a, still queued for b, then the next for a',
  );
  const q = await open(file);
  t.same(
    (await list(q.outgoingStream(a))).map((m) => String(m.payload)),
    ['scan-2'],
  );
  t.same(
    (await list(q.outgoingStream(b))).map((m) => String(m.payload)),
    ['scan-1'],
  );
  await q.destroy();
});

t.test('offline queues are bounded: oldest dropped, counted, one warning per overflow episode', async (t) => {
  const file = join(tmp(), 'broker.sqlite');
  const warnings: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  const drops: Array<[string, number]> = [];
  const log = { warn: (obj: object, msg: string) => warnings.push({ obj: obj as Record<string, unknown>, msg }) };
  const p = await open(file, { maxOfflineQueue: 5, log, onDrop: (id, n) => drops.push([id, n]) });
  const a = { id: 'svc-journal' };
  for (let i = 1; i <= 8; i++) await p.outgoingEnqueue({ clientId: a.id }, publish(i));
  t.same(
    (await list(p.outgoingStream(a))).map((x) => x.brokerCounter),
    [4, 5, 6, 7, 8],
    'the 5 newest are kept',
  );
  t.same(p.stats(), { dropped: 3, queued: 5, clients: 1 });
  t.same(
    drops,
    [
      [a.id, 1],
      [a.id, 1],
      [a.id, 1],
    ],
    'onDrop per dropping enqueue',
  );
  t.equal(warnings.length, 1, 'one warning for the episode');
  t.match(warnings[0].msg, a.id, 'the warning names the client');
  t.equal(warnings[0].obj.clientId, a.id);

  await p.outgoingEnqueueCombi([{ clientId: a.id }, { clientId: 'svc-uplink' }], publish(9));
  t.equal(warnings.length, 1, 'still the same episode');
  for (const n of [5, 6, 7]) {
    await p.outgoingUpdate(a, { ...publish(n), messageId: n });
    await p.outgoingClearMessageId(a, { messageId: n });
  }
  t.same(p.stats(), { dropped: 4, queued: 3, clients: 2 }, 'drained to 2 of 5 (+1 for svc-uplink)');
  for (let i = 10; i <= 13; i++) await p.outgoingEnqueue({ clientId: a.id }, publish(i));
  t.equal(warnings.length, 2, 'a new overflow after draining below half is a new episode');
  t.same(p.stats().dropped, 5);

  const b = 'svc-attendant';
  for (let i = 1; i <= 6; i++) await p.outgoingEnqueue({ clientId: b }, publish(100 + i));
  t.equal(warnings.length, 3, 'each client has its own episode');
  t.match(warnings[2].msg, b);
  const kept = (await list(p.outgoingStream(a))).map((x) => x.brokerCounter);
  await p.destroy();

  const rows = await sqlAll(file, `SELECT count(*) AS n FROM outgoing WHERE client_id = '${a.id}'`);
  t.equal(rows[0].n, 5, 'dropped packets are deleted from the file');
  const reopened: string[] = [];
  const q = await open(file, { maxOfflineQueue: 3, log: { warn: (_o: object, msg: string) => reopened.push(msg) } });
  t.same(
    (await list(q.outgoingStream(a))).map((x) => x.brokerCounter),
    kept.slice(-3),
    'a lower bound trims the oldest at setup',
  );
  t.same(q.stats(), { dropped: 2 + 2, queued: 3 + 3 + 1, clients: 3 });
  t.equal(reopened.length, 2, 'one warning per trimmed client');
  await q.destroy();
});

t.test('a failed commit rejects its writes, warns once, and is written again with the next commit', async (t) => {
  const file = join(tmp(), 'broker.sqlite');
  const warnings: string[] = [];
  const p = await open(file, { log: { warn: (_o: object, msg: string) => warnings.push(msg) } });
  const retained = (topic: string) => ({ cmd: 'publish', topic, payload: Buffer.from(topic), qos: 1, retain: true });
  await p.storeRetained(retained('doc/a'));
  await sqlRun(file, `CREATE TRIGGER refuse BEFORE INSERT ON retained BEGIN SELECT RAISE(ABORT, 'SD card refused the write'); END`);
  await t.rejects(p.storeRetained(retained('doc/b')), /commit failed \(.*SD card refused the write\)/);
  await t.rejects(p.storeRetained(retained('doc/c')), /commit failed/);
  t.equal(warnings.length, 1, 'one warning while commits keep failing');
  t.match(warnings[0], file, 'the warning names the file');
  await sqlRun(file, 'DROP TRIGGER refuse');
  await p.outgoingEnqueue({ clientId: 'svc-basket' }, publish(1));
  await p.destroy();
  const rows = await sqlAll(file, 'SELECT topic FROM retained ORDER BY topic');
  t.same(
    rows.map((r) => r.topic),
    ['doc/a', 'doc/b', 'doc/c'],
    'the refused writes are committed with the next commit',
  );
});

t.test('maxOfflineQueue must be a positive integer', async (t) => {
  t.throws(() => new SqlitePersistence({ file: 'x.sqlite', maxOfflineQueue: 0 }), /maxOfflineQueue/);
  t.throws(() => new SqlitePersistence({ file: 'x.sqlite', maxOfflineQueue: 2.5 }), /maxOfflineQueue/);
});

t.test('abandoned clean=false sessions are removed after maxAgeMs of broker running time', async (t) => {
  const file = join(tmp(), 'broker.sqlite');
  const broker: FakeBroker = { id: 'broker-a', clients: {} };
  const p = await open(file, {}, broker);
  for (const id of ['old', 'fresh', 'online']) {
    await p.addSubscriptions({ id }, [{ topic: 'evt/#', qos: 1 }]);
    await p.outgoingEnqueue({ clientId: id }, publish(1));
    await p.putWill({ id }, { topic: `svc/${id}/state`, payload: Buffer.from('offline'), qos: 1, retain: true });
    await p.incomingStorePacket({ id }, { cmd: 'publish', topic: 'evt/x', payload: Buffer.from('q2'), qos: 2, messageId: 1 });
    await p.touchClient(id);
  }
  await p.touchClient('clean-only');
  broker.clients.online = {};
  // the subject is age in running time: 'fresh' is touched 400 ms after the others
  await sleep(400);
  await p.touchClient('fresh');

  const realNow = Date.now;
  Date.now = () => realNow() + 10 * 365 * 24 * 3600 * 1000;
  try {
    t.same(await p.cleanupAbandoned(24 * 3600 * 1000), [], 'a wall-clock jump (first NTP sync) abandons nobody');
  } finally {
    Date.now = realNow;
  }

  t.same(await p.cleanupAbandoned(200), ['old'], 'only the offline client not seen for longer than maxAgeMs');
  t.same(await p.subscriptionsByClient({ id: 'old' }), []);
  t.same(await list(p.outgoingStream({ id: 'old' })), []);
  t.equal(await p.getWill({ id: 'old' }), undefined);
  await t.rejects(p.incomingGetPacket({ id: 'old' }, { messageId: 1 }));
  t.same((await p.subscriptionsByTopic('evt/x')).map((s) => s.clientId).sort(), ['fresh', 'online']);
  t.same(await p.countOffline(), { subsCount: 2, clientsCount: 2 });
  t.same(p.stats().queued, 2);
  t.equal((await list(p.outgoingStream({ id: 'online' }))).length, 1, 'a connected client is kept however old its last touch');
  await p.destroy();

  const q = await open(file, {}, { id: 'broker-b', clients: {} });
  t.same(await q.subscriptionsByClient({ id: 'old' }), [], 'the removal was committed');
  t.equal((await q.subscriptionsByClient({ id: 'fresh' })).length, 1);
  t.same(await q.cleanupAbandoned(1000), [], 'nobody is older than 1 s of running time');
  // the subject is age in running time: 400 ms more of it
  await sleep(400);
  t.same(await q.cleanupAbandoned(700), ['online'], 'running time before the restart counts too');
  t.same(await q.cleanupAbandoned(0), ['fresh']);
  await q.destroy();
});

t.test('a corrupt or unreadable file makes setup reject with the path and what to do', async (t) => {
  const dir = tmp();
  const expectFileError = async (file: string, what: string) => {
    const p = new SqlitePersistence({ file });
    const err = await settlesWithin(p.setup({ id: 'b', clients: {} }), 20000, 'setup').then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(err instanceof PersistenceFileError, `${what}: PersistenceFileError`);
    t.equal((err as PersistenceFileError).file, file, `${what}: error carries the path`);
    t.match((err as Error).message, file, `${what}: message names the path`);
    t.match((err as Error).message, /aside/, `${what}: message says what to do`);
    await t.rejects(p.storeRetained({ topic: 'x', payload: Buffer.from('y') }), /not set up/, `${what}: unusable after failed setup`);
  };

  const garbage = join(dir, 'garbage.sqlite');
  const bytes = Buffer.alloc(8192, 'not a database, an SD card that lost its mind ');
  writeFileSync(garbage, bytes);
  await expectFileError(garbage, 'garbage');
  t.ok(readFileSync(garbage).equals(bytes), 'garbage: the file is left as it was');

  const damaged = join(dir, 'damaged.sqlite');
  const p = await open(damaged);
  for (let i = 0; i < 400; i++) {
    void p.storeRetained({ cmd: 'publish', topic: `doc/item/${i}`, payload: Buffer.alloc(300, i % 256), qos: 1, retain: true });
  }
  await p.outgoingEnqueue({ clientId: 'svc-basket' }, publish(1));
  await p.destroy();
  const fd = openSync(damaged, 'r+');
  writeSync(fd, Buffer.alloc(3 * 4096, 0x5a), 0, 3 * 4096, 4096 * 3);
  closeSync(fd);
  await expectFileError(damaged, 'damaged table pages');

  const badIndex = join(dir, 'bad-index.sqlite');
  const i = await open(badIndex);
  await i.outgoingEnqueue({ clientId: 'svc-basket' }, publish(1));
  await i.destroy();
  const [{ rootpage }] = await sqlAll(badIndex, `SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_incoming_1'`);
  const ifd = openSync(badIndex, 'r+');
  writeSync(ifd, Buffer.alloc(4096, 0x5a), 0, 4096, (Number(rootpage) - 1) * 4096);
  closeSync(ifd);
  await expectFileError(badIndex, 'damaged index page that loading never reads');

  const badRow = join(dir, 'bad-row.sqlite');
  const r = await open(badRow);
  await r.outgoingEnqueue({ clientId: 'svc-basket' }, publish(1));
  await r.destroy();
  await sqlRun(badRow, `UPDATE outgoing SET packet = '{"truncated'`);
  await expectFileError(badRow, 'unreadable row');

  const directory = join(dir, 'is-a-directory.sqlite');
  mkdirSync(directory);
  await expectFileError(directory, 'directory');

  renameSync(garbage, `${garbage}.corrupt`);
  const fresh = await open(garbage);
  t.same(fresh.stats(), { dropped: 0, queued: 0, clients: 0 }, 'after moving the file aside setup starts empty');
  await fresh.destroy();
});

t.test('aedes resumes a clean=false session from the file after a broker restart', async (t) => {
  const file = join(tmp(), 'broker.sqlite');
  const silent = pino({ level: 'silent' });
  const start = async () => {
    const persistence = new SqlitePersistence({ file, log: silent });
    const broker = await Aedes.createBroker({ persistence });
    const server: Server = createServer(broker.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const stop = async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
      await persistence.destroy();
    };
    return { url, stop };
  };

  const first = await start();
  const sub = await mqtt.connectAsync(first.url, { clientId: 'svc-basket', clean: false, reconnectPeriod: 0 });
  await sub.subscribeAsync('evt/#', { qos: 1 });
  await sub.endAsync();
  const pub = await mqtt.connectAsync(first.url, { clientId: 'drv-scanner', reconnectPeriod: 0 });
  await pub.publishAsync('evt/scanner/BarcodeScanned', '4006381333931', { qos: 1 });
  await pub.endAsync();
  await first.stop();

  const second = await start();
  const received: string[] = [];
  const again = mqtt.connect(second.url, { clientId: 'svc-basket', clean: false, reconnectPeriod: 0 });
  const message = new Promise<void>((resolve) =>
    again.on('message', (topic, payload) => {
      received.push(`${topic} ${payload.toString()}`);
      resolve();
    }),
  );
  const connack = await new Promise<{ sessionPresent: boolean }>((resolve) => again.once('connect', resolve));
  t.equal(connack.sessionPresent, true, '[MQTT-3.2.2-2] session present after the restart');
  await message;
  t.same(received, ['evt/scanner/BarcodeScanned 4006381333931'], '[MQTT-3.1.2-5] message queued while offline is delivered');
  await again.endAsync();
  await second.stop();
});
