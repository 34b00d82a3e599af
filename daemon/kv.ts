import type { Tx } from './store.js';

/**
 * A service's small key/value table (`<table> (k TEXT PRIMARY KEY, v TEXT)`, JSON
 * values) read through a cache, so the state a handler looks at on every event
 * costs no trip to SQLite. The cache follows the database: what a transaction
 * writes is visible to that transaction at once, replaces the cached value on
 * COMMIT and is dropped on ROLLBACK. Every write to the table goes through here.
 *
 * Values are kept as JSON text: each `get` parses a fresh copy, so a caller that
 * changes what it read changes nothing until it `set`s it.
 */
export class KvTable {
  /** Committed values; null: known to be absent. */
  private readonly cache = new Map<string, string | null>();
  /** Written by the open transaction (a store runs one at a time). */
  private readonly staged = new Map<string, string | null>();
  private stagedTx: Tx | undefined;

  constructor(private readonly table: string) {}

  ddl(): string {
    return `CREATE TABLE IF NOT EXISTS ${this.table} (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;`;
  }

  async get<T>(tx: Tx, k: string): Promise<T | undefined> {
    let text = this.stagedTx === tx && this.staged.has(k) ? this.staged.get(k) : this.cache.get(k);
    if (text === undefined) {
      const r = await tx.get<{ v: string }>(`SELECT v FROM ${this.table} WHERE k = ?`, [k]);
      text = r?.v ?? null;
      // Not written by this transaction (else it would be staged): the committed value.
      this.cache.set(k, text);
    }
    return text === null ? undefined : (JSON.parse(text) as T);
  }

  /** Set `k` (undefined deletes it) inside `tx`. */
  async set(tx: Tx, k: string, v: unknown): Promise<void> {
    const text = v === undefined ? null : JSON.stringify(v);
    if (text === null) await tx.run(`DELETE FROM ${this.table} WHERE k = ?`, [k]);
    else await tx.run(`INSERT INTO ${this.table} (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v`, [k, text]);
    if (this.stagedTx !== tx) {
      this.staged.clear();
      this.stagedTx = tx;
      tx.afterCommit(() => {
        for (const [key, value] of this.staged) this.cache.set(key, value);
        this.staged.clear();
        this.stagedTx = undefined;
      });
      tx.onRollback(() => {
        this.staged.clear();
        this.stagedTx = undefined;
      });
    }
    this.staged.set(k, text);
  }
}
