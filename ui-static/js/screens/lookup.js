import { h, button } from '../dom.js';
import { t, money } from '../texts.js';
import { picture } from '../product-picture.js';
import { letterPad, numberPad } from './keypads.js';

/** One product to pick: picture, name, price. */
export function productButton(p, currency, onPick, { testid, disabled }) {
  return button(
    [
      picture(p),
      h('span', { class: 'product-name' }, p.name),
      h('span', { class: 'product-price' }, p.unit === 'kg' ? `${money(p.price, currency)}/kg` : money(p.price, currency)),
    ],
    onPick,
    { testid, disabled, extra: { 'data-gtin': p.gtin, class: 'btn btn-secondary product' } },
  );
}

/** Find an item that will not scan: key its code (PLU or barcode number) or search its name. */
export function lookupScreen(state, actions) {
  const l = state.ui.lookup;
  const offline = !state.online;
  const currency = state.docs.basket?.currency;
  const tab = (id, label) =>
    button(label, () => actions.lookupTab(id), {
      testid: `lookup-tab-${id}`,
      kind: l.tab === id ? 'primary' : 'secondary',
      extra: { 'aria-pressed': String(l.tab === id) },
    });
  const body =
    l.tab === 'code'
      ? h(
          'div',
          { class: 'lookup-code' },
          h('p', { class: 'lookup-help' }, t('lookup.codeHelp')),
          h('output', { class: 'lookup-entry', 'data-testid': 'lookup-code', 'aria-label': t('lookup.code') }, l.code || '\u00a0'),
          l.error ? h('p', { class: 'lookup-error', role: 'alert', 'data-testid': 'lookup-error' }, t(l.error)) : null,
          numberPad(actions.lookupDigit, actions.lookupDelete, offline || l.busy),
          button(t('lookup.add'), actions.lookupAddCode, { kind: 'primary', big: true, testid: 'lookup-add', disabled: offline || l.busy || !l.code }),
        )
      : h(
          'div',
          { class: 'lookup-name' },
          h('output', { class: 'lookup-entry', 'data-testid': 'lookup-query', 'aria-label': t('lookup.search') }, l.query || '\u00a0'),
          h(
            'div',
            { class: 'product-grid', 'data-testid': 'lookup-results', 'data-scroll-list': true },
            l.query && l.results && l.results.length === 0 ? h('p', { class: 'empty', 'data-testid': 'lookup-none' }, t('lookup.none')) : null,
            (l.results ?? []).map((p) => productButton(p, currency, () => actions.pickProduct(p.gtin), { testid: 'lookup-result', disabled: offline })),
          ),
          letterPad(actions.lookupLetter, actions.lookupDelete, offline),
        );
  return h(
    'section',
    { class: 'lookup' },
    h(
      'div',
      { class: 'lookup-head' },
      h('h1', { class: 'screen-title' }, t('lookup.title')),
      h('div', { class: 'lookup-tabs', role: 'group' }, tab('code', t('lookup.byCode')), tab('name', t('lookup.byName'))),
      button(t('weigh.back'), actions.closeLookup, { testid: 'lookup-back' }),
    ),
    body,
  );
}
