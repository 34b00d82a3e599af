import t from 'tap';
import { join } from 'node:path';
import { Store } from '../../daemon/store/store.js';
import { KvTable } from '../../daemon/store/kv.js';
import { tempDir } from '../helpers/daemon.js';

// KvTable answers from memory what the table holds, and follows the database: a
// transaction sees its own writes, COMMIT makes them the cached values, ROLLBACK
// drops them.

t.test('KvTable: read through a cache that follows COMMIT and ROLLBACK', async (t) => {
  const store = await Store.open(join(tempDir(), 'kv.db'));
  t.teardown(() => store.close());
  const kv = new KvTable('svc_state');
  await store.exec(kv.ddl());
  await store.run('INSERT INTO svc_state (k, v) VALUES (?, ?)', ['mode', JSON.stringify({ on: false })]);

  t.same(await store.tx((tx) => kv.get(tx, 'mode')), { on: false }, 'first read from the table');
  t.equal(await store.tx((tx) => kv.get(tx, 'missing')), undefined, 'an absent key is undefined');
  // Behind the cache's back: the cache keeps answering what it read (so it did not read again).
  await store.run('UPDATE svc_state SET v = ? WHERE k = ?', [JSON.stringify({ on: 'changed behind' }), 'mode']);
  t.same(await store.tx((tx) => kv.get(tx, 'mode')), { on: false }, 'the second read comes from memory');

  // A copy each time: changing what was read changes nothing.
  await store.tx(async (tx) => {
    const m = (await kv.get<{ on: unknown }>(tx, 'mode'))!;
    m.on = 'mutated';
  });
  t.same(await store.tx((tx) => kv.get(tx, 'mode')), { on: false }, 'a caller’s change to its copy is not cached');

  // Own writes are visible inside the transaction; COMMIT makes them the cached value.
  await store.tx(async (tx) => {
    await kv.set(tx, 'mode', { on: true });
    t.same(await kv.get(tx, 'mode'), { on: true }, 'the transaction sees its own write');
  });
  t.same(await store.tx((tx) => kv.get(tx, 'mode')), { on: true }, 'after COMMIT');
  t.same(await store.get('SELECT v FROM svc_state WHERE k = ?', ['mode']), { v: '{"on":true}' }, 'and in the table');

  // ROLLBACK: neither the table nor the cache keeps the write.
  await t.rejects(
    store.tx(async (tx) => {
      await kv.set(tx, 'mode', { on: 'rolled back' });
      await kv.set(tx, 'other', 1);
      throw new Error('handler failed');
    }),
    /handler failed/,
  );
  t.same(await store.tx((tx) => kv.get(tx, 'mode')), { on: true }, 'the cached value is the committed one');
  t.equal(await store.tx((tx) => kv.get(tx, 'other')), undefined, 'a key written only by the rolled-back transaction is absent');

  // Deleting.
  await store.tx((tx) => kv.set(tx, 'mode', undefined));
  t.equal(await store.tx((tx) => kv.get(tx, 'mode')), undefined, 'deleted');
  t.same(await store.all('SELECT k FROM svc_state'), [], 'from the table too');
});
