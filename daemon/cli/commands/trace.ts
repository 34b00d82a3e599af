import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Database } from '../../../broker/persistence/database.js';
import { CliError, EXIT } from '../client.js';
import { print, type CliCommand } from '../context.js';
import { parseEvent } from '../../events/envelope.js';
// registers every event schema, which the logged events are checked against
import '../../events/schemas/index.js';
import type { DomainEvent } from '../../events/schemas/index.js';
import { compareBoardTime } from '../../events/clock.js';
import { money } from '../money.js';

/**
 * `lanectl trace <eventId|txn>`: the causal tree of a transaction from `cause`
 * links (the design "envelope"), read from the sources' outbox logs in the state
 * directory, so it works while laned is down too.
 */

/** Every outbox log of the state directory (one per service; devices.db holds one per device). */
export class EventLogs {
  /** Rows that are not a valid event of a known type (file, event id, what is wrong), skipped. */
  readonly unreadable: string[] = [];

  private constructor(private readonly dbs: Database[]) {}

  static async open(stateDir: string): Promise<EventLogs> {
    let files: string[];
    try {
      files = readdirSync(stateDir).filter((f) => f.endsWith('.db'));
    } catch {
      throw new CliError(`no state directory ${stateDir}; pass --state-dir`, EXIT.noInput);
    }
    const dbs: Database[] = [];
    for (const f of files) {
      const db = await Database.open(join(stateDir, f), { readOnly: true }).catch(() => undefined);
      if (!db) continue;
      const has = await db.get<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'outbox'").catch(() => undefined);
      if (has?.n) dbs.push(db);
      else await db.close().catch(() => undefined);
    }
    return new EventLogs(dbs);
  }

  private async query(where: string, params: unknown[]): Promise<DomainEvent[]> {
    const out: DomainEvent[] = [];
    for (const db of this.dbs) {
      for (const r of await db.all<{ payload: string }>(`SELECT payload FROM outbox WHERE ${where}`, params)) this.read(db.file, r.payload, out);
    }
    return out;
  }

  /** A logged event, checked against its schema and upcast as a received one is. */
  private read(file: string, payload: string, out: DomainEvent[]): void {
    const r = parseEvent(undefined, payload, Number.POSITIVE_INFINITY);
    if (r.ok) out.push(r.event);
    else this.unreadable.push(`${file}: event ${r.id ?? '(no id)'}: ${r.reason}`);
  }

  byTxn(txn: string): Promise<DomainEvent[]> {
    return this.query('txn = ?', [txn]);
  }

  byIds(ids: string[]): Promise<DomainEvent[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.query(`id IN (${ids.map(() => '?').join(',')})`, ids);
  }

  /** Events caused by any of `ids` (no index on cause: fine for a technician's look). */
  causedBy(ids: string[]): Promise<DomainEvent[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.query(`json_extract(payload, '$.cause') IN (${ids.map(() => '?').join(',')})`, ids);
  }

  /** The last `n` events of every log taken together, oldest first (board time), optionally of one source, type and transaction. */
  async last(n: number, filter: { source?: string; type?: string; txn?: string }): Promise<DomainEvent[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    for (const key of ['source', 'type', 'txn'] as const) {
      if (filter[key] === undefined) continue;
      where.push(`${key} = ?`);
      params.push(filter[key]);
    }
    const out: DomainEvent[] = [];
    for (const db of this.dbs) {
      // per source: its newest n by seq (a database can hold several sources' logs)
      const sources = await db.all<{ source: string }>('SELECT DISTINCT source FROM outbox');
      for (const { source } of sources) {
        if (filter.source !== undefined && source !== filter.source) continue;
        const rows = await db.all<{ payload: string }>(
          `SELECT payload FROM outbox WHERE source = ?${where.length ? ` AND ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`,
          [source, ...params, n],
        );
        for (const r of rows) this.read(db.file, r.payload, out);
      }
    }
    return out.sort((a, b) => compareBoardTime(a.at, b.at) || (a.source < b.source ? -1 : a.source > b.source ? 1 : a.seq - b.seq)).slice(-n);
  }

  async close(): Promise<void> {
    await Promise.all(this.dbs.map((db) => db.close().catch(() => undefined)));
  }
}

/** The events of a transaction (or of one event's transaction) and every event that led to them. */
export async function collectTrace(logs: EventLogs, key: string): Promise<{ events: DomainEvent[]; focus?: string; txn?: string }> {
  const byId = new Map<string, DomainEvent>();
  const add = (evs: DomainEvent[]): string[] => {
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

/** The currency an event's data names, if any. */
function currencyOf(e: DomainEvent): string | undefined {
  return 'currency' in e.data && typeof e.data.currency === 'string' ? e.data.currency : undefined;
}

/** One line about an event: what happened, in the words of its data; amounts in `currency` unless the event names its own. */
export function summary(e: DomainEvent, currency?: string): string {
  const cur = currencyOf(e) ?? currency;
  switch (e.type) {
    case 'BarcodeScanned':
      return `${e.data.symbology} ${e.data.raw}`;
    case 'ScanResolved':
      return e.data.product ? `${e.data.product.name}` : `unknown: ${e.data.reason ?? ''}`;
    case 'TransactionStarted':
      return `${e.data.txn} on ${e.data.lane}`;
    case 'ItemAddedToBasket': {
      const d = e.data;
      return `${d.line} ${d.name} x${d.quantity} ${money(d.price, cur)}${d.grams !== undefined ? ` (${d.grams} g)` : ''}`;
    }
    case 'UnknownItemScanned':
      return `${e.data.gtin ?? e.data.code}: ${e.data.reason}`;
    case 'ItemRemovalRequested':
      return `${e.data.line} to ${e.data.quantity}`;
    case 'ItemRemovedFromBasket':
      return `${e.data.line} (${e.data.reason}${e.data.by ? `, ${e.data.by}` : ''})`;
    case 'QuantityChanged':
      return `${e.data.line} ${e.data.from} -> ${e.data.quantity}`;
    case 'PaymentRequested':
    case 'PaymentStarted':
      return `${e.data.payment} ${money(e.data.amount, cur)}`;
    case 'PaymentAuthorized':
      return `${e.data.payment} ${money(e.data.amount, cur)} auth ${e.data.authCode}`;
    case 'PaymentDeclined':
      return `${e.data.payment} ${e.data.reason}`;
    case 'TransactionCompleted':
      return `total ${money(e.data.total, cur)}`;
    case 'TransactionCancelled':
      return `total ${money(e.data.total, cur)}${e.data.reason ? ` (${e.data.reason})` : ''}`;
    case 'WeightHasChanged':
      return `${e.data.grams} g (${e.data.delta >= 0 ? '+' : ''}${e.data.delta} g)`;
    case 'ProduceWeighed':
      return `${e.data.grams} g`;
    case 'VerdictRetracted':
      return `retracts ${e.data.type} ${e.data.retracts}`;
    case 'InterventionRequired':
      return `${e.data.intervention} ${e.data.kind}: ${e.data.reason}`;
    case 'InterventionCleared':
      return `${e.data.intervention} ${e.data.resolution}${e.data.by ? ` by ${e.data.by}` : ''}`;
    case 'OverrideApplied': {
      const d = e.data;
      return `${d.intervention} ${d.action} by ${d.by} (${d.method})${d.reason ? `: ${d.reason}` : ''}`;
    }
    case 'WeightVerified':
    case 'ItemNotBagged':
    case 'UnexpectedItemInBaggingArea':
    case 'ItemRemovedFromBaggingArea':
    case 'WeightMismatch': {
      const d = e.data;
      const lines = 'lines' in d && d.lines.length ? ` ${d.lines.join(',')}` : '';
      return `${d.key}${lines} actual ${d.actualG} g expected ${d.expectedG} g`;
    }
    default:
      return JSON.stringify(e.data).slice(0, 100);
  }
}

/** The causal tree as text lines: children under the event that caused them, in board order. */
export function renderTree(events: DomainEvent[], focus?: string): string[] {
  const currency = events.map(currencyOf).find((c) => c !== undefined);
  const byId = new Map(events.map((e) => [e.id, e]));
  const children = new Map<string, DomainEvent[]>();
  const roots: DomainEvent[] = [];
  for (const e of events) {
    if (e.cause && byId.has(e.cause) && e.cause !== e.id) {
      const list = children.get(e.cause) ?? [];
      list.push(e);
      children.set(e.cause, list);
    } else roots.push(e);
  }
  const order = (a: DomainEvent, b: DomainEvent): number =>
    compareBoardTime(a.at, b.at) || (a.source < b.source ? -1 : a.source > b.source ? 1 : a.seq - b.seq);
  const lines: string[] = [];
  const walk = (e: DomainEvent, prefix: string, last: boolean, top: boolean): void => {
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
      const unreadable = logs.unreadable;
      print(ctx, { ...t, ...(unreadable.length ? { unreadable } : {}) }, () =>
        [
          `${t.txn ? `transaction ${t.txn}` : `event ${key}`}: ${t.events.length} events`,
          ...renderTree(t.events, t.focus),
          ...unreadable.map((u) => `skipped ${u}`),
        ].join('\n'),
      );
    } finally {
      await logs.close();
    }
  },
};
