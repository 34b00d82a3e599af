// The one polite live region for the last scanned line: it sits outside the
// screen that is drawn again on every update, and its text changes only when
// that line (or its quantity or price) changes, so a reader announces each
// scan once.

import { t, money } from './texts.js';

let region;
let said = '';

function regionEl() {
  if (!region) {
    region = document.createElement('div');
    region.id = 'last-line-live';
    region.className = 'sr-only';
    region.setAttribute('aria-live', 'polite');
    region.setAttribute('aria-atomic', 'true');
    region.dataset.testid = 'last-announce';
    document.body.append(region);
  }
  return region;
}

/** Announce line `l` of `basket` if it is news. */
export function announceLine(l, basket) {
  const text = l ? t('last.announce', { name: l.quantity > 1 ? `${l.quantity} × ${l.name}` : l.name, price: money(l.price, basket.currency) }) : '';
  const key = l ? `${basket.txn}|${l.line}|${l.quantity}|${l.price}` : '';
  if (key === said) return;
  said = key;
  regionEl().textContent = text;
}
