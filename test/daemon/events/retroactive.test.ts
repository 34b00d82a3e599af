import t from 'tap';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { Store } from '../../../daemon/store/store.js';
import { Outbox } from '../../../daemon/events/outbox.js';
import { KeyedExecutor } from '../../../daemon/events/executor.js';
import { defineEvent } from '../../../daemon/events/schema.js';
import { newEventId } from '../../../daemon/events/envelope.js';
import { RetroactiveProjector, compareInputs, type Output, type ProjectorInput, type ProjectedOutput } from '../../../daemon/events/retroactive.js';
import { createLogger } from '../../../daemon/core/log.js';
import { tempDir, prng } from '../../helpers/daemon.js';

// An order-sensitive projection: a running balance of signed amounts; every input
// that leaves it negative is an Overdrawn alarm, every input that brings it back
// to zero or above a Recovered. Delivered out of board order, early alarms must be
// retracted; whatever the arrival order, the live outputs equal the projection of
// the sorted inputs.
defineEvent('TestOverdrawn', 1, Type.Object({ balance: Type.Integer() }));
defineEvent('TestRecovered', 1, Type.Object({ balance: Type.Integer() }));
defineEvent('TestRetracted', 1, Type.Object({ retracts: Type.String(), key: Type.String(), type: Type.String() }));

function balances(inputs: ProjectorInput[]): Array<ProjectedOutput<Output>> {
  const out: Array<ProjectedOutput<Output>> = [];
  let balance = 0;
  for (const i of inputs) {
    const before = balance;
    balance += (i.data as { amount: number }).amount;
    if (balance < 0) out.push({ key: `o:${i.id}`, type: 'TestOverdrawn', data: { balance }, cause: i.id });
    else if (before < 0) out.push({ key: `r:${i.id}`, type: 'TestRecovered', data: { balance }, cause: i.id });
  }
  return out;
}

const log = createLogger({ level: 'error', destination: { write: () => true } as never });
const clock = { epoch: 1, now: () => ({ epoch: 1, mono: process.hrtime.bigint().toString() }) };

async function setup(dir = tempDir()) {
  const store = await Store.open(join(dir, 'retro.db'));
  // Test-only: the property runs thousands of commits; durability is not under test here.
  await store.exec('PRAGMA synchronous=OFF');
  const outbox = new Outbox({ store, source: 'proj', clock, log, retention: 1_000_000 });
  await outbox.init();
  const proj = new RetroactiveProjector<ProjectorInput, Output>({
    name: 'bal',
    project: balances,
    emit: (tx, out, meta) => outbox.emit(tx, out.type, out.data, meta),
    retract: (tx, data, meta) => outbox.emit(tx, 'TestRetracted', data, meta),
  });
  await proj.migrate(store);
  return { dir, store, outbox, proj };
}

let mono = 1_000_000n;
function input(amount: number, opts: Partial<ProjectorInput> = {}): ProjectorInput {
  mono += 1000n;
  return { id: newEventId(), type: 'Amount', source: 'src', seq: Number(mono / 1000n), at: { epoch: 1, mono: mono.toString() }, data: { amount }, ...opts };
}

const stream = async (store: Store) =>
  (await store.all<{ type: string; payload: string }>("SELECT type, payload FROM outbox WHERE source = 'proj' ORDER BY seq")).map((r) => ({
    type: r.type,
    ...(JSON.parse(r.payload) as { data: Record<string, unknown>; id: string; cause?: string; txn?: string }),
  }));

t.test('board order: epoch, then mono as a number, then source and seq', async (t) => {
  const a = input(1, { at: { epoch: 1, mono: '9' } });
  const b = input(1, { at: { epoch: 1, mono: '10' } });
  const c = input(1, { at: { epoch: 2, mono: '1' } });
  const d = { ...b, source: 'zzz', seq: 1 };
  const e = { ...b, source: 'src', seq: b.seq + 1 };
  t.same(
    [c, e, d, b, a].sort(compareInputs).map((x) => x.id),
    [a.id, b.id, e.id, d.id, c.id],
  );
});

t.test('a late input retracts what it invalidates, then publishes the new outputs', async (t) => {
  const { store, proj } = await setup();
  t.teardown(() => store.close());
  const deposit = input(100);
  const withdraw = input(-60);
  // Delivered withdraw first: the balance looks negative.
  await store.tx((tx) => proj.add(tx, 'T1', withdraw));
  let live = await store.tx((tx) => proj.live(tx, 'T1'));
  t.same(
    live.map((o) => [o.type, o.data]),
    [['TestOverdrawn', { balance: -60 }]],
  );
  const alarmId = live[0].eventId;
  const r = await store.tx((tx) => proj.add(tx, 'T1', deposit));
  t.equal(r.retracted.length, 1);
  live = await store.tx((tx) => proj.live(tx, 'T1'));
  t.same(live, [], 'no alarm survives');
  const s = await stream(store);
  t.same(
    s.map((e) => [e.type, e.data]),
    [
      ['TestOverdrawn', { balance: -60 }],
      ['TestRetracted', { retracts: alarmId, key: `o:${withdraw.id}`, type: 'TestOverdrawn' }],
    ],
    'stream: the alarm, then its retraction',
  );
  t.equal(s[1].cause, deposit.id, 'the retraction is caused by the late input');
  t.equal(s[0].txn, 'T1', 'events carry the partition as txn');

  const again = await store.tx((tx) => proj.add(tx, 'T1', withdraw));
  t.equal(again.applied, false, 'a duplicate input is a no-op');
  t.equal((await stream(store)).length, 2);
});

t.test('changed data under the same key: retract, then publish anew; state survives a cold start', async (t) => {
  const { dir, store, proj } = await setup();
  const a = input(-10);
  const b = input(-5);
  await store.tx((tx) => proj.add(tx, 'T', b));
  await store.tx((tx) => proj.add(tx, 'T', a));
  const s = await stream(store);
  t.same(
    s.map((e) => e.type),
    ['TestOverdrawn', 'TestRetracted', 'TestOverdrawn', 'TestOverdrawn'],
  );
  t.same(
    s.filter((e) => e.type === 'TestOverdrawn').map((e) => e.data.balance),
    [-5, -10, -15],
    'b alone -5; then a -10 and b -15',
  );
  await store.close();
  const cold = await setup(dir);
  t.teardown(() => cold.store.close());
  const live = await cold.store.tx((tx) => cold.proj.live(tx, 'T'));
  t.same(
    live.map((o) => o.data),
    [{ balance: -10 }, { balance: -15 }],
    'live outputs read back from SQLite',
  );
  const r = await cold.store.tx((tx) => cold.proj.add(tx, 'T', input(15)));
  t.same(
    r.published.map((e) => e.type),
    ['TestRecovered'],
  );
});

t.test('a rolled-back transaction leaves neither rows nor cached state', async (t) => {
  const { store, proj } = await setup();
  t.teardown(() => store.close());
  const a = input(-1);
  await t.rejects(
    store.tx(async (tx) => {
      await proj.add(tx, 'T', a);
      throw new Error('boom');
    }),
  );
  t.same(await store.tx((tx) => proj.inputs(tx, 'T')), [], 'input not kept');
  const r = await store.tx((tx) => proj.add(tx, 'T', a));
  t.equal(r.applied, true, 'the same input applies after the rollback');
  t.equal((await stream(store)).length, 1, 'one alarm, published once');
});

t.test('reads in the same transaction see what it added', async (t) => {
  const { store, proj } = await setup();
  t.teardown(() => store.close());
  await store.tx(async (tx) => {
    await proj.add(tx, 'T', input(-1));
    t.equal((await proj.inputs(tx, 'T')).length, 1, 'first input visible before COMMIT');
    t.equal((await proj.live(tx, 'T')).length, 1, 'its output too');
  });
  await store.tx(async (tx) => {
    await proj.add(tx, 'T', input(-1));
    t.equal((await proj.inputs(tx, 'T')).length, 2, 'with a warm cache as well');
  });
  t.equal((await store.tx((tx) => proj.inputs(tx, 'T'))).length, 2, 'and after COMMIT');
});

t.test('closed partitions take no input and are pruned oldest first', async (t) => {
  const { store, proj } = await setup();
  t.teardown(() => store.close());
  for (const p of ['A', 'B', 'C']) {
    await store.tx((tx) => proj.add(tx, p, input(-1)));
    await store.tx((tx) => proj.close(tx, p));
  }
  const r = await store.tx((tx) => proj.add(tx, 'C', input(5)));
  t.equal(r.applied, false);
  t.equal(await store.tx((tx) => proj.prune(tx, 1)), 2);
  t.same(
    (await store.all<{ part: string }>('SELECT DISTINCT part FROM retro_inputs')).map((x) => x.part),
    ['C'],
  );
});

// Acceptance: 1,000 interleaved events for 2 transactions processed
// concurrently give the same result as sequential processing.
const seeds = process.env.LANED_TEST_SEED ? [Number(process.env.LANED_TEST_SEED)] : [1, 2, 3];
for (const seed of seeds) {
  t.test(`1,000 interleaved events of 2 transactions: concurrent equals sequential (seed ${seed})`, async (t) => {
    const random = prng(seed);
    const gen = (txn: string): ProjectorInput[] => {
      const out: ProjectorInput[] = [];
      let m = 5_000_000n;
      let balance = 0;
      for (let i = 0; i < 500; i++) {
        m += BigInt(1 + Math.floor(random() * 3));
        const source = random() < 0.5 ? 'scale' : 'basket';
        // Pulled back towards zero so the balance keeps crossing it.
        const amount = Math.floor(random() * 21) - 10 - Math.trunc(balance / 4);
        balance += amount;
        out.push({ id: newEventId(), type: 'Amount', source, seq: i + 1, at: { epoch: 1, mono: m.toString() }, data: { amount }, txn });
      }
      return out;
    };
    const events = { A: gen('A'), B: gen('B') };
    // Arrival order within a transaction: board order disturbed by local swaps (cross-source delivery).
    const arrival = (evs: ProjectorInput[]): ProjectorInput[] => {
      const a = [...evs];
      for (let i = 0; i < a.length - 1; i++) if (random() < 0.3) [a[i], a[i + 1]] = [a[i + 1], a[i]];
      for (let i = 0; i < 20; i++) {
        const x = Math.floor(random() * a.length);
        const y = Math.min(a.length - 1, x + Math.floor(random() * 40));
        [a[x], a[y]] = [a[y], a[x]];
      }
      return a;
    };
    const arrA = arrival(events.A);
    const arrB = arrival(events.B);
    const interleaved: ProjectorInput[] = [];
    let ia = 0;
    let ib = 0;
    while (ia < arrA.length || ib < arrB.length) {
      if (ib >= arrB.length || (ia < arrA.length && random() < 0.5)) interleaved.push(arrA[ia++]);
      else interleaved.push(arrB[ib++]);
    }
    t.equal(interleaved.length, 1000);

    const seq = await setup();
    for (const ev of [...arrA, ...arrB]) await seq.store.tx((tx) => seq.proj.add(tx, ev.txn!, ev));

    const conc = await setup();
    const exec = new KeyedExecutor();
    const duplicates = interleaved.filter(() => random() < 0.05);
    await Promise.all([...interleaved, ...duplicates].map((ev) => exec.run(ev.txn!, () => conc.store.tx((tx) => conc.proj.add(tx, ev.txn!, ev)))));

    for (const txn of ['A', 'B'] as const) {
      // Live outputs are in publishing order (a re-published one moves to the end): compare by key.
      const byKey = (os: Array<ProjectedOutput<Output>>) =>
        os.map((o) => ({ key: o.key, type: o.type, data: o.data })).sort((x, y) => (x.key < y.key ? -1 : 1));
      const view = async (s: Awaited<ReturnType<typeof setup>>) => byKey(await s.store.tx((tx) => s.proj.live(tx, txn)));
      const expected = byKey(balances([...events[txn]].sort(compareInputs)));
      const a = await view(seq);
      const b = await view(conc);
      t.ok(expected.length > 0, `${txn}: the projection has outputs to compare (${expected.length})`);
      t.same(a, expected, `${txn}: sequential processing ends at the projection of the sorted inputs`);
      t.same(b, expected, `${txn}: concurrent processing ends at the same outputs`);
      const inputs = await conc.store.tx((tx) => conc.proj.inputs(tx, txn));
      t.same(
        inputs.map((i) => i.id),
        [...events[txn]].sort(compareInputs).map((i) => i.id),
        `${txn}: each input kept once, in board order`,
      );
    }
    // Every retraction names a published, then-live output of its own transaction.
    const published = await stream(conc.store);
    const byId = new Map(published.map((e) => [e.id, e]));
    const bad = published.filter((e) => e.type === 'TestRetracted' && byId.get(e.data.retracts as string)?.txn !== e.txn);
    t.same(bad, [], 'retractions stay within their transaction');
    t.ok(published.filter((e) => e.type === 'TestRetracted').length > 10, 'the arrival order forced retractions');
    await seq.store.close();
    await conc.store.close();
  });
}
