import sqlite3 from 'sqlite3';

export type SqlValue = string | number | Buffer | null;
export interface Statement {
  sql: string;
  params: SqlValue[];
}

/**
 * One sqlite3 connection with promise helpers. The caller runs one thing at a
 * time (setup, then one group commit after another), so there is no queue here.
 */
export class Database {
  private constructor(private readonly db: sqlite3.Database) {}

  static open(file: string): Promise<Database> {
    return new Promise((resolve, reject) => {
      const db = new sqlite3.Database(file, sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE, (err) => (err ? reject(err) : resolve(new Database(db))));
    });
  }

  run(sql: string, params: SqlValue[] = []): Promise<void> {
    return new Promise((resolve, reject) => this.db.run(sql, params, (err: Error | null) => (err ? reject(err) : resolve())));
  }

  all<T>(sql: string, params: SqlValue[] = []): Promise<T[]> {
    return new Promise((resolve, reject) => this.db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
  }

  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.db.exec(sql, (err) => (err ? reject(err) : resolve())));
  }

  /** BEGIN IMMEDIATE, the statements in order, COMMIT; ROLLBACK and rethrow on the first error. */
  async transaction(statements: readonly Statement[]): Promise<void> {
    await this.run('BEGIN IMMEDIATE');
    try {
      for (const s of statements) await this.run(s.sql, s.params);
      await this.run('COMMIT');
    } catch (err) {
      await this.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.db.close((err) => (err ? reject(err) : resolve())));
  }
}

const MAX_PARAMS = 900;

/** Multi-row `INSERT OR REPLACE`, chunked below SQLite's bound-parameter limit. */
export function upsertRows(table: string, columns: readonly string[], rows: readonly SqlValue[][]): Statement[] {
  const out: Statement[] = [];
  const perChunk = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
  const tuple = `(${columns.map(() => '?').join(',')})`;
  for (let i = 0; i < rows.length; i += perChunk) {
    const chunk = rows.slice(i, i + perChunk);
    out.push({
      sql: `INSERT OR REPLACE INTO ${table} (${columns.join(',')}) VALUES ${chunk.map(() => tuple).join(',')}`,
      params: chunk.flat(),
    });
  }
  return out;
}

/** Multi-row `DELETE` by (possibly composite) primary key. */
export function deleteRows(table: string, keyColumns: readonly string[], keys: readonly SqlValue[][]): Statement[] {
  const out: Statement[] = [];
  const perChunk = Math.max(1, Math.floor(MAX_PARAMS / keyColumns.length));
  const tuple = `(${keyColumns.map(() => '?').join(',')})`;
  const lhs = keyColumns.length === 1 ? keyColumns[0] : `(${keyColumns.join(',')})`;
  for (let i = 0; i < keys.length; i += perChunk) {
    const chunk = keys.slice(i, i + perChunk);
    const list = keyColumns.length === 1 ? `(${chunk.map(() => '?').join(',')})` : `(VALUES ${chunk.map(() => tuple).join(',')})`;
    out.push({ sql: `DELETE FROM ${table} WHERE ${lhs} IN ${list}`, params: chunk.flat() });
  }
  return out;
}
