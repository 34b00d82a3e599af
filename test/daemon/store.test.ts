import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../daemon/store/store.js';
import { tempDir } from '../helpers/daemon.js';

// The store keeps its statements prepared between calls; these are the cases where a
// kept statement could hang, crash or hold the file open.

t.test('prepared statements: errors reject and leave the store usable', async (t) => {
  const file = join(tempDir(), 'kv.db');
  const store = await Store.open(file);
  // Before the table exists the prepare fails: a rejection, not a hang or an uncaught error.
  await t.rejects(store.get('SELECT v FROM kv WHERE k = ?', ['a']), /no such table: kv/);
  await store.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)');
  t.same(await store.get('SELECT v FROM kv WHERE k = ?', ['a']), undefined, 'the same SQL works once the table is there');
  await store.run('INSERT INTO kv (k, v) VALUES (?, ?)', ['a', '1']);
  await t.rejects(store.run('INSERT INTO kv (k, v) VALUES (?, ?)', ['a', '2']), /UNIQUE constraint failed/);
  await store.run('INSERT INTO kv (k, v) VALUES (?, ?)', ['b', '2']);
  t.same(
    await store.all('SELECT k, v FROM kv ORDER BY k'),
    [
      { k: 'a', v: '1' },
      { k: 'b', v: '2' },
    ],
    'a statement that failed runs again',
  );
  // A schema change under a kept statement: SQLite prepares it again by itself.
  await store.exec('ALTER TABLE kv ADD COLUMN n INTEGER DEFAULT 7');
  t.same(await store.all('SELECT * FROM kv WHERE k = ?', ['a']), [{ k: 'a', v: '1', n: 7 }], 'SELECT * sees the new column');
  // A rolled-back transaction leaves nothing behind, kept statements or not.
  await t.rejects(
    store.tx(async (tx) => {
      await tx.run('INSERT INTO kv (k, v) VALUES (?, ?)', ['c', '3']);
      throw new Error('handler failed');
    }),
    /handler failed/,
  );
  t.equal((await store.all('SELECT k FROM kv')).length, 2, 'rolled back');
  // A long list of placeholders (built per call) and more distinct statements than are kept.
  const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
  await store.run(
    `INSERT INTO kv (k, v) VALUES ${keys.map(() => '(?, ?)').join(',')}`,
    keys.flatMap((k) => [k, k]),
  );
  for (let i = 0; i < 400; i++) await store.get(`SELECT ${i} AS i, v FROM kv WHERE k = ?`, ['k1']);
  t.same(await store.get('SELECT count(*) AS c FROM kv'), { c: 42 });
  // A lazy write committed alone goes unsynced, and leaves the connection at synchronous=FULL (2).
  await Promise.all([store.lazyRun('UPDATE kv SET v = ? WHERE k = ?', ['x', 'a']), store.flushLazy()]);
  t.same(await store.get('PRAGMA synchronous'), { synchronous: 2 }, 'FULL again after a lazy write alone');
  t.same(await store.get('SELECT v FROM kv WHERE k = ?', ['a']), { v: 'x' });
  await store.close();
  t.notOk(existsSync(`${file}-wal`), 'closed for real: the last connection removed its WAL file');
});

t.test('lazy writes ride along with the next transaction, survive its rollback, and fail alone', async (t) => {
  const file = join(tempDir(), 'lazy.db');
  const store = await Store.open(file);
  await store.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)');
  const order: string[] = [];
  const marked = store.lazyRun('INSERT INTO kv (k, v) VALUES (?, ?)', ['mark', '1']).then(() => order.push('lazy'));
  await store.tx(async (tx) => {
    // the lazy write is already in: the transaction sees it
    t.same(await tx.get('SELECT v FROM kv WHERE k = ?', ['mark']), { v: '1' }, 'ran inside the transaction, before its work');
    await tx.run('INSERT INTO kv (k, v) VALUES (?, ?)', ['work', '1']);
  });
  order.push('tx');
  await marked;
  t.same(order, ['lazy', 'tx'], 'the lazy write resolved with that COMMIT, not on a timer');

  // A transaction that rolls back takes the lazy write with it; it is written later all the same.
  const again = store.lazyRun('UPDATE kv SET v = ? WHERE k = ?', ['2', 'mark']);
  await t.rejects(
    store.tx(async () => {
      throw new Error('handler failed');
    }),
    /handler failed/,
  );
  t.same(await store.get('SELECT v FROM kv WHERE k = ?', ['mark']), { v: '1' }, 'rolled back with the transaction');
  await again;
  t.same(await store.get('SELECT v FROM kv WHERE k = ?', ['mark']), { v: '2' }, 'written by the timer after the rollback');

  // A lazy write that fails rejects alone; the transaction it rode with commits.
  const bad = store.lazyRun('INSERT INTO kv (k, v) VALUES (?, ?)', ['mark', 'dup']);
  await store.tx((tx) => tx.run('INSERT INTO kv (k, v) VALUES (?, ?)', ['work2', '1']));
  await t.rejects(bad, /UNIQUE constraint failed/);
  t.same(await store.get('SELECT v FROM kv WHERE k = ?', ['work2']), { v: '1' }, 'the transaction committed');

  // close() commits what is still waiting.
  void store.lazyRun('INSERT INTO kv (k, v) VALUES (?, ?)', ['last', '1']);
  await store.close();
  const reopened = await Store.open(file);
  t.same(await reopened.get('SELECT v FROM kv WHERE k = ?', ['last']), { v: '1' }, 'written at close');
  await reopened.close();
});

t.test('a write the storage refuses (SQLITE_FULL) is kept as writeFailure until a write succeeds', async (t) => {
  const store = await Store.open(join(tempDir(), 'full.db'));
  t.teardown(() => store.close());
  await store.exec('CREATE TABLE blob (n INTEGER PRIMARY KEY, b BLOB)');
  const pages = (await store.get<{ page_count: number }>('PRAGMA page_count'))!.page_count;
  // a file that may not grow: what a full disk does to SQLite (https://sqlite.org/pragma.html#pragma_max_page_count)
  await store.exec(`PRAGMA max_page_count = ${pages + 2}`);
  await t.rejects(
    store.tx((tx) => tx.run('INSERT INTO blob (b) VALUES (zeroblob(65536))')),
    { code: 'SQLITE_FULL' },
  );
  t.match(store.writeFailure, { code: 'SQLITE_FULL', count: 1 }, 'the refusal is kept');
  await t.rejects(store.run('INSERT INTO blob (b) VALUES (zeroblob(65536))'), { code: 'SQLITE_FULL' });
  t.match(store.writeFailure, { code: 'SQLITE_FULL', count: 2 }, 'and counted');
  await t.rejects(
    store.tx((tx) => tx.run('INSERT INTO blob (n) VALUES (1), (1)')),
    /UNIQUE constraint failed/,
  );
  t.match(store.writeFailure, { count: 2 }, 'a constraint error is not the storage');
  await store.exec('PRAGMA max_page_count = 1000000');
  await store.tx((tx) => tx.run('INSERT INTO blob (b) VALUES (zeroblob(65536))'));
  t.equal(store.writeFailure, undefined, 'cleared by the next write that commits');
});
