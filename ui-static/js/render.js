// Which screen the shopper sees, decided from the documents and the local UI
// state alone, then drawn whole (a basket of a few hundred lines draws in a few
// milliseconds; nothing on screen can drift from doc/basket).

import { h, button } from './dom.js';
import { t, money } from './texts.js';
import { currentAlerts } from './alerts.js';
import { picture } from './pictures.js';
import { cue } from './sound.js';
import { welcomeScreen } from './screens/welcome.js';
import { scanScreen } from './screens/scan.js';
import { weighScreen } from './screens/weigh.js';
import { payScreen } from './screens/pay.js';
import { receiptScreen } from './screens/receipt.js';
import { pinScreen } from './screens/pin.js';
import { attendantScreen } from './screens/attendant.js';
import { updatingScreen } from './screens/updating.js';

export function screenOf(state) {
  const { ui, docs } = state;
  const basket = docs.basket;
  // the key switch always wins, whatever was left on the PIN pad
  if (ui.attendant || docs.lane?.attendantMode) return 'attendant';
  if (ui.pin) return 'pin';
  if (ui.receipt && (!basket || basket.status === 'idle')) return 'receipt';
  if (!basket) return 'welcome';
  // the lane is being updated (doc/lane `updating`): no new shopper; one mid-transaction finishes
  if (docs.lane?.updating && !(basket.txn && (basket.status === 'open' || basket.status === 'paying'))) return 'updating';
  // a device the lane needs is missing: no new shopper (one mid-transaction sees the alert)
  if (docs.lane?.closed && !(basket.txn && (basket.status === 'open' || basket.status === 'paying'))) return 'welcome';
  if (basket.status === 'paying') return 'pay';
  if (basket.status === 'open') {
    if (ui.payRequested && basket.notice?.code === 'declined') return 'pay';
    if ((basket.notice?.code === 'weigh' && ui.skipWeigh !== basket.notice.text) || ui.weighPick) return 'weigh';
    return 'scan';
  }
  // the produce picker before the first scan: the pick opens the transaction
  if (ui.started && ui.weighPick) return 'weigh';
  return ui.started ? 'scan' : 'welcome';
}

const SCREENS = {
  welcome: welcomeScreen,
  scan: scanScreen,
  weigh: weighScreen,
  pay: payScreen,
  receipt: receiptScreen,
  pin: pinScreen,
  attendant: attendantScreen,
  updating: updatingScreen,
};

/** Screens of the shopper's own: "Call an attendant" is on each (staff are there on the others). */
const HELP_ON = new Set(['welcome', 'scan', 'weigh', 'pay', 'receipt', 'updating']);

function topbar(state, actions, screen) {
  const lane = state.docs.basket?.lane ?? state.docs.lane?.lane ?? '';
  const called = currentAlerts(state.docs).some((a) => a.kind === 'assistance');
  return h(
    'header',
    { class: 'topbar' },
    h('div', { class: 'topbar-title' }, t('lane.title'), lane ? h('span', { class: 'lane-id' }, ` · ${lane}`) : null),
    h(
      'div',
      { class: 'topbar-actions' },
      // one call at a time: while an attendant is on the way the alert or notice says so
      HELP_ON.has(screen)
        ? button(called ? t('help.called') : t('scan.help'), actions.callAttendant, {
            kind: 'help',
            testid: 'help',
            disabled: !state.online || called,
          })
        : null,
      button(t('lang.other'), actions.toggleLanguage, { kind: 'ghost', testid: 'language', extra: { lang: t('lang.code.other') } }),
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
      'data-testid': down ? 'offline-banner' : 'sync-banner',
    },
    h('strong', {}, down ? t('offline.title') : t('resync')),
    down ? h('span', {}, ` ${t('offline.body')}`) : null,
  );
}

/** Alerts the shopper clears alone (the bagging area), or whose title already asks to wait. */
const NO_WAIT_LINE = new Set(['unexpected-item', 'removed-item', 'not-bagged', 'unbag', 'removal', 'device']);

function alertOverlay(state, screen) {
  if (!alertOverlayShown(state, screen)) return null;
  const blocking = currentAlerts(state.docs).filter((a) => a.blocking);
  // one at a time, the oldest first; the others wait, counted
  const a = blocking[0];
  const waiting = blocking.length - 1;
  return h(
    'div',
    { class: 'overlay', 'data-testid': 'alert-overlay' },
    h(
      'div',
      {
        class: `alert alert-${a.kind}`,
        role: 'alertdialog',
        'aria-modal': 'true',
        'aria-labelledby': 'alert-title',
        'aria-describedby': 'alert-body',
        'data-testid': 'alert',
        'data-kind': a.kind,
        'data-intervention': a.id,
      },
      picture(a.picture),
      h(
        'div',
        { class: 'alert-text' },
        h('h2', { id: 'alert-title' }, a.title),
        a.name ? h('p', { class: 'alert-item', 'data-testid': 'alert-item' }, a.name) : null,
        h('p', { id: 'alert-body' }, a.body),
        !a.name && a.last ? h('p', { class: 'alert-last', 'data-testid': 'alert-item' }, t('alert.lastScanned', { name: a.last })) : null,
        NO_WAIT_LINE.has(a.kind) ? null : h('p', { class: 'alert-wait' }, t('alert.wait')),
        waiting > 0
          ? h(
              'p',
              { class: 'alert-more', 'data-testid': 'alert-more', 'data-count': String(waiting) },
              waiting === 1 ? t('alert.moreOne') : t('alert.more', { n: waiting }),
            )
          : null,
      ),
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
        { class: 'dialog', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'dialog-title', 'data-testid': 'remove-dialog' },
        h('h2', { id: 'dialog-title' }, t('remove.title')),
        h('p', {}, t('remove.body', { name: l.name })),
        h(
          'div',
          { class: 'dialog-actions' },
          button(t('remove.no'), actions.closeDialog, { testid: 'remove-no' }),
          button(t('remove.yes'), actions.confirmRemove, { kind: 'danger', testid: 'remove-yes' }),
        ),
      ),
    );
  }
  if (ui.confirm) {
    return h(
      'div',
      { class: 'overlay' },
      h(
        'div',
        { class: 'dialog', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'dialog-title', 'data-testid': 'confirm-dialog' },
        h('p', { id: 'dialog-title' }, ui.confirm.text),
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
    { class: `toast toast-${m.kind}`, 'data-testid': 'message' },
    h('span', {}, m.text),
    button(t('ok'), actions.dismissMessage, { kind: 'ghost', testid: 'message-ok' }),
  );
}

let lastScreen;
/** What the live regions last said, so each says only what changed. */
const told = { txn: undefined, items: 0, synced: false, alert: undefined, message: undefined, offline: false, everOnline: false };

function speak(id, text) {
  const el = document.getElementById(id);
  if (el && el.textContent !== text) el.textContent = text;
}

/**
 * The live regions (outside #app, which is drawn whole): the newest line and the
 * total when a scan adds one, the alert when a new one covers the screen, a
 * message, the connection lost. With the sound cue for a scan and an alert.
 */
function announce(state, screen) {
  const basket = state.docs.basket;
  // an item more than the screen last drew (not a restored basket, not a removal)
  const items = basket?.txn ? (basket.items ?? 0) : 0;
  const more = told.synced && items > (basket?.txn === told.txn ? told.items : 0);
  told.txn = basket?.txn;
  told.items = items;
  told.synced = state.synced;
  const last = basket?.lines?.at(-1);
  if (more && last) {
    speak('live-status', `${last.name}, ${money(last.price, basket.currency)}. ${t('scan.total')} ${money(basket.total, basket.currency)}`);
    cue('scan');
  }
  const top = alertOverlayShown(state, screen);
  if (top?.id !== told.alert) {
    told.alert = top?.id;
    if (top) {
      speak('live-alert', `${top.title}. ${top.name ? `${top.name}. ` : ''}${top.body}`);
      cue('alert');
    } else speak('live-alert', '');
  }
  const m = state.ui.message?.text;
  if (m !== told.message) {
    told.message = m;
    if (m) speak('live-status', m);
  }
  if (state.online) told.everOnline = true;
  const offline = !state.online && Boolean(told.everOnline);
  if (offline !== told.offline) {
    told.offline = offline;
    if (offline) speak('live-alert', t('offline.title'));
  }
}

function alertOverlayShown(state, screen) {
  if (screen === 'attendant' || screen === 'pin' || screen === 'receipt' || screen === 'welcome' || screen === 'updating') return undefined;
  return currentAlerts(state.docs).find((a) => a.blocking);
}

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
    alertOverlay(state, screen) ?? '',
    dialog(state, actions) ?? '',
    toast(state, actions) ?? '',
  );
  document.body.dataset.view = screen;
  document.documentElement.classList.toggle('access', Boolean(state.ui.access));
  announce(state, screen);

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
