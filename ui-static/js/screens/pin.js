import { h, button } from '../dom.js';
import { t } from '../texts.js';

/** Attendant PIN pad: digits only, masked, no keyboard. */
export function pinScreen(state, actions) {
  const p = state.ui.pin;
  const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9'];
  return h(
    'section',
    { class: 'pin' },
    h('h1', { class: 'screen-title' }, t('pin.title')),
    h('p', {}, p.checking ? t('pin.checking') : t('pin.body')),
    h(
      'div',
      { class: 'pin-dots', 'data-testid': 'pin-dots', 'data-count': String(p.digits.length), 'aria-label': `${p.digits.length}` },
      p.digits ? '●'.repeat(p.digits.length) : '\u00a0',
    ),
    p.error ? h('p', { class: 'pin-error', role: 'alert', 'data-testid': 'pin-error' }, p.error) : null,
    h(
      'div',
      { class: 'pin-pad' },
      keys.map((k) => button(k, () => actions.pinDigit(k), { testid: `pin-${k}`, disabled: p.checking })),
      button(t('pin.clear'), actions.pinClear, { kind: 'ghost', testid: 'pin-clear', disabled: p.checking }),
      button('0', () => actions.pinDigit('0'), { testid: 'pin-0', disabled: p.checking }),
      button(t('pin.ok'), actions.pinSubmit, { kind: 'primary', testid: 'pin-ok', disabled: p.checking || !p.digits || !state.online }),
    ),
    button(t('pin.cancel'), actions.pinCancel, { kind: 'ghost', testid: 'pin-cancel' }),
  );
}
