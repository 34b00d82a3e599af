import { h, button } from '../dom.js';
import { t, money } from '../texts.js';
import { currentAlerts, baggingHint } from '../alerts.js';
import { basketLines } from './basket-lines.js';

/**
 * Scanning with the live basket: lines, total, pay. The side column keeps its
 * buttons in view at every size: notices scroll in their own box above them,
 * and Pay is last, at the bottom right where the thumb is.
 */
export function scanScreen(state, actions) {
  const basket = state.docs.basket ?? { lines: [], total: 0, items: 0, currency: 'EUR' };
  const open = basket.status === 'open';
  const offline = !state.online;
  const notices = [];
  const alerts = currentAlerts(state.docs);
  for (const a of alerts.filter((x) => !x.blocking)) {
    notices.push(
      h(
        'div',
        { class: `notice notice-${a.kind}`, 'data-testid': 'notice', 'data-kind': a.kind },
        h('strong', {}, a.title),
        ' ',
        a.name ? h('span', { class: 'notice-item' }, `${a.name}: `) : null,
        a.body,
      ),
    );
  }
  if (basket.notice?.code === 'weigh') {
    const name = basket.notice.name;
    notices.push(h('div', { class: 'notice', 'data-testid': 'notice', 'data-kind': 'weigh' }, name ? t('weigh.place', { name }) : t('weigh.placeAny')));
  }
  if (basket.notice?.code === 'scan-refused')
    notices.push(h('div', { class: 'notice', 'data-testid': 'notice', 'data-kind': 'scan-refused' }, t('alert.scanRefused')));
  const hint = baggingHint(state.docs);
  const count = basket.items === 1 ? t('scan.item') : t('scan.items', { n: basket.items ?? 0 });
  return h(
    'section',
    { class: 'scan' },
    h(
      'div',
      { class: 'scan-basket' },
      h('h1', { class: 'screen-title' }, t('scan.title')),
      basket.lines?.length
        ? basketLines(basket, { actions, disabled: offline || !open })
        : h('p', { class: 'empty', 'data-testid': 'basket-empty' }, t('scan.empty')),
    ),
    h(
      'aside',
      { class: 'scan-side', 'aria-label': t('scan.side') },
      notices.length || hint
        ? h(
            'div',
            { class: 'scan-notices', 'data-testid': 'notices', role: 'region', tabindex: '0', 'aria-label': t('scan.notices') },
            notices,
            hint ? h('div', { class: 'hint', 'data-testid': 'bag-hint' }, hint) : null,
          )
        : h('div', { class: 'scan-notices' }),
      h(
        'div',
        { class: 'total-box' },
        h('span', { class: 'total-label' }, t('scan.total')),
        h('span', { class: 'total', 'data-testid': 'total', 'data-total': String(basket.total ?? 0) }, money(basket.total ?? 0, basket.currency)),
        h('span', { class: 'total-count', 'data-testid': 'item-count' }, count),
      ),
      h(
        'div',
        { class: 'scan-actions' },
        button(t('scan.produce'), actions.openProduce, { testid: 'produce', disabled: offline }),
        open ? button(t('scan.cancel'), actions.askCancel, { kind: 'ghost', testid: 'cancel', disabled: offline }) : null,
        button(t('scan.pay'), actions.pay, {
          kind: 'primary',
          big: true,
          testid: 'pay',
          // doc/lane may show a blocking alert a moment before doc/basket counts it
          disabled: offline || !open || !(basket.total > 0) || basket.blocked > 0 || alerts.some((a) => a.blocking),
        }),
      ),
    ),
  );
}
