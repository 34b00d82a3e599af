// Which screen the shopper sees, decided from the documents and the local UI
// state alone, then drawn whole (a basket of a few hundred lines draws in a few
// milliseconds; nothing on screen can drift from doc/basket).

import { h, button } from './dom.js';
import { t, money } from './texts.js';
import { currentAlerts } from './alerts.js';
import { welcomeScreen } from './screens/welcome.js';
import { scanScreen } from './screens/scan.js';
import { weighScreen } from './screens/weigh.js';
import { payScreen } from './screens/pay.js';
import { receiptScreen } from './screens/receipt.js';
import { pinScreen } from './screens/pin.js';
import { attendantScreen } from './screens/attendant.js';
import { lookupScreen } from './screens/lookup.js';

export function screenOf(state) {
  const { ui, docs } = state;
  const basket = docs.basket;
  // the key switch always wins, whatever was left on the PIN pad
  if (ui.attendant || docs.lane?.attendantMode) return 'attendant';
  if (ui.pin) return 'pin';
  if (ui.receipt && (!basket || basket.status === 'idle')) return 'receipt';
  if (!basket) return 'welcome';
  // a device the lane needs is missing: no new shopper (one mid-transaction sees the alert)
  if (docs.lane?.closed && !(basket.txn && (basket.status === 'open' || basket.status === 'paying'))) return 'welcome';
  if (basket.status === 'paying') return 'pay';
  if (basket.status === 'open') {
    if (ui.payRequested && basket.notice?.code === 'declined') return 'pay';
    if ((basket.notice?.code === 'weigh' && ui.skipWeigh !== basket.notice.text) || ui.weighPick) return 'weigh';
    return ui.lookup ? 'lookup' : 'scan';
  }
  if (!ui.started) return 'welcome';
  return ui.weighPick ? 'weigh' : ui.lookup ? 'lookup' : 'scan';
}

const SCREENS = {
  welcome: welcomeScreen,
  scan: scanScreen,
  weigh: weighScreen,
  pay: payScreen,
  receipt: receiptScreen,
  pin: pinScreen,
  attendant: attendantScreen,
  lookup: lookupScreen,
};

/** Screens of staff, or without a shopper: no call button, no running total. */
const NOT_SHOPPING = new Set(['attendant', 'pin']);

/** A call for help is open: the button says so instead of calling again. */
function helpCalled(state) {
  return currentAlerts(state.docs).some((a) => a.kind === 'assistance');
}

/** "Call an attendant", on every shopper screen and over alerts. */
function helpButton(state, actions, testid) {
  const called = helpCalled(state);
  return button(called ? t('help.called') : t('scan.help'), actions.callAttendant, {
    kind: 'ghost',
    testid,
    disabled: !state.online || called,
    extra: { 'data-called': String(called) },
  });
}

/** The running total and item count, whenever a transaction is open. */
function runningTotal(state) {
  const b = state.docs.basket;
  if (!b?.txn || (b.status !== 'open' && b.status !== 'paying')) return null;
  return h(
    'div',
    { class: 'topbar-total', 'data-testid': 'topbar-total', 'data-total': String(b.total ?? 0), 'data-items': String(b.items ?? 0) },
    h('span', { class: 'topbar-count' }, b.items === 1 ? t('scan.item') : t('scan.items', { n: b.items ?? 0 })),
    h('strong', {}, money(b.total ?? 0, b.currency)),
  );
}

function topbar(state, actions, screen) {
  const lane = state.docs.basket?.lane ?? state.docs.lane?.lane ?? '';
  return h(
    'header',
    { class: 'topbar' },
    h('div', { class: 'topbar-title' }, t('lane.title'), lane ? h('span', { class: 'lane-id' }, ` · ${lane}`) : null),
    NOT_SHOPPING.has(screen) ? null : runningTotal(state),
    h(
      'div',
      { class: 'topbar-actions' },
      NOT_SHOPPING.has(screen) ? null : helpButton(state, actions, 'help'),
      button(t('lang.other'), actions.toggleLanguage, { kind: 'ghost', testid: 'language', extra: { lang: t('lang.other') === 'Deutsch' ? 'de' : 'en' } }),
      screen === 'attendant' || screen === 'pin' ? null : button(t('staff'), actions.openPin, { kind: 'ghost', testid: 'staff' }),
    ),
  );
}

function offlineBanner(state) {
  if (state.online && state.synced) return null;
  const down = !state.online;
  return h(
    'div',
    {
      id: 'offline-banner',
      class: down ? 'banner banner-offline' : 'banner banner-sync',
      role: 'alert',
      'data-testid': down ? 'offline-banner' : 'sync-banner',
    },
    h('strong', {}, down ? t('offline.title') : t('resync')),
    down ? h('span', {}, ` ${t('offline.body')}`) : null,
  );
}

/** Alerts the shopper clears alone (the bagging area), or whose title already asks to wait. */
const NO_WAIT_LINE = new Set(['unexpected-item', 'removed-item', 'not-bagged', 'unbag', 'removal', 'device']);

function alertOverlay(state, actions, screen) {
  if (screen === 'attendant' || screen === 'pin' || screen === 'receipt' || screen === 'welcome') return null;
  const alerts = currentAlerts(state.docs);
  const blocking = alerts.filter((a) => a.blocking);
  if (blocking.length === 0) return null;
  const a = blocking[0];
  return h(
    'div',
    { class: 'overlay', 'data-testid': 'alert-overlay' },
    h(
      'div',
      { class: `alert alert-${a.kind}`, role: 'alertdialog', 'aria-live': 'assertive', 'data-testid': 'alert', 'data-kind': a.kind, 'data-intervention': a.id },
      h('div', { class: 'alert-icon', 'aria-hidden': 'true' }, '!'),
      h('h2', {}, a.title),
      h('p', {}, a.body),
      NO_WAIT_LINE.has(a.kind) ? null : h('p', { class: 'alert-wait' }, t('alert.wait')),
      blocking.length > 1 ? h('p', { class: 'alert-more' }, `+${blocking.length - 1}`) : null,
      h('div', { class: 'alert-actions' }, helpButton(state, actions, 'alert-help')),
    ),
  );
}

function dialog(state, actions) {
  const { ui, docs } = state;
  if (ui.removeLine) {
    const l = docs.basket?.lines?.find((x) => x.line === ui.removeLine);
    if (!l) return null;
    return h(
      'div',
      { class: 'overlay' },
      h(
        'div',
        { class: 'dialog', role: 'dialog', 'data-testid': 'remove-dialog' },
        h('h2', {}, t('remove.title')),
        h('p', {}, t('remove.bodyNow', { name: l.name })),
        h(
          'div',
          { class: 'dialog-actions' },
          button(t('remove.no'), actions.closeDialog, { testid: 'remove-no' }),
          button(t('remove.yes'), actions.confirmRemove, { kind: 'danger', testid: 'remove-yes' }),
        ),
      ),
    );
  }
  if (ui.idleWarning !== undefined) {
    return h(
      'div',
      { class: 'overlay' },
      h(
        'div',
        { class: 'dialog', role: 'alertdialog', 'data-testid': 'idle-warning' },
        h('h2', {}, t('idle.title')),
        h('p', {}, t('idle.body', { n: ui.idleWarning })),
        h('div', { class: 'dialog-actions' }, button(t('idle.stay'), actions.stillHere, { kind: 'primary', testid: 'idle-stay' })),
      ),
    );
  }
  if (ui.confirm) {
    return h(
      'div',
      { class: 'overlay' },
      h(
        'div',
        { class: 'dialog', role: 'dialog', 'data-testid': 'confirm-dialog' },
        h('p', {}, ui.confirm.text),
        h(
          'div',
          { class: 'dialog-actions' },
          button(t('no'), actions.closeDialog, { testid: 'confirm-no' }),
          button(t('yes'), actions.confirmYes, { kind: 'danger', testid: 'confirm-yes' }),
        ),
      ),
    );
  }
  return null;
}

function toast(state, actions) {
  const m = state.ui.message;
  if (!m) return null;
  return h(
    'div',
    { class: `toast toast-${m.kind}`, role: 'status', 'data-testid': 'message' },
    h('span', {}, m.text),
    button(t('ok'), actions.dismissMessage, { kind: 'ghost', testid: 'message-ok' }),
  );
}

let lastScreen;

export function renderApp(state, actions) {
  const root = document.getElementById('app');
  const screen = screenOf(state);
  // keep the basket list where the shopper left it, or at the newest line
  const list = root.querySelector('[data-scroll-keep]');
  // a scroll not applied yet (two renders in one frame) is still the one to keep
  const pendingTop = list?.dataset.scrollTo;
  const kept = list
    ? pendingTop !== undefined
      ? { key: list.dataset.scrollKeep, top: pendingTop === 'end' ? 0 : Number(pendingTop), atEnd: pendingTop === 'end', count: list.childElementCount }
      : { key: list.dataset.scrollKeep, top: list.scrollTop, atEnd: list.scrollTop + list.clientHeight >= list.scrollHeight - 4, count: list.childElementCount }
    : undefined;

  const body = SCREENS[screen](state, actions);
  const main = h('main', { id: 'screen', class: `screen screen-${screen}`, 'data-screen': screen, 'data-online': String(state.online) }, body);
  root.replaceChildren(
    topbar(state, actions, screen),
    offlineBanner(state) ?? '',
    main,
    alertOverlay(state, actions, screen) ?? '',
    dialog(state, actions) ?? '',
    toast(state, actions) ?? '',
  );
  document.body.dataset.view = screen;

  const next = root.querySelector('[data-scroll-keep]');
  if (next) {
    // in the next frame, whose layout the scroll then shares (setting it now would force one more)
    const top = kept && kept.key === next.dataset.scrollKeep && !(kept.atEnd || next.childElementCount > kept.count) ? kept.top : undefined;
    next.dataset.scrollTo = top === undefined ? 'end' : String(top);
    requestAnimationFrame(() => {
      if (!next.isConnected || next.dataset.scrollTo === undefined) return;
      next.scrollTop = next.dataset.scrollTo === 'end' ? next.scrollHeight : Number(next.dataset.scrollTo);
      delete next.dataset.scrollTo;
    });
  }
  if (screen !== lastScreen) {
    lastScreen = screen;
    if (state.ui.message && state.ui.message.kind !== 'error') state.ui.message = undefined;
  }
}
