/**
 * What the layout test asks of a screen, run in the page. Kept as source text
 * (untouched by the test's bundler, which would add helpers the page lacks).
 *
 * - Text: no text container (the nearest block around a text node) is wider
 *   inside than out (`scrollWidth > clientWidth`), and none is cut off by a
 *   box that hides its overflow.
 * - Controls: every button, link, field and focusable element is at least
 *   48x48 px, the screen's big (primary) ones at least 64 px high, and each is
 *   seen whole without scrolling, unless it is in a list to scroll through
 *   (`data-scroll-list`: the basket's lines, the produce grid), which itself is.
 *   Text may lie in any box that scrolls (a receipt, the notices).
 * - Language: on a screen in another language than English, no text node is
 *   one of the English catalog's texts (a text in another language is marked
 *   with `lang`; a name that is not a word, such as a device's, with
 *   `translate="no"`), and none is a text key (a key with no text).
 */
export const LAYOUT_PROBLEMS = `((english) => {
  const vw = document.documentElement.clientWidth;
  const vh = document.documentElement.clientHeight;
  const problems = [];
  const name = (el) => {
    const id = el.dataset && el.dataset.testid;
    const cls = typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
    return el.tagName.toLowerCase() + (id ? '[' + id + ']' : cls);
  };
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return false;
    const cs = getComputedStyle(el);
    return cs.visibility !== 'hidden' && cs.display !== 'none';
  };
  const clipper = (el) => {
    for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      const cs = getComputedStyle(a);
      if (cs.overflowX !== 'visible' || cs.overflowY !== 'visible') return a;
    }
    return null;
  };
  const scrolls = (a) => /(auto|scroll)/.test(getComputedStyle(a).overflowY + ' ' + getComputedStyle(a).overflowX);
  const inside = (r, box) => r.left >= box.left - 1 && r.top >= box.top - 1 && r.right <= box.right + 1 && r.bottom <= box.bottom + 1;
  /** Where el is not fully seen (and cannot be scrolled to, where scrolling is allowed): a description, else ''. */
  const unreachable = (el, scrollOk) => {
    const r = el.getBoundingClientRect();
    const a = clipper(el);
    if (!a || a === document.body) return inside(r, { left: 0, top: 0, right: vw, bottom: vh }) ? '' : 'outside the viewport';
    if (scrolls(a) && (scrollOk || a.hasAttribute('data-scroll-list'))) return unreachable(a, scrollOk);
    if (!inside(r, a.getBoundingClientRect())) return (scrolls(a) ? 'scrolled out of ' : 'cut off by ') + name(a);
    return unreachable(a, scrollOk);
  };
  const BLOCKISH = /^(block|flex|grid|inline-block|inline-flex|inline-grid|list-item|table-cell|-webkit-box|flow-root)$/;
  const container = (node) => {
    for (let el = node.parentElement; el; el = el.parentElement) if (BLOCKISH.test(getComputedStyle(el).display)) return el;
    return null;
  };
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const german = document.documentElement.lang !== 'en';
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.data.trim();
    if (!text) continue;
    const parent = n.parentElement;
    if (!parent || parent.closest('.sr-only, noscript, script, style, svg')) continue;
    const el = container(n);
    if (!el || !shown(el)) continue;
    if (german && !parent.closest('[translate="no"]')) {
      const marked = parent.closest('[lang]');
      if (marked === document.documentElement || !marked) {
        const hit = english.find((re) => new RegExp(re).test(text));
        if (hit) problems.push('English text ' + JSON.stringify(text) + ' in ' + name(el));
        if (/^[a-z]+(\\.[A-Za-z0-9-]+)+$/.test(text)) problems.push('a text key with no text: ' + text);
      }
    }
    if (seen.has(el)) continue;
    seen.add(el);
    if (el.scrollWidth > el.clientWidth + 1) problems.push('text overflows ' + name(el) + ' (' + el.scrollWidth + ' > ' + el.clientWidth + '): ' + JSON.stringify(text.slice(0, 40)));
    const where = unreachable(el, true);
    if (where) problems.push('text ' + JSON.stringify(text.slice(0, 40)) + ' in ' + name(el) + ' ' + where);
  }
  const controls = document.querySelectorAll('button, a[href], input, select, textarea, [role="button"], [tabindex]:not([tabindex="-1"])');
  for (const el of controls) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 48 || r.height < 48) problems.push('touch target ' + name(el) + ' is ' + Math.round(r.width) + 'x' + Math.round(r.height));
    if (el.classList.contains('btn-big') && r.height < 64) problems.push('primary action ' + name(el) + ' is ' + Math.round(r.height) + ' px high');
    const where = unreachable(el, false);
    if (where) problems.push(name(el) + ' ' + where);
  }
  return problems;
})`;

/** axe-core over the whole page (its script injected before the page's own): violations, described. */
export const AXE_VIOLATIONS = `(async () => {
  const r = await axe.run(document, { resultTypes: ['violations'] });
  return r.violations.map((v) => v.id + ' (' + v.impact + '): ' + v.help + ' at ' + v.nodes.map((n) => n.target.join(' ')).slice(0, 4).join(', '));
})()`;

/**
 * The English catalog's texts as whole-text patterns, for the texts another
 * language translates differently (a text the same in both, "OK", is no sign).
 */
export function englishPatterns(texts: Record<string, Record<string, string>>, lang: string): string[] {
  const out: string[] = [];
  for (const [key, en] of Object.entries(texts.en)) {
    if (texts[lang][key] === en) continue;
    const fixed = en.replace(/\{\w+\}/g, '').trim();
    if (fixed.length < 2) continue;
    const re = en
      .split(/(\{\w+\})/)
      .map((part) => (/^\{\w+\}$/.test(part) ? '.+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    out.push(`^${re}$`);
  }
  return out;
}
