import { h, button } from '../dom.js';
import { t, money, kilograms } from '../texts.js';

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
  const products = state.ui.produce ?? [];
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
          h('h2', {}, t('weigh.choose')),
          h(
            'div',
            { class: 'produce-grid', 'data-testid': 'produce-grid', 'data-scroll-list': true },
            products.map((p) =>
              button(
                [h('span', { class: 'produce-name' }, p.name), h('span', { class: 'produce-price' }, `${money(p.price, basket?.currency)}/kg`)],
                () => actions.pick(p.gtin),
                { testid: 'produce-item', disabled: offline, extra: { 'data-gtin': p.gtin } },
              ),
            ),
          ),
        ),
  );
}
