// The basket from its documents: the summary doc/basket and the lines in pages
// doc/basket/lines/<k> (daemon/services/basket/doc.ts has the layout and the
// same reader for tools). The screen shows a basket only when summary and pages
// agree, so the total never disagrees with the lines drawn.

const SUMMARY = 'basket';
const PAGE_PREFIX = 'basket/lines/';

export class BasketView {
  constructor() {
    this.summary = undefined;
    this.pages = new Map();
    this.shown = undefined;
  }

  /** Is `name` (a topic without `doc/`) one of the basket's documents? */
  static covers(name) {
    return name === SUMMARY || name.startsWith(PAGE_PREFIX);
  }

  /**
   * Take one document (null: removed). Returns the whole basket when it changed to
   * a consistent one: every page of the summary's transaction is here and the
   * newest has the summary's `linesRev`. Until then the last one stands.
   */
  take(name, doc) {
    if (name === SUMMARY) this.summary = doc ?? undefined;
    else if (name.startsWith(PAGE_PREFIX)) {
      const page = Number(name.slice(PAGE_PREFIX.length));
      if (doc) this.pages.set(page, doc);
      else this.pages.delete(page);
    } else return undefined;
    const next = this.assemble();
    if (!next || (this.shown && this.shown.rev === next.rev && this.shown.txn === next.txn)) return undefined;
    this.shown = next;
    return next;
  }

  assemble() {
    const s = this.summary;
    if (!s) return undefined;
    const lines = [];
    let newest = -1;
    for (let k = 0; k < (s.pages ?? 0); k++) {
      const p = this.pages.get(k);
      if (!p || p.txn !== s.txn) return undefined;
      newest = Math.max(newest, p.rev);
      for (const l of p.lines) lines.push(l);
    }
    if (s.pages > 0 && newest !== s.linesRev) return undefined;
    return { ...s, lines };
  }
}
