import type { Tx } from './store.js';

/**
 * Values of a service's rows kept in memory, following its database: what a
 * transaction writes is what that transaction sees, becomes the kept value at
 * COMMIT and is dropped at ROLLBACK; a value read inside a transaction that wrote
 * it is not kept (it is not committed yet). A store runs one transaction at a time.
 */
export class TxCache<K, V> {
  /** Committed values, least recently kept first. */
  private readonly committed = new Map<K, V>();
  /** Written by the open transaction; undefined: written, value not known (read it again). */
  private readonly staged = new Map<K, V | undefined>();
  private stagedTx: Tx | undefined;

  constructor(private readonly max = Infinity) {}

  /** What `tx` sees without reading: its own write, else the committed value; undefined when not known. */
  get(tx: Tx, k: K): V | undefined {
    return this.stagedTx === tx && this.staged.has(k) ? this.staged.get(k) : this.committed.get(k);
  }

  /** A value `tx` read from the table: kept, unless `tx` itself wrote it. */
  fill(tx: Tx, k: K, v: V): void {
    if (this.stagedTx === tx && this.staged.has(k)) return;
    this.keep(k, v);
  }

  /** `tx` wrote `k`: its new value, or undefined when the caller does not know it. */
  write(tx: Tx, k: K, v?: V): void {
    if (this.stagedTx !== tx) {
      this.staged.clear();
      this.stagedTx = tx;
      const done = (): void => {
        this.staged.clear();
        this.stagedTx = undefined;
      };
      tx.afterCommit(() => {
        for (const [key, value] of this.staged) {
          if (value === undefined) this.committed.delete(key);
          else this.keep(key, value);
        }
        done();
      });
      tx.onRollback(done);
    }
    this.staged.set(k, v);
  }

  private keep(k: K, v: V): void {
    this.committed.delete(k);
    this.committed.set(k, v);
    if (this.committed.size > this.max) this.committed.delete(this.committed.keys().next().value as K);
  }
}

/**
 * A service's small key/value table (`<table> (k TEXT PRIMARY KEY, v TEXT)`, JSON
 * values) read through a TxCache, so the state a handler looks at on every event
 * costs no trip to SQLite. Every write to the table goes through here.
 *
 * Values are kept as JSON text: each `get` parses a fresh copy, so a caller that
 * changes what it read changes nothing until it `set`s it.
 */
export class KvTable {
  /** JSON text; null: known to be absent. */
  private readonly cache = new TxCache<string, string | null>();

  constructor(private readonly table: string) {}

  ddl(): string {
    return `CREATE TABLE IF NOT EXISTS ${this.table} (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;`;
  }

  async get<T>(tx: Tx, k: string): Promise<T | undefined> {
    let text = this.cache.get(tx, k);
    if (text === undefined) {
      const r = await tx.get<{ v: string }>(`SELECT v FROM ${this.table} WHERE k = ?`, [k]);
      text = r?.v ?? null;
      this.cache.fill(tx, k, text);
    }
    return text === null ? undefined : (JSON.parse(text) as T);
  }

  /** Set `k` (undefined deletes it) inside `tx`. */
  async set(tx: Tx, k: string, v: unknown): Promise<void> {
    const text = v === undefined ? null : JSON.stringify(v);
    if (text === null) await tx.run(`DELETE FROM ${this.table} WHERE k = ?`, [k]);
    else await tx.run(`INSERT INTO ${this.table} (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v`, [k, text]);
    this.cache.write(tx, k, text);
  }
}
