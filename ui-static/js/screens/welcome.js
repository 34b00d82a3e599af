import { h, button } from '../dom.js';
import { t } from '../texts.js';

/** Welcome / start: the lane waits for a shopper. A scan starts shopping too. */
export function welcomeScreen(state, actions) {
  // the basket service is down, or a device the lane needs is missing (doc/lane)
  const closed = state.services.basket === 'offline' || Boolean(state.docs.lane?.closed);
  return h(
    'section',
    { class: 'welcome', ...(closed ? { 'data-testid': 'lane-closed' } : {}) },
    h('h1', { class: 'welcome-title' }, closed ? t('welcome.closed') : t('welcome.title')),
    h('p', { class: 'welcome-body' }, closed ? t('welcome.closedBody') : t('welcome.body')),
    state.ui.lastCancelled ? h('p', { class: 'welcome-note', 'data-testid': 'cancelled-note' }, t('welcome.cancelled')) : null,
    closed
      ? null
      : h(
          'div',
          { class: 'welcome-actions' },
          button(t('access.toggle'), actions.toggleAccess, {
            kind: 'ghost',
            testid: 'access',
            extra: { 'aria-pressed': String(Boolean(state.ui.access)) },
          }),
          button(t('welcome.start'), actions.start, { kind: 'primary', big: true, testid: 'start', disabled: !state.online }),
        ),
  );
}
