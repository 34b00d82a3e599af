import { h, button } from '../dom.js';
import { t, money } from '../texts.js';

/** The reason in the basket's notice after a failed payment ("Payment timeout: try again…"). */
function declineReason(notice) {
  return /^Payment (declined|timeout|cancelled|error)\b/.exec(notice?.text ?? '')?.[1] ?? 'declined';
}

/** Pay: the simulated (or real) card terminal's states as the basket reports them. */
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
      h('h1', { class: 'screen-title' }, t('pay.title')),
      amount,
      h(
        'div',
        { class: 'terminal', 'aria-hidden': 'true' },
        h('div', { class: 'terminal-screen' }, h('span', { class: 'terminal-dots' }, '• • •')),
        h('div', { class: 'terminal-keys' }),
      ),
      h('p', { class: 'pay-instruction' }, t('pay.follow')),
      button(state.ui.cancellingPayment ? t('pay.cancelling') : t('pay.cancel'), actions.cancelPayment, {
        kind: 'ghost',
        testid: 'pay-cancel',
        disabled: offline || state.ui.cancellingPayment,
      }),
    );
  }
  const reason = declineReason(basket.notice);
  return h(
    'section',
    { class: 'pay pay-failed', 'data-testid': 'pay-state', 'data-state': reason },
    h('h1', { class: 'screen-title' }, t('pay.title')),
    amount,
    h('div', { class: 'pay-result', role: 'alert' }, h('div', { class: 'alert-icon', 'aria-hidden': 'true' }, '×'), h('h2', {}, t(`pay.${reason}`))),
    h(
      'div',
      { class: 'pay-actions' },
      button(t('pay.back'), actions.backToBasket, { testid: 'pay-back' }),
      button(t('pay.tryAgain'), actions.pay, { kind: 'primary', big: true, testid: 'pay-again', disabled: offline || basket.blocked > 0 }),
    ),
    basket.blocked > 0 ? h('p', { class: 'notice' }, t('pay.blocked')) : null,
  );
}
