import { h } from '../dom.js';
import { t } from '../texts.js';
import { picture } from '../pictures.js';

/** The lane is being updated (doc/lane `updating`): shoppers are sent to another lane. */
export function updatingScreen() {
  return h(
    'section',
    { class: 'welcome', 'data-testid': 'lane-updating' },
    picture('wait'),
    h('h1', { class: 'welcome-title' }, t('updating.title')),
    h('p', { class: 'welcome-body' }, t('updating.body')),
  );
}
