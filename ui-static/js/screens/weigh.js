import { h, button } from '../dom.js';
import { t, kilograms } from '../texts.js';
import { productButton } from './lookup.js';
import { letterPad } from './keypads.js';

const PRODUCE_SCALES = new Set(['magellan', 'toledo8217']);

/** The produce scales of doc/devices, the one with a reading first. */
function produceScale(devices) {
  const scales = (devices?.devices ?? []).filter((d) => PRODUCE_SCALES.has(d.kind));
  const working = scales.filter((d) => d.state === 'ok' || d.state === 'degraded');
  return working.find((d) => typeof d.lastReading?.grams === 'number') ?? working[0];
}

/**
 * A weight is stable only when the scale said so with it: a reading without a
 * state, or a state without grams, is not one (the driver reports zero and
 * motion as such, never a remembered weight).
 */
export function readingIsStable(reading) {
  return Boolean(reading) && reading.state === 'stable' && typeof reading.grams === 'number' && reading.grams > 0;
}

/** The product the basket's weigh notice asks for. */
function weighName(notice) {
  return notice?.name;
}

/** Weigh produce: live weight, stable indicator, pick the item. */
export function weighScreen(state, actions) {
  const basket = state.docs.basket;
  const notice = basket?.notice?.code === 'weigh' ? basket.notice : undefined;
  const scale = produceScale(state.docs.devices);
  const reading = scale?.lastReading;
  const grams = typeof reading?.grams === 'number' ? reading.grams : 0;
  const stable = readingIsStable(reading);
  // nothing read yet, or the scale says zero: the platter is empty
  const empty = !reading || reading.state === 'zero';
  const name = notice ? weighName(notice) : undefined;
  // most used first, as the catalog lists them; the search keeps those whose name has every word typed
  const words = state.ui.produceQuery.toLowerCase().split(/\s+/).filter(Boolean);
  const products = (state.ui.produce ?? []).filter((p) => words.every((w) => p.name.toLowerCase().includes(w)));
  const offline = !state.online;
  return h(
    'section',
    { class: notice ? 'weigh weigh-single' : 'weigh' },
    h(
      'div',
      { class: 'weigh-scale' },
      h('h1', { class: 'screen-title' }, t('weigh.title')),
      h(
        'p',
        { class: 'weigh-instruction', 'data-testid': 'weigh-instruction' },
        notice ? (name ? t('weigh.place', { name }) : t('weigh.placeAny')) : t('weigh.pick'),
      ),
      scale
        ? h(
            'div',
            { class: 'scale-readout', 'data-testid': 'scale', 'data-grams': String(grams), 'data-stable': String(Boolean(stable)) },
            h('span', { class: 'scale-label' }, t('weigh.weight')),
            h('span', { class: 'scale-weight' }, `${kilograms(grams)} kg`),
            h(
              'span',
              { class: `scale-state ${stable ? 'is-stable' : 'is-unstable'}`, 'data-testid': 'scale-state' },
              stable ? `● ${t('weigh.stable')}` : empty ? t('weigh.empty') : `○ ${t('weigh.unstable')}`,
            ),
          )
        : h('p', { class: 'notice', 'data-testid': 'no-scale' }, t('weigh.noScale')),
      button(t('weigh.back'), actions.backToBasket, { testid: 'weigh-back' }),
    ),
    notice
      ? null
      : h(
          'div',
          { class: 'weigh-pick' },
          h(
            'div',
            { class: 'weigh-pick-head' },
            h('h2', {}, t('weigh.choose')),
            h('output', { class: 'lookup-entry', 'data-testid': 'produce-query', 'aria-label': t('lookup.search') }, state.ui.produceQuery || '\u00a0'),
            button(t('produce.search'), actions.produceKeys, {
              testid: 'produce-search',
              kind: state.ui.produceKeys ? 'primary' : 'secondary',
              extra: { 'aria-pressed': String(state.ui.produceKeys) },
            }),
          ),
          h(
            'div',
            { class: 'product-grid produce-grid', 'data-testid': 'produce-grid', 'data-scroll-list': true },
            state.ui.produce && products.length === 0 ? h('p', { class: 'empty' }, t('lookup.none')) : null,
            products.map((p) => productButton(p, basket?.currency, () => actions.pick(p.gtin), { testid: 'produce-item', disabled: offline })),
          ),
          state.ui.produceKeys ? letterPad(actions.produceLetter, actions.produceDelete, offline) : null,
        ),
  );
}
