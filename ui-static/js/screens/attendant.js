import { h, button } from '../dom.js';
import { t, has, money, timeOfDay } from '../texts.js';
import { basketLines } from './basket-lines.js';
import { staffReason, staffKind } from '../alerts.js';

function stateChip(state, testid, name) {
  const s = String(state ?? 'unknown');
  const good = s === 'ok' || s === 'online';
  const label = has(`state.${s}`) ? t(`state.${s}`) : t('state.unknown');
  return h('span', { class: `chip ${good ? 'chip-ok' : 'chip-bad'}`, 'data-testid': testid, 'data-name': name, 'data-state': s }, label);
}

/** A text in the attendant's language, or as it came (marked with its language) when there is no translation. */
function said({ text, lang }, attrs = {}) {
  return h('p', { ...attrs, ...(lang ? { lang } : {}) }, text);
}

/** What staff call a device: its kind in their language, and the lane's name for it. */
function deviceName(d) {
  return [
    has(`device.${d.kind}`) ? t(`device.${d.kind}`) : d.kind,
    h('small', { translate: 'no' }, ` ${d.name}`),
    d.simulated ? h('small', {}, ` (${t('device.simulated')})`) : null,
  ];
}

/** Attendant mode: interventions (approve / reject / approve all), void, lane and device status. */
/** doc/updater on one line: the version running and what the updater is doing, with its reason in its own words. */
function softwareLine(u) {
  if (!u) return null;
  const progress = u.state === 'downloading' && u.progress?.total ? ` ${Math.floor((100 * u.progress.bytes) / u.progress.total)} %` : '';
  return h(
    'p',
    { class: u.state === 'rolled-back' || u.state === 'failed' ? 'store-note' : 'status-plain', 'data-testid': 'updater', 'data-state': u.state },
    t('att.software', { version: u.running?.version ?? '?', state: t(`update.${u.state}`) + progress }),
    u.reason ? h('small', { class: 'status-detail', lang: 'en' }, u.reason) : null,
  );
}

/** doc/uplink on one line: whether the store gets the lane's events, and how many wait. */
function storeLinkLine(l) {
  if (!l) return null;
  return h(
    'p',
    { class: l.connected ? 'status-plain' : 'store-note', 'data-testid': 'uplink', 'data-connected': String(l.connected) },
    t(l.connected ? 'att.storeLinkUp' : 'att.storeLinkDown', { backlog: l.backlog }),
    !l.connected && l.lastError ? h('small', { class: 'status-detail', lang: 'en' }, l.lastError) : null,
  );
}

export function attendantScreen(state, actions) {
  const lane = state.docs.lane ?? { interventions: [] };
  const basket = state.docs.basket;
  const byKey = Boolean(lane.attendantMode);
  const offline = !state.online;
  const interventions = lane.interventions ?? [];
  return h(
    'section',
    { class: 'attendant' },
    h(
      'div',
      { class: 'att-head' },
      h(
        'h1',
        { class: 'screen-title' },
        t('att.title'),
        h('span', { class: 'chip chip-info', 'data-testid': 'att-method' }, byKey ? t('att.byKey') : t('att.byPin')),
      ),
      state.ui.attendant ? button(t('att.exit'), actions.exitAttendant, { kind: 'ghost', testid: 'att-exit' }) : null,
    ),
    h(
      'div',
      { class: 'att-grid' },
      h(
        'div',
        { class: 'att-panel att-interventions' },
        h('h2', {}, t('att.interventions')),
        interventions.length
          ? h(
              'ul',
              { class: 'att-list', 'data-testid': 'interventions', 'data-scroll-list': true },
              interventions.map((i) =>
                h(
                  'li',
                  { class: `att-item${i.blocking ? ' att-blocking' : ''}`, 'data-testid': 'intervention', 'data-id': i.id, 'data-kind': i.kind },
                  h(
                    'div',
                    { class: 'att-item-text' },
                    h('strong', {}, staffKind(i)),
                    i.blocking ? h('span', { class: 'chip chip-bad' }, t('att.blocking')) : null,
                    said(staffReason(i, state.docs), { 'data-testid': 'intervention-reason' }),
                  ),
                  h(
                    'div',
                    { class: 'att-item-actions' },
                    // a call for help is answered, not judged: "done"
                    i.kind === 'assistance'
                      ? button(t('att.done'), () => actions.override(i.id, 'approve'), { kind: 'primary', testid: 'done', disabled: offline })
                      : [
                          i.kind === 'weight'
                            ? null
                            : button(t('att.reject'), () => actions.override(i.id, 'reject'), { kind: 'danger', testid: 'reject', disabled: offline }),
                          button(t('att.approve'), () => actions.override(i.id, 'approve'), { kind: 'primary', testid: 'approve', disabled: offline }),
                        ],
                  ),
                ),
              ),
            )
          : h('p', { class: 'empty', 'data-testid': 'no-interventions' }, t('att.none')),
        interventions.length > 1
          ? button(t('att.overrideAll'), () => actions.override(undefined, 'approve'), { testid: 'approve-all', disabled: offline })
          : null,
      ),
      h(
        'div',
        { class: 'att-panel att-basket' },
        h('h2', {}, t('att.basket'), basket?.txn ? ` ${basket.txn}` : ''),
        basket?.txn
          ? [
              basketLines(basket, { actions, mode: 'attendant', disabled: offline || basket.status !== 'open' }),
              h('p', { class: 'att-total' }, t('scan.total'), ' ', h('strong', {}, money(basket.total, basket.currency))),
              button(t('att.void'), actions.askVoid, { kind: 'danger', testid: 'void', disabled: offline }),
            ]
          : h('p', { class: 'empty' }, t('att.noTxn')),
      ),
      h(
        'div',
        { class: 'att-panel att-status', role: 'region', tabindex: '0', 'aria-label': t('att.lane') },
        h('h2', {}, t('att.lane')),
        h('p', { 'data-testid': 'lane-state', 'data-state': lane.state ?? '' }, t('att.laneState', { state: t(`state.${lane.state ?? 'idle'}`) })),
        lane.storeClosed
          ? h(
              'p',
              { class: 'store-note', 'data-testid': 'store-closed' },
              t('att.storeClosed', { by: lane.storeClosed.by }),
              lane.storeClosed.reason ? h('small', { class: 'status-detail' }, lane.storeClosed.reason) : null,
            )
          : null,
        lane.storeMessages?.length
          ? [
              h('h2', {}, t('att.storeMessages')),
              h(
                'ul',
                { class: 'status-list store-messages', 'data-testid': 'store-messages' },
                lane.storeMessages.map((m) =>
                  h('li', {}, h('span', { class: 'status-name' }, m.text), h('small', {}, t('att.storeMessageFrom', { by: m.by, time: timeOfDay(m.time) }))),
                ),
              ),
            ]
          : null,
        softwareLine(state.docs.updater),
        storeLinkLine(state.docs.uplink),
        h('h2', {}, t('att.devices')),
        h(
          'ul',
          { class: 'status-list', 'data-testid': 'devices' },
          (state.docs.devices?.devices ?? []).map((d) =>
            h(
              'li',
              {},
              h('span', { class: 'status-name' }, deviceName(d)),
              stateChip(d.state, 'device', d.name),
              // the driver's own words, for the technician
              d.detail ? h('small', { class: 'status-detail', lang: 'en' }, d.detail) : null,
            ),
          ),
        ),
        h('h2', {}, t('att.services')),
        h(
          'ul',
          { class: 'status-list', 'data-testid': 'services' },
          Object.entries(state.services)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([name, s]) =>
              h('li', {}, h('span', { class: 'status-name' }, has(`service.${name}`) ? t(`service.${name}`) : name), stateChip(s, 'service', name)),
            ),
        ),
      ),
    ),
  );
}
