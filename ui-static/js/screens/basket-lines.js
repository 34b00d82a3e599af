import { h, button } from '../dom.js';
import { t, money, kilograms, language } from '../texts.js';

/** One basket line exactly as doc/basket has it (name, quantity or weight, price). */
export function lineDetail(l, currency) {
  if (l.unit === 'kg' && typeof l.grams === 'number') return t('line.weight', { kg: kilograms(l.grams), price: money(l.unitPrice, currency) });
  return t('line.each', { n: l.quantity, price: money(l.unitPrice, currency) });
}

/**
 * Rows are kept by what they show (line, language, mode, enabled): a screen
 * drawn again for another document (devices, bagging) reuses the same nodes,
 * and a new scan only builds its own row.
 */
const rowCache = new Map();
/**
 * The row last built for a line object: a page of lines that did not change
 * keeps its objects, so a long basket is not serialized again on every draw.
 */
const byLine = new WeakMap();

function row(l, currency, actions, mode, disabled, how) {
  const seen = byLine.get(l);
  if (seen && seen.how === how && rowCache.get(seen.key) === seen.el) return seen.el;
  const key = JSON.stringify([language(), mode, disabled, currency, l]);
  const hit = rowCache.get(key);
  if (hit) {
    byLine.set(l, { how, key, el: hit });
    return hit;
  }
  const pending = l.pendingRemoval !== undefined;
  const canMore = l.unit !== 'kg' && !l.label;
  const el = h(
    'li',
    {
      class: `line${pending ? ' line-pending' : ''}`,
      'data-testid': 'basket-line',
      'data-line': l.line,
      'data-gtin': l.gtin,
      'data-qty': String(l.quantity),
      'data-price': String(l.price),
    },
    h(
      'div',
      // a long name shows two lines, then an ellipsis; a tap shows it whole
      { class: 'line-main', on: { click: (e) => e.currentTarget.closest('.line')?.classList.toggle('line-open') } },
      h('span', { class: 'line-name' }, l.name),
      h('span', { class: 'line-detail' }, lineDetail(l, currency)),
      pending
        ? h(
            'span',
            { class: 'line-wait', 'data-testid': 'line-pending' },
            l.pendingRemoval > 0 ? t('scan.waitingLower', { n: l.pendingRemoval }) : t('scan.waitingRemoval'),
          )
        : null,
    ),
    h('span', { class: 'line-price', 'data-testid': 'line-price' }, money(l.price, currency)),
    actions
      ? h(
          'div',
          { class: 'line-actions' },
          mode === 'shopper' && canMore
            ? button('+1', () => actions.addOne(l.line), {
                testid: 'line-more',
                disabled: disabled || pending,
                extra: { 'aria-label': `+1 ${t('line.more')}` },
              })
            : null,
          mode === 'shopper'
            ? button(t('line.remove'), () => actions.askRemove(l.line), { testid: 'line-remove', disabled: disabled || pending })
            : button(t('att.voidLine'), () => actions.voidLine(l.line), { kind: 'danger', testid: 'line-void', disabled: disabled || pending }),
        )
      : null,
  );
  rowCache.set(key, el);
  byLine.set(l, { how, key, el });
  return el;
}

export function basketLines(basket, { actions, mode = 'shopper', disabled = false } = {}) {
  const currency = basket.currency;
  const how = JSON.stringify([language(), mode, disabled, currency]);
  const rows = (basket.lines ?? []).map((l) => row(l, currency, actions, mode, disabled, how));
  // forget rows no longer shown (another transaction, another language)
  if (rowCache.size > rows.length * 2 + 50) {
    const keep = new Set(rows);
    for (const [k, el] of rowCache) if (!keep.has(el)) rowCache.delete(k);
  }
  return h(
    'ol',
    {
      class: 'lines',
      // a list to scroll through: its buttons may lie below the fold
      'data-scroll-list': true,
      'data-testid': 'basket',
      'data-rev': String(basket.rev ?? ''),
      'data-txn': basket.txn ?? '',
      'data-scroll-keep': `basket-${basket.txn ?? ''}`,
    },
    rows,
  );
}
