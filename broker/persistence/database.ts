import sqlite3 from 'sqlite3';

export type SqlValue = string | number | Buffer | null;
/** Positional (`?`) or named (`$name`) parameters. */
export type Params = unknown[] | Record<string, unknown>;
export type Row = Record<string, unknown>;
export interface Statement {
  sql: string;
  params: SqlValue[];
}
export interface RunResult {
  changes: number;
  lastID: number;
}

export interface OpenOptions {
  /** SQLITE_OPEN_READONLY: for a reader beside the process that writes the file. */
  readOnly?: boolean;
  /** Run in order after the open (`PRAGMA busy_timeout=5000`, ...); the connection is closed when one fails. */
  pragmas?: readonly string[];
}

/** Prepared statements kept per connection. */
const MAX_STATEMENTS = 300;
/** SQL with more placeholders than this is built per call (IN lists, multi-row VALUES): not kept. */
const MAX_CACHED_PARAMS = 16;

/**
 * One sqlite3 connection with promise helpers, the one SQLite wrapper of laned
 * (broker persistence, service stores, lanectl). It does not order callers'
 * statements: a caller that interleaves transactions queues them itself.
 */
export class Database {
  /** Prepared statements by SQL text, most recently used last. */
  private readonly statements = new Map<string, Promise<sqlite3.Statement>>();

  private constructor(
    readonly file: string,
    private readonly db: sqlite3.Database,
  ) {}

  static async open(file: string, opts: OpenOptions = {}): Promise<Database> {
    const mode = opts.readOnly ? sqlite3.OPEN_READONLY : sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE | sqlite3.OPEN_FULLMUTEX;
    const db = await new Promise<Database>((resolve, reject) => {
      const d = new sqlite3.Database(file, mode, (err) => (err ? reject(err) : resolve(new Database(file, d))));
    });
    try {
      for (const pragma of opts.pragmas ?? []) await db.exec(pragma);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
    return db;
  }

  /**
   * The prepared statement for `sql`, kept for the next call: node-sqlite3 otherwise
   * prepares and finalizes a statement on every call, each a trip through the thread
   * pool. Undefined for SQL built with a long list of `?` (it varies from call to call).
   * A statement that failed to prepare is not kept (the next call prepares it again).
   */
  private statement(sql: string): Promise<sqlite3.Statement> | undefined {
    const p = this.statements.get(sql);
    if (p) {
      this.statements.delete(sql);
      this.statements.set(sql, p);
      return p;
    }
    let marks = 0;
    for (let i = sql.indexOf('?'); i >= 0 && marks <= MAX_CACHED_PARAMS; i = sql.indexOf('?', i + 1)) marks++;
    if (marks > MAX_CACHED_PARAMS) return undefined;
    // With a callback, a failed prepare rejects here; without, node-sqlite3 would emit an
    // unhandled 'error' and never call back the statement's queued calls.
    const prepared = new Promise<sqlite3.Statement>((resolve, reject) => {
      const st = this.db.prepare(sql, (err) => (err ? reject(err) : resolve(st)));
    });
    this.statements.set(sql, prepared);
    prepared.catch(() => {
      if (this.statements.get(sql) === prepared) this.statements.delete(sql);
    });
    if (this.statements.size > MAX_STATEMENTS) {
      const [oldest, old] = this.statements.entries().next().value as [string, Promise<sqlite3.Statement>];
      this.statements.delete(oldest);
      old.then(
        (st) => st.finalize(),
        () => undefined,
      );
    }
    return prepared;
  }

  run(sql: string, params: Params = []): Promise<RunResult> {
    const done = (resolve: (r: RunResult) => void, reject: (e: Error) => void) =>
      function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve({ changes: this.changes, lastID: this.lastID });
      };
    const prepared = this.statement(sql);
    if (!prepared) return new Promise((resolve, reject) => this.db.run(sql, params, done(resolve, reject)));
    return prepared.then((st) => new Promise((resolve, reject) => st.run(params, done(resolve, reject))));
  }

  /** The first row; all() steps to the end and resets the statement, get() would leave it open, and a read transaction with it. */
  async get<T = Row>(sql: string, params: Params = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  all<T = Row>(sql: string, params: Params = []): Promise<T[]> {
    const prepared = this.statement(sql);
    if (!prepared) return new Promise((resolve, reject) => this.db.all<T>(sql, params, (err, rows) => (err ? reject(err) : resolve(rows))));
    return prepared.then((st) => new Promise<T[]>((resolve, reject) => st.all<T>(params, (err, rows) => (err ? reject(err) : resolve(rows)))));
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

  /** Finalizes the kept statements first: node-sqlite3 refuses to close a connection that has any. */
  async close(): Promise<void> {
    const open = [...this.statements.values()];
    this.statements.clear();
    await Promise.all(
      open.map((p) =>
        p.then(
          (st) => new Promise<void>((resolve) => st.finalize(() => resolve())),
          () => undefined,
        ),
      ),
    );
    await new Promise<void>((resolve, reject) => this.db.close((err) => (err ? reject(err) : resolve())));
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
