/**
 * The basket's documents for readers (the touch UI, tools, tests): a small
 * summary `doc/basket` and the lines in pages `doc/basket/lines/<k>`, each
 * retained. A scan changes the summary and one page, so what goes out per scan
 * stays the same size however long the basket grows, and no document can
 * outgrow `events.maxPayloadBytes`: a page holds at most as many lines as fit
 * at their longest.
 */
import type { ItemAddedData } from '../../events/schemas/checkout.js';
import type { DocName } from '../../../broker/topics.js';

export type BasketStatus = 'idle' | 'open' | 'paying' | 'completed' | 'cancelled';

/** One line as readers see it: the line as added, its current quantity and price. */
export type BasketLine = ItemAddedData & { pendingRemoval?: number };

export interface BasketNotice {
  code: 'weigh' | 'unknown' | 'declined' | 'scan-refused';
  /** English, for logs and technicians; screens translate by `code` and the fields below. */
  text: string;
  /** weigh: the product to put on the scale. */
  name?: string;
}

/** The retained `doc/basket`. */
export interface BasketSummary {
  lane: string;
  /** Counts every publication of the basket's documents. */
  rev: number;
  txn: string | null;
  status: BasketStatus;
  currency: string;
  total: number;
  /** Pieces (sum of the quantities). */
  items: number;
  /** Lines in the basket (removed ones not counted). */
  lineCount: number;
  /** The lines are in `doc/basket/lines/0` … `pages - 1`. */
  pages: number;
  /** The `rev` at which a line last changed: the newest page has it. */
  linesRev: number;
  /** Blocking interventions open: payment waits. */
  blocked: number;
  payment?: string;
  notice?: BasketNotice;
  last?: { txn: string; status: BasketStatus; total: number };
}

/** A retained `doc/basket/lines/<page>`: the lines numbered page·size+1 … (page+1)·size that are not removed. */
export interface BasketPage {
  txn: string;
  page: number;
  /** The summary's `rev` when this page last changed. */
  rev: number;
  lines: BasketLine[];
}

/** The summary with every line, as a reader puts it together. */
export type Basket = BasketSummary & { lines: BasketLine[] };

export const SUMMARY_DOC = 'basket' satisfies DocName;
const PAGE_PREFIX = 'basket/lines/' as const;
export const pageDoc = (page: number): DocName => `${PAGE_PREFIX}${page}`;

/** Lines per page at most: a scan sends one page again, so pages stay short. */
export const MAX_LINES_PER_PAGE = 25;

/**
 * The longest line the schema of ItemAddedToBasket allows, as JSON: every field
 * present, strings at their maximum length in characters that JSON escapes to
 * six bytes (`\u0001`), numbers at their longest text (`1.7976931348623157e+308`).
 */
export function longestLine(): BasketLine {
  const big = Number.MAX_VALUE;
  return {
    line: 'L999999',
    gtin: '99999999999999',
    name: '\u0001'.repeat(120),
    unit: 'each',
    quantity: 999,
    unitPrice: big,
    price: big,
    grams: big,
    label: 'weight',
    bagging: { unitG: big, toleranceG: big, tolerancePct: 100 },
    ageRestricted: 99,
    scan: '\u0001'.repeat(64),
    pendingRemoval: 999,
  };
}

/** A page's own fields at their longest (txn id of 64 escaped characters, page and rev numbers). */
const PAGE_HEAD_BYTES = Buffer.byteLength(JSON.stringify({ txn: '\u0001'.repeat(64), page: 999_999, rev: Number.MAX_SAFE_INTEGER, lines: [] }));

/** How many lines a page holds so that it stays within `maxPayloadBytes` even with the longest lines (at least one). */
export function linesPerPage(maxPayloadBytes: number): number {
  const line = Buffer.byteLength(JSON.stringify(longestLine())) + 1;
  return Math.max(1, Math.min(MAX_LINES_PER_PAGE, Math.floor((maxPayloadBytes - PAGE_HEAD_BYTES) / line)));
}

/**
 * A reader's side: give it every message of `doc/basket` and `doc/basket/lines/+`
 * (topic without `doc/`; an empty payload removes a page) and it returns the whole
 * basket once summary and pages agree: every page of the summary's transaction is
 * there and the newest has the summary's `linesRev`. Until then the basket it last
 * returned stands. (ui-static/js/basket-view.js is the same for the touch UI.)
 */
export class BasketView {
  private summary: BasketSummary | undefined;
  private readonly pages = new Map<number, BasketPage>();
  private shown: Basket | undefined;

  /** Is `name` (a topic without `doc/`) one of the basket's documents? */
  static covers(name: string): boolean {
    return name === SUMMARY_DOC || name.startsWith(PAGE_PREFIX);
  }

  /** Take one document (undefined: removed); the basket when it changed to a consistent one. */
  take(name: string, doc: unknown): Basket | undefined {
    if (name === SUMMARY_DOC) this.summary = (doc as BasketSummary | undefined) ?? undefined;
    else if (name.startsWith(PAGE_PREFIX)) {
      const page = Number(name.slice(PAGE_PREFIX.length));
      if (doc) this.pages.set(page, doc as BasketPage);
      else this.pages.delete(page);
    } else return undefined;
    const next = this.assemble();
    if (!next || (this.shown && this.shown.rev === next.rev && this.shown.txn === next.txn)) return undefined;
    this.shown = next;
    return next;
  }

  /** The last consistent basket. */
  get basket(): Basket | undefined {
    return this.shown;
  }

  private assemble(): Basket | undefined {
    const s = this.summary;
    if (!s) return undefined;
    const lines: BasketLine[] = [];
    let newest = -1;
    for (let k = 0; k < s.pages; k++) {
      const p = this.pages.get(k);
      if (!p || p.txn !== s.txn) return undefined;
      newest = Math.max(newest, p.rev);
      for (const l of p.lines) lines.push(l);
    }
    if (s.pages > 0 && newest !== s.linesRev) return undefined;
    return { ...s, lines };
  }
}
