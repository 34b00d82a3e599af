import { h, button } from '../dom.js';
import { t } from '../texts.js';

/** Welcome / start: the lane waits for a shopper. A scan starts shopping too. */
export function welcomeScreen(state, actions) {
  const closed = state.services.basket === 'offline';
  return h(
    'section',
    { class: 'welcome' },
    h('h1', { class: 'welcome-title' }, closed ? t('welcome.closed') : t('welcome.title')),
    closed ? null : h('p', { class: 'welcome-body' }, t('welcome.body')),
    state.ui.lastCancelled ? h('p', { class: 'welcome-note', 'data-testid': 'cancelled-note' }, t('welcome.cancelled')) : null,
    closed ? null : button(t('welcome.start'), actions.start, { kind: 'primary', big: true, testid: 'start', disabled: !state.online }),
  );
}
