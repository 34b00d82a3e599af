import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { CliError, EXIT } from '../client.js';
import { print, type CliCommand } from '../context.js';
import type { Envelope } from '../../events/envelope.js';
import { compareBoardTime } from '../../events/clock.js';
import { money } from '../money.js';

/**
 * `lanectl trace <eventId|txn>`: the causal tree of a transaction from `cause`
 * links (the design "envelope"), read from the sources' outbox logs in the state
 * directory, so it works while laned is down too.
 */

function openReadOnly(file: string): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (err) => (err ? reject(err) : resolve(db)));
  });
}

function all<T>(db: sqlite3.Database, sql: string, params: unknown[]): Promise<T[]> {
  return new Promise((resolve, reject) => db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
}

/** Every outbox log of the state directory (one per service; devices.db holds one per device). */
export class EventLogs {
  private constructor(private readonly dbs: sqlite3.Database[]) {}

  static async open(stateDir: string): Promise<EventLogs> {
    let files: string[];
    try {
      files = readdirSync(stateDir).filter((f) => f.endsWith('.db'));
    } catch {
      throw new CliError(`no state directory ${stateDir}; pass --state-dir`, EXIT.noInput);
    }
    const dbs: sqlite3.Database[] = [];
    for (const f of files) {
      const db = await openReadOnly(join(stateDir, f)).catch(() => undefined);
      if (!db) continue;
      const has = await all<{ n: number }>(db, "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'outbox'", []).catch(() => [{ n: 0 }]);
      if (has[0].n) dbs.push(db);
      else db.close();
    }
    return new EventLogs(dbs);
  }

  private async query(where: string, params: unknown[]): Promise<Envelope[]> {
    const out: Envelope[] = [];
    for (const db of this.dbs) {
      for (const r of await all<{ payload: string }>(db, `SELECT payload FROM outbox WHERE ${where}`, params)) out.push(JSON.parse(r.payload) as Envelope);
    }
    return out;
  }

  byTxn(txn: string): Promise<Envelope[]> {
    return this.query('txn = ?', [txn]);
  }

  byIds(ids: string[]): Promise<Envelope[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.query(`id IN (${ids.map(() => '?').join(',')})`, ids);
  }

  /** Events caused by any of `ids` (no index on cause: fine for a technician's look). */
  causedBy(ids: string[]): Promise<Envelope[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.query(`json_extract(payload, '$.cause') IN (${ids.map(() => '?').join(',')})`, ids);
  }

  /** The last `n` events of every log taken together, oldest first (board time), optionally of one source, type and transaction. */
  async last(n: number, filter: { source?: string; type?: string; txn?: string }): Promise<Envelope[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    for (const key of ['source', 'type', 'txn'] as const) {
      if (filter[key] === undefined) continue;
      where.push(`${key} = ?`);
      params.push(filter[key]);
    }
    const out: Envelope[] = [];
    for (const db of this.dbs) {
      // per source: its newest n by seq (a database can hold several sources' logs)
      const sources = await all<{ source: string }>(db, 'SELECT DISTINCT source FROM outbox', []);
      for (const { source } of sources) {
        if (filter.source !== undefined && source !== filter.source) continue;
        const rows = await all<{ payload: string }>(
          db,
          `SELECT payload FROM outbox WHERE source = ?${where.length ? ` AND ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`,
          [source, ...params, n],
        );
        for (const r of rows) out.push(JSON.parse(r.payload) as Envelope);
      }
    }
    return out.sort((a, b) => compareBoardTime(a.at, b.at) || (a.source < b.source ? -1 : a.source > b.source ? 1 : a.seq - b.seq)).slice(-n);
  }

  close(): void {
    for (const db of this.dbs) db.close();
  }
}

/** The events of a transaction (or of one event's transaction) and every event that led to them. */
export async function collectTrace(logs: EventLogs, key: string): Promise<{ events: Envelope[]; focus?: string; txn?: string }> {
  const byId = new Map<string, Envelope>();
  const add = (evs: Envelope[]): string[] => {
    const fresh: string[] = [];
    for (const e of evs) {
      if (byId.has(e.id)) continue;
      byId.set(e.id, e);
      fresh.push(e.id);
    }
    return fresh;
  };
  let focus: string | undefined;
  let txn: string | undefined;
  let frontier = add(await logs.byTxn(key));
  if (frontier.length) txn = key;
  else {
    const [ev] = await logs.byIds([key]);
    if (!ev) throw new CliError(`no transaction or event ${key} in the event logs (kept: the newest events of each source)`, EXIT.noInput);
    focus = ev.id;
    txn = ev.txn;
    frontier = add(ev.txn ? await logs.byTxn(ev.txn) : [ev]);
    if (!ev.txn) {
      // An event outside any transaction: what it caused, down the tree.
      let down = [ev.id];
      while (down.length) down = add(await logs.causedBy(down));
    }
  }
  // Up the tree: the scans, weights and resolutions that led into the transaction.
  let up = frontier;
  while (up.length) {
    const causes = [...new Set(up.map((id) => byId.get(id)!.cause).filter((c): c is string => Boolean(c) && !byId.has(c!)))];
    up = add(await logs.byIds(causes));
  }
  return { events: [...byId.values()], ...(focus ? { focus } : {}), ...(txn ? { txn } : {}) };
}

/** One line about an event: what happened, in the words of its data; amounts in `currency` unless the event names its own. */
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access -- the data of every event type, each read by its own case */
export function summary(e: Envelope, currency?: string): string {
  const d = (e.data ?? {}) as Record<string, any>;
  const cur: string | undefined = typeof d.currency === 'string' ? d.currency : currency;
  switch (e.type) {
    case 'BarcodeScanned':
      return `${d.symbology} ${d.raw}`;
    case 'ScanResolved':
      return d.product ? `${d.product.name}` : `unknown: ${d.reason ?? ''}`;
    case 'TransactionStarted':
      return `${d.txn} on ${d.lane}`;
    case 'ItemAddedToBasket':
      return `${d.line} ${d.name} x${d.quantity} ${money(d.price, cur)}${d.grams !== undefined ? ` (${d.grams} g)` : ''}`;
    case 'UnknownItemScanned':
      return `${d.gtin ?? d.code}: ${d.reason}`;
    case 'ItemRemovalRequested':
      return `${d.line} to ${d.quantity}`;
    case 'ItemRemovedFromBasket':
      return `${d.line} (${d.reason}${d.by ? `, ${d.by}` : ''})`;
    case 'QuantityChanged':
      return `${d.line} ${d.from} -> ${d.quantity}`;
    case 'PaymentRequested':
    case 'PaymentStarted':
      return `${d.payment} ${money(d.amount, cur)}`;
    case 'PaymentAuthorized':
      return `${d.payment} ${money(d.amount, cur)} auth ${d.authCode}`;
    case 'PaymentDeclined':
      return `${d.payment} ${d.reason}`;
    case 'TransactionCompleted':
    case 'TransactionCancelled':
      return `total ${money(d.total, cur)}${d.reason ? ` (${d.reason})` : ''}`;
    case 'WeightHasChanged':
      return `${d.grams} g (${d.delta >= 0 ? '+' : ''}${d.delta} g)`;
    case 'ProduceWeighed':
      return `${d.grams} g`;
    case 'VerdictRetracted':
      return `retracts ${d.type} ${d.retracts}`;
    case 'InterventionRequired':
      return `${d.intervention} ${d.kind}: ${d.reason}`;
    case 'InterventionCleared':
      return `${d.intervention} ${d.resolution}${d.by ? ` by ${d.by}` : ''}`;
    case 'OverrideApplied':
      return `${d.intervention} ${d.action} by ${d.by} (${d.method})${d.reason ? `: ${d.reason}` : ''}`;
    default:
      if (typeof d.key === 'string')
        return `${d.key}${Array.isArray(d.lines) && d.lines.length ? ` ${d.lines.join(',')}` : ''} actual ${d.actualG} g expected ${d.expectedG} g`;
      return JSON.stringify(d).slice(0, 100);
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access */

/** The causal tree as text lines: children under the event that caused them, in board order. */
export function renderTree(events: Envelope[], focus?: string): string[] {
  const currency = (events.find((e) => typeof (e.data as { currency?: unknown } | undefined)?.currency === 'string')?.data as { currency: string } | undefined)
    ?.currency;
  const byId = new Map(events.map((e) => [e.id, e]));
  const children = new Map<string, Envelope[]>();
  const roots: Envelope[] = [];
  for (const e of events) {
    if (e.cause && byId.has(e.cause) && e.cause !== e.id) {
      const list = children.get(e.cause) ?? [];
      list.push(e);
      children.set(e.cause, list);
    } else roots.push(e);
  }
  const order = (a: Envelope, b: Envelope): number => compareBoardTime(a.at, b.at) || (a.source < b.source ? -1 : a.source > b.source ? 1 : a.seq - b.seq);
  const lines: string[] = [];
  const walk = (e: Envelope, prefix: string, last: boolean, top: boolean): void => {
    const mark = e.id === focus ? ' <==' : '';
    lines.push(`${top ? '' : `${prefix}${last ? '└─ ' : '├─ '}`}${e.source}#${e.seq} ${e.type}  ${summary(e, currency)}  [${e.id}]${mark}`);
    const kids = (children.get(e.id) ?? []).sort(order);
    kids.forEach((k, i) => walk(k, top ? '' : `${prefix}${last ? '   ' : '│  '}`, i === kids.length - 1, false));
  };
  for (const r of roots.sort(order)) walk(r, '', true, true);
  return lines;
}

export const trace: CliCommand = {
  usage: '<eventId|txn>',
  help: 'causal tree of a transaction: scan, item, verdict, alarm, retraction, override',
  async run(ctx) {
    const key = ctx.args[0];
    if (!key) throw new CliError('trace <eventId|txn>, e.g. lanectl trace T-0042', EXIT.usage);
    const logs = await EventLogs.open(ctx.stateDir);
    try {
      const t = await collectTrace(logs, key);
      print(ctx, t, () => [`${t.txn ? `transaction ${t.txn}` : `event ${key}`}: ${t.events.length} events`, ...renderTree(t.events, t.focus)].join('\n'));
    } finally {
      logs.close();
    }
  },
};
