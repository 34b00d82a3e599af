import { h, button } from '../dom.js';
import { t } from '../texts.js';

const LETTER_ROWS = ['QWERTZUIOP', 'ASDFGHJKL', 'YXCVBNM'];

/** An on-screen keyboard for searching by name: letters, space, delete. */
export function letterPad(onKey, onDelete, disabled = false) {
  return h(
    'div',
    { class: 'letter-pad', 'data-testid': 'letter-pad' },
    LETTER_ROWS.map((row) =>
      h(
        'div',
        { class: 'pad-row' },
        [...row].map((c) => button(c, () => onKey(c), { testid: `key-${c}`, disabled })),
      ),
    ),
    h(
      'div',
      { class: 'pad-row' },
      button(t('keys.space'), () => onKey(' '), { testid: 'key-space', disabled, extra: { class: 'btn btn-secondary key-wide' } }),
      button('⌫', onDelete, { testid: 'key-delete', disabled, extra: { 'aria-label': t('keys.delete') } }),
    ),
  );
}

/** A number pad: digits, delete. */
export function numberPad(onDigit, onDelete, disabled = false) {
  return h(
    'div',
    { class: 'number-pad', 'data-testid': 'number-pad' },
    [...'123456789'].map((d) => button(d, () => onDigit(d), { testid: `digit-${d}`, disabled })),
    h('span', { class: 'pad-gap' }),
    button('0', () => onDigit('0'), { testid: 'digit-0', disabled }),
    button('⌫', onDelete, { testid: 'digit-delete', disabled, extra: { 'aria-label': t('keys.delete') } }),
  );
}
