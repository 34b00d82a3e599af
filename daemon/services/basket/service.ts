import { CommandError, commandSpecs, type ServiceDefinition, type ServiceLogic } from '../../runtime/runtime.js';
import { BASKET_COMMANDS, type LineChange } from './commands.js';
import type { Tx } from '../../store/store.js';
import type { Envelope } from '../../events/envelope.js';
import type { EmitMeta } from '../../events/outbox.js';
import { devicesWith } from '../../runtime/devices.js';
import { KvTable, TxCache } from '../../store/kv.js';
import type { DomainEvent } from '../../events/schemas/index.js';
import type { ItemAddedData, ScanResolvedData } from '../../events/schemas/checkout.js';
import { currencyDigits, priceScan, type LineDraft } from './pricing.js';
import { linesPerPage, pageDoc, SUMMARY_DOC, type BasketLine, type BasketNotice, type BasketPage, type BasketSummary } from './doc.js';
import type { BasketSettings } from './settings.js';
import { leaseLeftMs, newLease, UPDATING_TEXT, type Lease } from '../../updater/lease.js';

const DDL = `
CREATE TABLE IF NOT EXISTS basket_txns (
  txn TEXT PRIMARY KEY, n INTEGER NOT NULL UNIQUE, status TEXT NOT NULL, corr TEXT NOT NULL,
  total INTEGER NOT NULL DEFAULT 0, payment TEXT, attempts INTEGER NOT NULL DEFAULT 0, notice TEXT, started TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS basket_lines (
  txn TEXT NOT NULL, n INTEGER NOT NULL, line TEXT NOT NULL, item TEXT NOT NULL,
  quantity INTEGER NOT NULL, price INTEGER NOT NULL, removed INTEGER NOT NULL DEFAULT 0, pending_qty INTEGER,
  PRIMARY KEY (txn, n)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS basket_blocks (txn TEXT NOT NULL, intervention TEXT NOT NULL, PRIMARY KEY (txn, intervention)) WITHOUT ROWID;
-- the total and the counts of doc/basket without reading every line's item
CREATE INDEX IF NOT EXISTS basket_lines_sums ON basket_lines (txn, removed, quantity, price);`;

type Status = 'open' | 'paying' | 'completed' | 'cancelled';

interface TxnRow {
  txn: string;
  n: number;
  status: Status;
  corr: string;
  total: number;
  payment: string | null;
  attempts: number;
  notice: string | null;
  /** Blocking interventions open (read with the row by `current`). */
  blocked?: number;
}

interface LineRow {
  n: number;
  line: string;
  item: string;
  quantity: number;
  price: number;
  removed: number;
  pending_qty: number | null;
}

type Notice = BasketNotice;

/**
 * basket: the transaction lifecycle. A resolved scan opens a
 * transaction and adds a line; the UI removes lines (with an attendant's
 * approval), changes quantities, pays or cancels; payment and attendant events
 * close the loop. All state and the events it causes commit together; after
 * every change the retained doc/basket goes out, with the page of lines that
 * changed (basket/doc.ts).
 */
/** The touch UI's commands are the shopper's (`by` is the broker-stamped principal): only staff tools name who. */
const staff = (by: string | undefined): string | undefined => (by === 'ui' ? undefined : by);

export const basket: ServiceDefinition<BasketSettings> = {
  name: 'basket',
  /** Sent by the touch UI: the shopper's basket screen (own bag too) and the staff screen's remove and void. */
  ui: ['RemoveItem', 'ChangeQuantity', 'Cancel', 'Pay', 'DeclareBag'],
  create(ctx): ServiceLogic {
    const lane = ctx.config.lane.id;
    const currency = ctx.config.lane.currency;
    const digits = currencyDigits(currency);
    const produceScales = ctx.settings.produceScales ?? devicesWith(ctx.config, 'scale');
    const needsApproval = ctx.settings.removalNeedsApproval ?? true;
    const freeUpTo = ctx.settings.removalFreeUpTo ?? 0;
    const ownBag = ctx.settings.ownBag ?? { minG: 5, maxG: 250 };
    if (ownBag.minG > ownBag.maxG) throw new Error(`services.basket.ownBag: minG ${ownBag.minG} is above maxG ${ownBag.maxG}`);

    const kv = new KvTable('basket_state');

    // Each statement is a trip to SQLite's thread and back, on the path of every scan: one each.
    const current = (tx: Tx): Promise<TxnRow | undefined> =>
      tx.get(
        "SELECT t.*, (SELECT count(*) FROM basket_blocks b WHERE b.txn = t.txn) AS blocked FROM basket_state s JOIN basket_txns t ON t.txn = json_extract(s.v, '$') WHERE s.k = 'current'",
      );
    /** The last line number of each transaction. */
    const lineNumbers = new TxCache<string, number>(8);
    const lines = (tx: Tx, txn: string): Promise<LineRow[]> => tx.all<LineRow>('SELECT * FROM basket_lines WHERE txn = ? ORDER BY n', [txn]);
    const lineOf = async (tx: Tx, txn: string, line: string): Promise<LineRow | undefined> =>
      tx.get<LineRow>('SELECT * FROM basket_lines WHERE txn = ? AND line = ?', [txn, line]);
    const meta = (t: TxnRow, cause?: string): EmitMeta => ({ txn: t.txn, corr: t.corr, ...(cause ? { cause } : {}) });

    const setTotal = async (tx: Tx, t: TxnRow): Promise<void> => {
      const r = await tx.get<{ total: number }>(
        'UPDATE basket_txns SET total = (SELECT coalesce(sum(price), 0) FROM basket_lines WHERE txn = ? AND removed = 0) WHERE txn = ? RETURNING total',
        [t.txn, t.txn],
      );
      t.total = r?.total ?? 0;
    };
    const setNotice = async (tx: Tx, t: TxnRow, notice: Notice | undefined): Promise<void> => {
      const next = notice ? JSON.stringify(notice) : null;
      if (t.notice === next) return;
      t.notice = next;
      await tx.run('UPDATE basket_txns SET notice = ? WHERE txn = ?', [t.notice, t.txn]);
    };

    const perPage = linesPerPage(ctx.config.events.maxPayloadBytes);
    const pageOf = (n: number): number => Math.floor((n - 1) / perPage);
    /** Line numbers changed by each open transaction: their pages go out with the next summary. */
    const touched = new WeakMap<Tx, Set<number>>();
    const touch = (tx: Tx, n: number): void => {
      let pages = touched.get(tx);
      if (!pages) touched.set(tx, (pages = new Set()));
      pages.add(pageOf(n));
    };
    const page = async (tx: Tx, txn: string, k: number, rev: number): Promise<BasketPage> => {
      const rows = await tx.all<LineRow>('SELECT * FROM basket_lines WHERE txn = ? AND n BETWEEN ? AND ? AND removed = 0 ORDER BY n', [
        txn,
        k * perPage + 1,
        (k + 1) * perPage,
      ]);
      const lines = rows.map((l): BasketLine => ({
        ...(JSON.parse(l.item) as ItemAddedData),
        quantity: l.quantity,
        price: l.price,
        ...(l.pending_qty !== null ? { pendingRemoval: l.pending_qty } : {}),
      }));
      return { txn, page: k, rev, lines };
    };

    /**
     * Build doc/basket and the changed pages of lines inside the transaction (every
     * page with `all`), publish them after COMMIT: pages first, then the summary,
     * then the removal of pages no longer in use.
     */
    const publish = async (tx: Tx, all = false): Promise<void> => {
      const rev = ((await kv.get<number>(tx, 'rev')) ?? 0) + 1;
      await kv.set(tx, 'rev', rev);
      const changed = touched.get(tx) ?? new Set<number>();
      touched.delete(tx);
      /** Page topics that hold a retained page now (0 … pagesOut - 1). */
      const pagesOut = (await kv.get<number>(tx, 'pagesOut')) ?? 0;
      const linesRevBefore = (await kv.get<number>(tx, 'linesRev')) ?? 0;
      let linesRev = linesRevBefore;
      const t = await current(tx);
      let doc: BasketSummary;
      const pages: BasketPage[] = [];
      let pageCount = 0;
      if (!t) {
        const last = await tx.get<TxnRow>('SELECT * FROM basket_txns ORDER BY n DESC LIMIT 1');
        doc = {
          lane,
          rev,
          txn: null,
          status: 'idle',
          currency,
          total: 0,
          items: 0,
          lineCount: 0,
          pages: 0,
          linesRev,
          blocked: 0,
          ...(last ? { last: { txn: last.txn, status: last.status, total: last.total } } : {}),
        };
      } else {
        const sums = await tx.get<{ lines: number; items: number; last: number | null }>(
          'SELECT coalesce(sum(removed = 0), 0) AS lines, coalesce(sum(quantity) FILTER (WHERE removed = 0), 0) AS items, max(n) AS last FROM basket_lines WHERE txn = ?',
          [t.txn],
        );
        pageCount = sums?.last ? pageOf(sums.last) + 1 : 0;
        const send = all ? Array.from({ length: pageCount }, (_, k) => k) : [...changed].filter((k) => k < pageCount).sort((a, b) => a - b);
        for (const k of send) pages.push(await page(tx, t.txn, k, rev));
        if (send.length) linesRev = rev;
        doc = {
          lane,
          rev,
          txn: t.txn,
          status: t.status,
          currency,
          total: t.total,
          items: sums?.items ?? 0,
          lineCount: sums?.lines ?? 0,
          pages: pageCount,
          linesRev,
          blocked: t.blocked ?? 0,
          ...(await bagsOf(tx, t.txn)),
          ...(t.payment ? { payment: t.payment } : {}),
          ...(t.notice ? { notice: JSON.parse(t.notice) as Notice } : {}),
        };
      }
      if (linesRev !== linesRevBefore) await kv.set(tx, 'linesRev', linesRev);
      // Pages of a closed transaction (or, at start, of a longer one before) are removed; while
      // a transaction grows, the count of pages in use follows it.
      const gone = !t || all ? pagesOut - pageCount : 0;
      const nextOut = Math.max(pageCount, gone > 0 ? pageCount : pagesOut);
      if (nextOut !== pagesOut) await kv.set(tx, 'pagesOut', nextOut);
      tx.afterCommit(() => {
        for (const p of pages) ctx.publishDoc(pageDoc(p.page), p);
        ctx.publishDoc(SUMMARY_DOC, doc);
        for (let k = pageCount; k < pageCount + gone; k++) ctx.clearDoc(pageDoc(k));
      });
    };

    /** Own bags declared in `txn`, for doc/basket. */
    const bagsOf = async (tx: Tx, txn: string): Promise<{ bags?: number }> => {
      const b = await kv.get<{ txn: string; n: number }>(tx, 'bags');
      return b && b.txn === txn ? { bags: b.n } : {};
    };

    const start = async (tx: Tx, cause: Pick<Envelope, 'id'>): Promise<TxnRow> => {
      const n = ((await kv.get<number>(tx, 'counter')) ?? 0) + 1;
      await kv.set(tx, 'counter', n);
      const txn = `T-${String(n).padStart(4, '0')}`;
      const ev = await ctx.emit(tx, 'TransactionStarted', { txn, lane, currency }, { txn, cause: cause.id });
      const t: TxnRow = { txn, n, status: 'open', corr: ev.id, total: 0, payment: null, attempts: 0, notice: null };
      await tx.run('INSERT INTO basket_txns (txn, n, status, corr, started) VALUES (?,?,?,?,?)', [txn, n, 'open', ev.id, ev.time]);
      await kv.set(tx, 'current', txn);
      return t;
    };

    const addLine = async (tx: Tx, t: TxnRow, draft: LineDraft, cause: string): Promise<void> => {
      const last = lineNumbers.get(tx, t.txn) ?? (await tx.get<{ m: number | null }>('SELECT max(n) AS m FROM basket_lines WHERE txn = ?', [t.txn]))?.m ?? 0;
      const n = last + 1;
      lineNumbers.write(tx, t.txn, n);
      const item: ItemAddedData = { line: `L${n}`, ...draft };
      await ctx.emit(tx, 'ItemAddedToBasket', item, meta(t, cause));
      touch(tx, n);
      await tx.run('INSERT INTO basket_lines (txn, n, line, item, quantity, price) VALUES (?,?,?,?,?,?)', [
        t.txn,
        n,
        item.line,
        JSON.stringify(item),
        item.quantity,
        item.price,
      ]);
      await setTotal(tx, t);
    };

    const close = async (tx: Tx, t: TxnRow, status: 'completed' | 'cancelled'): Promise<void> => {
      await tx.run('UPDATE basket_txns SET status = ? WHERE txn = ?', [status, t.txn]);
      await tx.run('DELETE FROM basket_blocks WHERE txn = ?', [t.txn]);
      await kv.set(tx, 'current', undefined);
      await kv.set(tx, 'pendingWeigh', undefined);
    };

    /** Apply a removal or a lower quantity (0 removes the line). */
    const applyRemoval = async (
      tx: Tx,
      t: TxnRow,
      l: LineRow,
      quantity: number,
      reason: 'customer' | 'approved' | 'age-check-rejected',
      cause: string,
      by?: string,
    ): Promise<void> => {
      const item = JSON.parse(l.item) as ItemAddedData;
      touch(tx, l.n);
      if (quantity <= 0) {
        await ctx.emit(tx, 'ItemRemovedFromBasket', { line: l.line, reason, ...(by ? { by } : {}) }, meta(t, cause));
        await tx.run('UPDATE basket_lines SET removed = 1, pending_qty = NULL WHERE txn = ? AND n = ?', [t.txn, l.n]);
      } else {
        const price = quantity * item.unitPrice;
        await ctx.emit(tx, 'QuantityChanged', { line: l.line, from: l.quantity, quantity, price, ...(by ? { by } : {}) }, meta(t, cause));
        await tx.run('UPDATE basket_lines SET quantity = ?, price = ?, pending_qty = NULL WHERE txn = ? AND n = ?', [quantity, price, t.txn, l.n]);
      }
      await setTotal(tx, t);
    };

    const open = async (tx: Tx): Promise<TxnRow> => {
      const t = await current(tx);
      if (!t) throw new CommandError('no transaction is open; scan an item first');
      return t;
    };
    const openLine = async (tx: Tx, t: TxnRow, line: string): Promise<LineRow> => {
      const l = await lineOf(tx, t.txn, line);
      if (!l || l.removed) throw new CommandError(`${t.txn} has no line ${line}`);
      return l;
    };

    const onScan = async (tx: Tx, ev: DomainEvent<'ScanResolved'>): Promise<void> => {
      const d = ev.data;
      let t = await current(tx);
      // an update's idle lease closes the lane to new shoppers, not to the one already shopping
      const updating = !t && leaseLeftMs(ctx.clock, await kv.get<Lease>(tx, 'updateLease')) > 0 ? UPDATING_TEXT : undefined;
      const byStore = t ? undefined : await kv.get<string>(tx, 'storeClosed');
      const closed = (await kv.get<string>(tx, 'closed')) ?? byStore ?? updating;
      if (closed || t?.status === 'paying') {
        const refusal = closed
          ? { reason: 'lane-closed' as const, detail: `the lane is closed: ${closed}` }
          : {
              reason: 'payment-in-progress' as const,
              detail: `payment ${t!.payment} of ${t!.txn} in progress: finish or cancel it before scanning more items`,
            };
        await ctx.emit(tx, 'ScanRefused', { scan: d.scan, code: d.code, ...refusal }, t ? meta(t, ev.id) : { cause: ev.id });
        tx.afterCommit(() =>
          ctx.log.warn({ txn: t?.txn ?? null, scan: d.scan, code: d.code, reason: refusal.reason }, `scan ${d.code} refused: ${refusal.detail}`),
        );
        if (t?.status === 'paying')
          await setNotice(tx, t, { code: 'scan-refused', text: 'Payment in progress: finish or cancel it before scanning more items' });
        return;
      }
      t ??= await start(tx, ev);
      if (!d.product) {
        await ctx.emit(
          tx,
          'UnknownItemScanned',
          { scan: d.scan, code: d.code, ...(d.gtin ? { gtin: d.gtin } : {}), reason: d.reason ?? 'not in the catalog' },
          meta(t, ev.id),
        );
        await setNotice(tx, t, { code: 'unknown', text: `Item ${d.gtin ?? d.code} is not known: an attendant is on the way` });
        return;
      }
      const produce = await kv.get<{ grams: number; id: string; used: boolean }>(tx, 'produce');
      const priced = priceScan(d, d.product, digits, produce && !produce.used ? produce.grams : undefined);
      if (!priced.ok) {
        await kv.set(tx, 'pendingWeigh', { txn: t.txn, cause: ev.id, scan: d });
        await setNotice(tx, t, { code: 'weigh', text: `Place ${d.product.name} on the scale`, name: d.product.name });
        return;
      }
      if (priced.item.grams !== undefined && !priced.item.label && produce) await kv.set(tx, 'produce', { ...produce, used: true });
      await addLine(tx, t, priced.item, ev.id);
      await setNotice(tx, t, undefined);
    };

    const onProduce = async (tx: Tx, ev: DomainEvent<'ProduceWeighed'>): Promise<void> => {
      const { grams } = ev.data;
      if (!(grams > 0)) {
        await kv.set(tx, 'produce', undefined);
        return;
      }
      const pending = await kv.get<{ txn: string; cause: string; scan: ScanResolvedData }>(tx, 'pendingWeigh');
      const t = await current(tx);
      if (pending && t && t.txn === pending.txn && t.status === 'open' && pending.scan.product) {
        const priced = priceScan(pending.scan, pending.scan.product, digits, grams);
        if (priced.ok) {
          await addLine(tx, t, priced.item, ev.id);
          await kv.set(tx, 'pendingWeigh', undefined);
          await kv.set(tx, 'produce', { grams, id: ev.id, used: true });
          await setNotice(tx, t, undefined);
          return;
        }
      }
      await kv.set(tx, 'produce', { grams, id: ev.id, used: false });
    };

    const onPayment = async (tx: Tx, ev: DomainEvent<'PaymentAuthorized' | 'PaymentDeclined'>): Promise<void> => {
      const d = ev.data;
      const t = await current(tx);
      if (!t || t.payment !== d.payment || t.status !== 'paying') {
        ctx.log.warn({ payment: d.payment, type: ev.type }, `${ev.type} for payment ${d.payment} that is not the one in progress; ignored`);
        return;
      }
      if (ev.type === 'PaymentAuthorized') {
        if (d.amount !== t.total) {
          ctx.log.error(
            { txn: t.txn, payment: d.payment, amount: d.amount, total: t.total },
            `payment ${d.payment} authorized ${d.amount} but ${t.txn} totals ${t.total}; not completed, call an attendant`,
          );
          return;
        }
        const items = await tx.get<{ c: number }>('SELECT coalesce(sum(quantity), 0) AS c FROM basket_lines WHERE txn = ? AND removed = 0', [t.txn]);
        await ctx.emit(tx, 'TransactionCompleted', { total: t.total, currency, items: items?.c ?? 0, payment: d.payment }, meta(t, ev.id));
        await close(tx, t, 'completed');
      } else {
        await tx.run("UPDATE basket_txns SET status = 'open', payment = NULL WHERE txn = ?", [t.txn]);
        await setNotice(tx, t, { code: 'declined', text: `Payment ${ev.data.reason}: try again or ask an attendant` });
      }
    };

    const onAttendant = async (tx: Tx, ev: DomainEvent<'InterventionRequired' | 'InterventionCleared' | 'OverrideApplied'>): Promise<void> => {
      const t = await current(tx);
      if (!t || ev.txn !== t.txn) return;
      if (ev.type === 'InterventionRequired' && ev.data.blocking) {
        await tx.run('INSERT OR IGNORE INTO basket_blocks (txn, intervention) VALUES (?, ?)', [t.txn, ev.data.intervention]);
      } else if (ev.type === 'InterventionCleared') {
        await tx.run('DELETE FROM basket_blocks WHERE txn = ? AND intervention = ?', [t.txn, ev.data.intervention]);
      } else if (ev.type === 'OverrideApplied' && ev.data.line) {
        const d = ev.data;
        const l = await lineOf(tx, t.txn, ev.data.line);
        if (!l || l.removed || t.status !== 'open') return;
        if (d.kind === 'removal' && l.pending_qty !== null) {
          if (d.action === 'approve') await applyRemoval(tx, t, l, l.pending_qty, 'approved', ev.id, d.by);
          else {
            await ctx.emit(tx, 'ItemRemovalRejected', { line: l.line, ...(d.by ? { by: d.by } : {}) }, meta(t, ev.id));
            touch(tx, l.n);
            await tx.run('UPDATE basket_lines SET pending_qty = NULL WHERE txn = ? AND n = ?', [t.txn, l.n]);
          }
        } else if (d.kind === 'age-check' && d.action === 'reject') {
          await applyRemoval(tx, t, l, 0, 'age-check-rejected', ev.id, d.by);
        }
      }
    };

    /** Remove a line or lower its quantity: at once, or asking an attendant first. */
    const requestRemoval = async (tx: Tx, t: TxnRow, l: LineRow, quantity: number, cmdId: string, by?: string): Promise<LineChange> => {
      if (t.status !== 'open') throw new CommandError(`${t.txn} is paying; lines cannot change now`);
      if (l.pending_qty !== null) throw new CommandError(`line ${l.line} already waits for an attendant`);
      const item = JSON.parse(l.item) as ItemAddedData;
      // what comes off: whole pieces at the unit price, a line by weight or label at its price
      const worth = quantity > 0 ? (l.quantity - quantity) * item.unitPrice : l.price;
      if (!needsApproval || worth <= freeUpTo) {
        await applyRemoval(tx, t, l, quantity, 'customer', cmdId, by);
        return { line: l.line, quantity, pending: false };
      }
      await ctx.emit(tx, 'ItemRemovalRequested', { line: l.line, name: item.name, quantity }, meta(t));
      touch(tx, l.n);
      await tx.run('UPDATE basket_lines SET pending_qty = ? WHERE txn = ? AND n = ?', [quantity, t.txn, l.n]);
      return { line: l.line, quantity, pending: true };
    };

    const lane1 = (): string => 'lane';

    return {
      sources: ['catalog', 'payment', 'attendant', ...produceScales],
      keyOf: lane1,
      async migrate(store) {
        await store.exec(kv.ddl() + DDL);
      },
      async start() {
        // every page again: the broker may have lost its retained documents
        await ctx.tx((tx) => publish(tx, true));
      },
      async onEvent(ev, tx) {
        switch (ev.type) {
          case 'ScanResolved':
            await onScan(tx, ev);
            break;
          case 'ProduceWeighed':
            await onProduce(tx, ev);
            break;
          case 'ScaleStatus':
            // An emptied platter reports zero, not a weight: what was weighed is gone.
            if (!produceScales.includes(ev.source) || !['zero', 'underZero'].includes(ev.data.state)) return;
            await kv.set(tx, 'produce', undefined);
            break;
          case 'PaymentAuthorized':
          case 'PaymentDeclined':
            await onPayment(tx, ev);
            break;
          case 'InterventionRequired':
          case 'InterventionCleared':
          case 'OverrideApplied':
            await onAttendant(tx, ev);
            break;
          case 'LaneClosed': {
            // no new transaction, no new line while a device the lane needs is missing;
            // closed by store IT: no new transaction, the one open finishes
            const { missing, store } = ev.data;
            await kv.set(tx, 'closed', missing.length ? missing.map((m) => m.fault).join('; ') : undefined);
            await kv.set(tx, 'storeClosed', store ? `closed by ${store.by}${store.reason ? `: ${store.reason}` : ''}` : undefined);
            return;
          }
          case 'LaneReopened':
            await kv.set(tx, 'closed', undefined);
            await kv.set(tx, 'storeClosed', undefined);
            return;
          default:
            return;
        }
        await publish(tx);
      },
      commands: commandSpecs(BASKET_COMMANDS, {
        /** The updater's idle lease (daemon/updater/lease.ts): granted only while no transaction is open. */
        UpdateLease: {
          key: lane1,
          async handle(args, tx, m) {
            const t = await current(tx);
            if (t) throw new CommandError(`transaction ${t.txn} is open (${t.status}): the lane is not idle`);
            const lease = newLease(ctx.clock, args.seconds);
            await kv.set(tx, 'updateLease', lease);
            tx.afterCommit(() =>
              ctx.log.info({ by: m.by, until: lease.untilIso }, `idle lease for an update granted to ${m.by ?? 'an unknown sender'} until ${lease.untilIso}`),
            );
            return { until: lease.untilIso };
          },
        },
        UpdateRelease: {
          key: lane1,
          async handle(_args, tx, m) {
            const held = leaseLeftMs(ctx.clock, await kv.get<Lease>(tx, 'updateLease')) > 0;
            await kv.set(tx, 'updateLease', undefined);
            if (held) tx.afterCommit(() => ctx.log.info({ by: m.by }, `idle lease for an update given back by ${m.by ?? 'an unknown sender'}`));
            return { released: held };
          },
        },
        /** Remove a line (quantity 0, default) or lower its quantity. */
        RemoveItem: {
          key: lane1,
          async handle(args, tx, m) {
            const t = await open(tx);
            const l = await openLine(tx, t, args.line);
            const quantity = args.quantity ?? 0;
            if (quantity >= l.quantity)
              throw new CommandError(`line ${l.line} has quantity ${l.quantity}; RemoveItem lowers it (use ChangeQuantity to raise it)`);
            if (quantity > 0 && (JSON.parse(l.item) as ItemAddedData).unit === 'kg')
              throw new CommandError(`line ${l.line} is sold by weight: remove it whole`);
            const r = await requestRemoval(tx, t, l, quantity, m.id, staff(m.by));
            await publish(tx);
            return r;
          },
        },
        ChangeQuantity: {
          key: lane1,
          async handle(args, tx, m) {
            const t = await open(tx);
            const l = await openLine(tx, t, args.line);
            const item = JSON.parse(l.item) as ItemAddedData;
            if (item.unit === 'kg' || item.label) throw new CommandError(`line ${l.line} is priced by its weight or label; its quantity cannot change`);
            let r: LineChange;
            if (args.quantity === l.quantity) r = { line: l.line, quantity: l.quantity, pending: false };
            else if (args.quantity < l.quantity) r = await requestRemoval(tx, t, l, args.quantity, m.id, staff(m.by));
            else {
              if (t.status !== 'open') throw new CommandError(`${t.txn} is paying; lines cannot change now`);
              await applyRemoval(tx, t, l, args.quantity, 'customer', m.id, staff(m.by));
              r = { line: l.line, quantity: args.quantity, pending: false };
            }
            await publish(tx);
            return r;
          },
        },
        /** The shopper put an own bag in the bagging area: weightcheck tares it (OwnBagDeclared). */
        DeclareBag: {
          key: lane1,
          async handle(_args, tx, m) {
            const running = await current(tx);
            if ((await kv.get<string>(tx, 'closed')) ?? (running ? undefined : await kv.get<string>(tx, 'storeClosed')))
              throw new CommandError('the lane is closed');
            const t = running ?? (await start(tx, { id: m.id }));
            if (t.status !== 'open') throw new CommandError(`${t.txn} is paying; a bag cannot be declared now`);
            const was = await kv.get<{ txn: string; n: number }>(tx, 'bags');
            const n = was?.txn === t.txn ? was.n + 1 : 1;
            if (n > 999) throw new CommandError(`${t.txn} has ${n - 1} bags declared already`);
            const bag = `B${n}`;
            await ctx.emit(tx, 'OwnBagDeclared', { bag, minG: ownBag.minG, maxG: ownBag.maxG }, meta(t, m.id));
            await kv.set(tx, 'bags', { txn: t.txn, n });
            await publish(tx);
            return { txn: t.txn, bag, minG: ownBag.minG, maxG: ownBag.maxG };
          },
        },
        Pay: {
          key: lane1,
          async handle(_args, tx) {
            const t = await open(tx);
            if (t.status === 'paying') throw new CommandError(`payment ${t.payment} of ${t.txn} is already in progress`);
            if (t.total <= 0) throw new CommandError(`${t.txn} has nothing to pay; cancel it instead`);
            const blocked = await tx.get<{ c: number }>('SELECT count(*) AS c FROM basket_blocks WHERE txn = ?', [t.txn]);
            if (blocked && blocked.c > 0) throw new CommandError(`${t.txn} waits for an attendant (${blocked.c} intervention${blocked.c > 1 ? 's' : ''} open)`);
            const pending = await tx.get<{ c: number }>('SELECT count(*) AS c FROM basket_lines WHERE txn = ? AND pending_qty IS NOT NULL AND removed = 0', [
              t.txn,
            ]);
            if (pending && pending.c > 0) throw new CommandError(`${t.txn} has a removal waiting for an attendant`);
            const attempt = t.attempts + 1;
            const payment = `${t.txn}-P${attempt}`;
            await ctx.emit(tx, 'PaymentRequested', { payment, amount: t.total, currency, attempt }, meta(t));
            await tx.run("UPDATE basket_txns SET status = 'paying', payment = ?, attempts = ? WHERE txn = ?", [payment, attempt, t.txn]);
            await kv.set(tx, 'pendingWeigh', undefined);
            await setNotice(tx, { ...t, status: 'paying' }, undefined);
            await publish(tx);
            return { txn: t.txn, payment, amount: t.total, currency };
          },
        },
        Cancel: {
          key: lane1,
          async handle(args, tx, m) {
            const t = await open(tx);
            if (t.status === 'paying')
              throw new CommandError(`payment ${t.payment} of ${t.txn} is in progress; cancel it on the terminal first (cmd/payment/Cancel)`);
            await ctx.emit(
              tx,
              'TransactionCancelled',
              { total: t.total, reason: args?.reason ?? 'cancelled by the shopper', ...(staff(m.by) ? { by: staff(m.by) } : {}) },
              meta(t),
            );
            await close(tx, t, 'cancelled');
            await publish(tx);
            return { txn: t.txn, status: 'cancelled' as const };
          },
        },
        Get: {
          key: lane1,
          async handle(_args, tx) {
            const t = await current(tx);
            if (!t) return { txn: null, status: 'idle' as const };
            return {
              ...t,
              lines: (await lines(tx, t.txn)).map((l) => ({
                ...(JSON.parse(l.item) as ItemAddedData),
                quantity: l.quantity,
                price: l.price,
                removed: l.removed === 1,
              })),
            };
          },
        },
      }),
    };
  },
};
