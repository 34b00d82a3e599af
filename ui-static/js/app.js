// The touch UI's state and actions. Documents from the lane are the only
// source of what the shopper sees; `ui` holds what is local to this screen
// (which page the shopper asked for, a dialog, the attendant's session).

import { LaneLink, CommandFailed } from './connection.js';
import { setLanguage, otherLanguage, language, t } from './texts.js';
import { renderApp, screenOf } from './render.js';
import { startKiosk } from './kiosk.js';
import { BasketView } from './basket-view.js';
import { played } from './sound.js';

const ATTENDANT_IDLE_MS = 120_000;
/** The lane's language: `?lang=de` in the kiosk's URL, else English. */
const DEFAULT_LANGUAGE = new URLSearchParams(location.search).get('lang') ?? 'en';
const RECEIPT_SHOW_MS = 60_000;

export const state = {
  online: false,
  /** Set after a (re)connection once doc/basket has arrived again. */
  synced: false,
  docs: {},
  services: {},
  ui: {
    started: false,
    payRequested: false,
    cancellingPayment: false,
    receipt: undefined, // { txn, lines, total, currency, authCode? }
    dismissedReceipt: undefined,
    lastCancelled: undefined,
    confirm: undefined, // { text, yes, onYes }
    removeLine: undefined,
    message: undefined, // { text, kind }
    pin: undefined, // { digits, error, checking }
    attendant: undefined, // { pin, since }
    weighPick: false,
    produce: undefined,
    access: false, // large text and high contrast, from the welcome screen
    shopperLanguage: undefined, // the shopper's language while staff use the screen
  },
};

const link = new LaneLink();
/** doc/basket and its pages of lines, put together. */
let basketView = new BasketView();
let renderQueued = false;
/** The last renders' durations in ms (the bench reads them). */
const renderTimes = [];

export function update() {
  if (renderQueued) return;
  renderQueued = true;
  queueMicrotask(() => {
    renderQueued = false;
    const t0 = performance.now();
    staffLanguage(screenOf(state));
    renderApp(state, actions);
    renderTimes.push(performance.now() - t0);
    if (renderTimes.length > 500) renderTimes.shift();
  });
}

/**
 * Staff read the lane's language (the kiosk's `?lang`) whatever the shopper
 * chose, and may switch it; the shopper's comes back when staff leave.
 */
function staffLanguage(screen) {
  const staff = screen === 'attendant' || screen === 'pin';
  if (staff && state.ui.shopperLanguage === undefined) {
    state.ui.shopperLanguage = language();
    setLanguage(DEFAULT_LANGUAGE);
  } else if (!staff && state.ui.shopperLanguage !== undefined) {
    setLanguage(state.ui.shopperLanguage);
    state.ui.shopperLanguage = undefined;
  }
}

function say(text, kind = 'error') {
  state.ui.message = { text, kind };
  update();
}

function failure(err) {
  if (err instanceof CommandFailed) {
    if (err.code === 'offline') return t('error.offline');
    if (err.code === 'timeout') return t('error.timeout');
  }
  return t('error.command', { reason: err.message });
}

async function send(service, name, args, by) {
  try {
    return await link.command(service, name, args, by);
  } catch (err) {
    say(failure(err));
    throw err;
  }
}

const quiet = (p) => p.catch(() => undefined);

let attendantTimer;
function touchAttendant() {
  clearTimeout(attendantTimer);
  if (!state.ui.attendant) return;
  attendantTimer = setTimeout(() => {
    state.ui.attendant = undefined;
    update();
  }, ATTENDANT_IDLE_MS);
}

let receiptTimer;

export const actions = {
  toggleLanguage() {
    setLanguage(otherLanguage());
    update();
  },
  toggleAccess() {
    state.ui.access = !state.ui.access;
    update();
  },
  start() {
    state.ui.started = true;
    state.ui.lastCancelled = undefined;
    update();
  },
  dismissMessage() {
    state.ui.message = undefined;
    update();
  },
  askRemove(line) {
    state.ui.removeLine = line;
    update();
  },
  closeDialog() {
    state.ui.removeLine = undefined;
    state.ui.confirm = undefined;
    update();
  },
  confirmRemove() {
    const line = state.ui.removeLine;
    state.ui.removeLine = undefined;
    update();
    if (line) quiet(send('basket', 'RemoveItem', { line }));
  },
  addOne(line) {
    const l = state.docs.basket?.lines?.find((x) => x.line === line);
    if (l) quiet(send('basket', 'ChangeQuantity', { line, quantity: l.quantity + 1 }));
  },
  askCancel() {
    state.ui.confirm = {
      text: t('scan.cancelConfirm'),
      onYes: () => quiet(send('basket', 'Cancel', { reason: 'cancelled by the shopper' })),
    };
    update();
  },
  confirmYes() {
    const c = state.ui.confirm;
    state.ui.confirm = undefined;
    update();
    c?.onYes();
  },
  callAttendant() {
    quiet(send('attendant', 'Call', {}));
  },
  pay() {
    state.ui.payRequested = true;
    state.ui.cancellingPayment = false;
    update();
    send('basket', 'Pay').catch(() => {
      state.ui.payRequested = false;
      update();
    });
  },
  cancelPayment() {
    const payment = state.docs.basket?.payment;
    state.ui.cancellingPayment = true;
    update();
    send('payment', 'Cancel', payment ? { payment } : {}).catch(() => {
      state.ui.cancellingPayment = false;
      update();
    });
  },
  backToBasket() {
    state.ui.payRequested = false;
    state.ui.weighPick = false;
    const n = state.docs.basket?.notice;
    if (n?.code === 'weigh') state.ui.skipWeigh = n.text; // until the basket asks for another weight
    update();
  },
  openProduce() {
    state.ui.weighPick = true;
    update();
    send('catalog', 'Produce')
      .then((r) => {
        state.ui.produce = r.products;
        update();
      })
      .catch(() => undefined);
  },
  pick(gtin) {
    send('catalog', 'Pick', { gtin })
      .then(() => {
        state.ui.weighPick = false;
        update();
      })
      .catch(() => undefined);
  },
  finishReceipt() {
    clearTimeout(receiptTimer);
    state.ui.dismissedReceipt = state.ui.receipt?.txn;
    state.ui.receipt = undefined;
    state.ui.started = false;
    state.ui.access = false;
    setLanguage(DEFAULT_LANGUAGE); // the next shopper starts in the lane's language
    update();
  },

  // ---- attendant ----
  openPin() {
    state.ui.pin = { digits: '', error: undefined, checking: false };
    update();
  },
  pinDigit(d) {
    const p = state.ui.pin;
    if (!p || p.checking || p.digits.length >= 12) return;
    p.digits += d;
    p.error = undefined;
    update();
  },
  pinClear() {
    if (!state.ui.pin) return;
    state.ui.pin.digits = '';
    update();
  },
  pinCancel() {
    state.ui.pin = undefined;
    update();
  },
  /**
   * cmd/attendant/CheckPin: the service checks the PIN as for an override (a wrong
   * one counts toward the lockout) and overrides nothing. The PIN is kept for the
   * overrides of this attendant session, each checked again by the service.
   */
  async pinSubmit() {
    const p = state.ui.pin;
    if (!p || p.checking || !p.digits) return;
    p.checking = true;
    update();
    try {
      await link.command('attendant', 'CheckPin', { pin: p.digits, by: 'attendant' }, 'attendant');
      enterAttendant(p.digits);
    } catch (err) {
      const msg = String(err.message);
      p.checking = false;
      p.digits = '';
      const tries = /^wrong PIN \((\d+) more/.exec(msg);
      if (tries) p.error = t('pin.wrongTries', { n: tries[1] });
      else if (/locked for (?:another )?.*\((\d+) s\)/i.test(msg)) {
        const s = Number(/\((\d+) s\)/.exec(msg)[1]);
        p.error = t('pin.lockedFor', { min: Math.max(1, Math.ceil(s / 60)) });
      } else if (/locked/i.test(msg)) p.error = t('pin.locked');
      else if (/no attendant PIN/i.test(msg)) p.error = t('pin.none');
      else p.error = failure(err);
      update();
    }
  },
  exitAttendant() {
    state.ui.attendant = undefined;
    clearTimeout(attendantTimer);
    update();
  },
  override(intervention, action) {
    touchAttendant();
    const pin = state.ui.attendant?.pin;
    quiet(send('attendant', 'Override', { ...(intervention ? { intervention } : {}), action, ...(pin ? { pin } : {}), by: 'attendant' }, 'attendant'));
  },
  voidLine(line) {
    touchAttendant();
    quiet(send('basket', 'RemoveItem', { line }, 'attendant'));
  },
  askVoid() {
    touchAttendant();
    state.ui.confirm = {
      text: t('att.voidConfirm'),
      onYes: async () => {
        const b = state.docs.basket;
        if (b?.status === 'paying') await quiet(send('payment', 'Cancel', b.payment ? { payment: b.payment } : {}, 'attendant'));
        else quiet(send('basket', 'Cancel', { reason: 'voided by an attendant' }, 'attendant'));
      },
    };
    update();
  },
};

function enterAttendant(pin) {
  state.ui.pin = undefined;
  state.ui.attendant = { pin, since: Date.now() };
  touchAttendant();
  update();
}

/** A transaction ended: remember what the shopper bought for the receipt. */
function onBasket(next) {
  const prev = state.docs.basket;
  state.docs.basket = next;
  if (next.notice?.code !== 'weigh') state.ui.skipWeigh = undefined;
  if (next.status === 'idle' && prev && prev.txn && next.last?.txn === prev.txn) {
    state.ui.payRequested = false;
    state.ui.cancellingPayment = false;
    state.ui.weighPick = false;
    if (next.last.status === 'completed') {
      state.ui.receipt = { txn: prev.txn, lines: prev.lines, total: next.last.total, currency: next.currency };
      clearTimeout(receiptTimer);
      receiptTimer = setTimeout(() => actions.finishReceipt(), RECEIPT_SHOW_MS);
      link
        .command('journal', 'Show', { txn: prev.txn })
        .then((r) => {
          const paid = r?.payments?.find((p) => p.outcome === 'authorized');
          if (state.ui.receipt?.txn === prev.txn && paid) {
            state.ui.receipt.authCode = paid.authCode;
            update();
          }
        })
        .catch(() => undefined);
    } else {
      state.ui.started = false;
      state.ui.lastCancelled = next.last.txn;
      state.ui.access = false;
      setLanguage(DEFAULT_LANGUAGE);
    }
  }
  if (next.status === 'open' || next.status === 'paying') {
    state.ui.started = true;
    if (state.ui.receipt) {
      clearTimeout(receiptTimer);
      state.ui.receipt = undefined; // the next shopper scanned already
    }
  }
}

link.addEventListener('status', (e) => {
  state.online = e.detail.online;
  if (!state.online) {
    state.synced = false;
    // a new connection brings every retained document again
    basketView = new BasketView();
  }
  update();
});
/** A scan lost within this long before doc/devices arrives is still news to the shopper at the lane. */
const LOST_SCAN_NEWS_MS = 15_000;

/**
 * doc/devices counts the scans the lane could not store (`lostScans`): each new
 * one asks the shopper to scan that item again. The first document after the
 * page loads only sets the count, unless its loss is a moment old.
 */
function onDevices(next) {
  const before = state.docs.devices;
  state.docs.devices = next;
  const lost = next.lostScans;
  if (!lost?.count) return;
  const seen = before ? (before.lostScans?.count ?? 0) : undefined;
  const fresh = seen === undefined ? Date.now() - Date.parse(lost.last?.time ?? '') < LOST_SCAN_NEWS_MS : lost.count > seen;
  if (fresh) say(t('scan.again'), 'error');
}

link.addEventListener('doc', (e) => {
  const { name, doc } = e.detail;
  if (BasketView.covers(name)) {
    const basket = basketView.take(name, doc);
    if (!basket) return;
    onBasket(basket);
    state.synced = true;
  } else if (name === 'devices') onDevices(doc);
  else if (doc) state.docs[name] = doc;
  else delete state.docs[name];
  update();
});
link.addEventListener('svc', (e) => {
  state.services[e.detail.name] = e.detail.state?.state ?? 'unknown';
  update();
});

document.addEventListener('pointerdown', () => touchAttendant(), { passive: true });

setLanguage(DEFAULT_LANGUAGE);
update();
link.start();
startKiosk();
// For tests and the bench: the state the screen was rendered from.
globalThis.laned = { state, link, renderTimes, sounds: played };
