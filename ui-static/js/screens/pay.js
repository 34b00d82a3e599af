import { h, button } from '../dom.js';
import { t, money } from '../texts.js';
import { picture } from '../pictures.js';

/** The reason in the basket's notice after a failed payment ("Payment timeout: try again…"). */
function declineReason(notice) {
  return /^Payment (declined|timeout|cancelled|error)\b/.exec(notice?.text ?? '')?.[1] ?? 'declined';
}

/**
 * Pay: the simulated (or real) card terminal's states as the basket reports them.
 * What to read on the left, the terminal pictured on the right, the buttons at
 * the bottom with the primary one at the right, where the thumb is.
 */
export function payScreen(state, actions) {
  const basket = state.docs.basket;
  const offline = !state.online;
  const amount = h(
    'div',
    { class: 'pay-amount' },
    h('span', { class: 'total-label' }, t('pay.amount')),
    h('span', { class: 'total', 'data-testid': 'pay-total' }, money(basket.total, basket.currency)),
  );
  if (basket.status === 'paying') {
    return h(
      'section',
      { class: 'pay', 'data-testid': 'pay-state', 'data-state': 'waiting', 'data-payment': basket.payment ?? '' },
      h('div', { class: 'pay-info' }, h('h1', { class: 'screen-title' }, t('pay.title')), amount, h('p', { class: 'pay-instruction' }, t('pay.follow'))),
      h('div', { class: 'pay-picture terminal-waiting' }, picture('card')),
      h(
        'div',
        { class: 'pay-actions' },
        button(state.ui.cancellingPayment ? t('pay.cancelling') : t('pay.cancel'), actions.cancelPayment, {
          kind: 'ghost',
          testid: 'pay-cancel',
          disabled: offline || state.ui.cancellingPayment,
        }),
      ),
    );
  }
  const reason = declineReason(basket.notice);
  // the shopper cancelled: said plainly, not as a failure
  const cancelled = reason === 'cancelled';
  return h(
    'section',
    { class: `pay ${cancelled ? 'pay-cancelled' : 'pay-failed'}`, 'data-testid': 'pay-state', 'data-state': reason },
    h(
      'div',
      { class: 'pay-info' },
      h('h1', { class: 'screen-title' }, t('pay.title')),
      amount,
      h(
        'div',
        { class: 'pay-result' },
        h('div', { class: 'result-icon', 'aria-hidden': 'true' }, cancelled ? '–' : '×'),
        h('div', {}, h('h2', { 'data-testid': 'pay-result' }, t(`pay.${reason}`)), h('p', {}, t(`pay.${reason}.body`))),
      ),
      basket.blocked > 0 ? h('p', { class: 'notice' }, t('pay.blocked')) : null,
    ),
    h('div', { class: 'pay-picture' }, picture('card')),
    h(
      'div',
      { class: 'pay-actions' },
      button(t('pay.back'), actions.backToBasket, { testid: 'pay-back' }),
      button(t('pay.tryAgain'), actions.pay, { kind: 'primary', big: true, testid: 'pay-again', disabled: offline || basket.blocked > 0 }),
    ),
  );
}
