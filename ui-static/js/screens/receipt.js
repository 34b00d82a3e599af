import { h, button } from '../dom.js';
import { t, money } from '../texts.js';
import { lineDetail } from './basket-lines.js';

/** Receipt / thank you: what was bought, as the last doc/basket of the transaction listed it. */
export function receiptScreen(state, actions) {
  const r = state.ui.receipt;
  return h(
    'section',
    { class: 'receipt', 'data-testid': 'receipt', 'data-txn': r.txn },
    h(
      'div',
      { class: 'receipt-thanks' },
      h('div', { class: 'receipt-check', 'aria-hidden': 'true' }, '✓'),
      h('h1', {}, t('receipt.title')),
      h('p', {}, t('receipt.body')),
    ),
    h(
      'div',
      { class: 'receipt-paper', 'data-testid': 'receipt-paper', tabindex: '0', role: 'region', 'aria-label': t('receipt.txn', { txn: r.txn }) },
      h('p', { class: 'receipt-txn' }, t('receipt.txn', { txn: r.txn })),
      h(
        'ol',
        { class: 'receipt-lines' },
        (r.lines ?? []).map((l) =>
          h(
            'li',
            { 'data-testid': 'receipt-line', 'data-line': l.line },
            h('span', { class: 'receipt-name' }, l.name, h('small', {}, lineDetail(l, r.currency))),
            h('span', { class: 'receipt-price' }, money(l.price, r.currency)),
          ),
        ),
      ),
      h('p', { class: 'receipt-total' }, h('span', {}, t('scan.total')), h('span', { 'data-testid': 'receipt-total' }, money(r.total, r.currency))),
      r.authCode ? h('p', { class: 'receipt-auth', 'data-testid': 'receipt-auth' }, t('receipt.card', { code: r.authCode })) : null,
    ),
    h('div', { class: 'receipt-actions' }, button(t('receipt.done'), actions.finishReceipt, { kind: 'primary', big: true, testid: 'receipt-done' })),
  );
}
