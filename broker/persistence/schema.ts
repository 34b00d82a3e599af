import { deleteRows, upsertRows, type SqlValue, type Statement } from './database.js';

export const SCHEMA_VERSION = 1;

/** Packets are stored as codec.ts `head` JSON plus the payload as BLOB or TEXT. */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS retained (topic TEXT PRIMARY KEY, packet TEXT NOT NULL, payload BLOB);
CREATE TABLE IF NOT EXISTS subscriptions (
  client_id TEXT NOT NULL, topic TEXT NOT NULL, ord INTEGER NOT NULL, sub TEXT NOT NULL,
  PRIMARY KEY (client_id, topic));
CREATE TABLE IF NOT EXISTS outgoing (seq INTEGER PRIMARY KEY, client_id TEXT NOT NULL, packet TEXT NOT NULL, payload BLOB);
CREATE TABLE IF NOT EXISTS incoming (
  client_id TEXT NOT NULL, message_id INTEGER NOT NULL, packet TEXT NOT NULL, payload BLOB,
  PRIMARY KEY (client_id, message_id));
CREATE TABLE IF NOT EXISTS wills (client_id TEXT PRIMARY KEY, packet TEXT NOT NULL, payload BLOB);
CREATE TABLE IF NOT EXISTS clients (client_id TEXT PRIMARY KEY, seen_ms INTEGER NOT NULL);
PRAGMA user_version = ${SCHEMA_VERSION};
`;

const TABLES = {
  meta: { columns: ['key', 'value'], key: ['key'] },
  retained: { columns: ['topic', 'packet', 'payload'], key: ['topic'] },
  subscriptions: { columns: ['client_id', 'topic', 'ord', 'sub'], key: ['client_id', 'topic'] },
  outgoing: { columns: ['seq', 'client_id', 'packet', 'payload'], key: ['seq'] },
  incoming: { columns: ['client_id', 'message_id', 'packet', 'payload'], key: ['client_id', 'message_id'] },
  wills: { columns: ['client_id', 'packet', 'payload'], key: ['client_id'] },
  clients: { columns: ['client_id', 'seen_ms'], key: ['client_id'] },
} as const;

export type Table = keyof typeof TABLES;

/** Collects whole-row upserts and deletes by key, then turns them into few multi-row statements. */
export class TableWriter {
  private readonly puts = new Map<Table, SqlValue[][]>();
  private readonly dels = new Map<Table, SqlValue[][]>();

  /** `row` in the column order of TABLES. */
  put(table: Table, row: SqlValue[]): void {
    let rows = this.puts.get(table);
    if (!rows) this.puts.set(table, (rows = []));
    rows.push(row);
  }

  del(table: Table, key: SqlValue[]): void {
    let keys = this.dels.get(table);
    if (!keys) this.dels.set(table, (keys = []));
    keys.push(key);
  }

  statements(): Statement[] {
    const out: Statement[] = [];
    for (const [table, rows] of this.puts) out.push(...upsertRows(table, TABLES[table].columns, rows));
    for (const [table, keys] of this.dels) out.push(...deleteRows(table, TABLES[table].key, keys));
    return out;
  }
}
