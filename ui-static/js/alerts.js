// What the shopper and the attendant are told about the lane's open
// interventions. Everything here derives from retained documents (doc/lane,
// doc/bagging, doc/basket), so an alert appears and clears with the events
// behind them, without a touch. Each alert says what to do in words and in a
// picture (ui-static/js/pictures.js), and names the item it is about.

import { t, kilograms } from './texts.js';

function lineName(basket, line) {
  return basket?.lines?.find((l) => l.line === line)?.name;
}

/** The newest line: what the shopper was handling when an alert came without a line of its own. */
function lastName(basket) {
  const lines = basket?.lines;
  return lines?.length ? lines[lines.length - 1].name : undefined;
}

/** One intervention of doc/lane as the shopper sees it. */
function describe(i, basket, bagging) {
  switch (i.kind) {
    case 'weight': {
      const key = i.key ?? '';
      if (key.startsWith('nb:')) {
        const name = lineName(basket, key.slice(3));
        return {
          kind: 'not-bagged',
          picture: 'bag-in',
          title: t('alert.notBagged.title'),
          body: name ? t('alert.notBagged.body', { name }) : t('alert.notBaggedAny.body'),
          name,
        };
      }
      if (key.startsWith('nr:')) {
        const name = lineName(basket, key.slice(3)) ?? lastName(basket);
        return { kind: 'unbag', picture: 'bag-out', title: t('alert.unbag.title'), body: t('alert.unbag.body', { name: name ?? '' }), name };
      }
      const actual = bagging?.actualG;
      const expected = bagging?.expectedG;
      const last = lastName(basket);
      if (typeof actual === 'number' && typeof expected === 'number' && actual > expected) {
        return { kind: 'unexpected-item', picture: 'bag-out', title: t('alert.unexpected.title'), body: t('alert.unexpected.body'), last };
      }
      if (typeof actual === 'number' && typeof expected === 'number' && actual < expected) {
        return { kind: 'removed-item', picture: 'bag-in', title: t('alert.removed.title'), body: t('alert.removed.body'), last };
      }
      return { kind: 'weight-mismatch', picture: 'staff', title: t('alert.mismatch.title'), body: t('alert.mismatch.body'), last };
    }
    case 'age-check': {
      const name = lineName(basket, i.line);
      return { kind: 'age-check', picture: 'staff', title: t('alert.age.title'), body: t('alert.age.body'), name };
    }
    case 'unknown-item': {
      const code = /^Unknown item (\S+):/.exec(i.reason ?? '')?.[1];
      return { kind: 'unknown-item', picture: 'staff', title: t('alert.unknown.title'), body: t('alert.unknown.body'), name: code };
    }
    case 'assistance':
      return { kind: 'assistance', picture: 'staff', title: t('alert.help.title'), body: t('alert.help.body') };
    case 'device':
      // the shopper is not told which device: only that staff is coming
      return { kind: 'device', picture: 'wait', title: t('alert.device.title'), body: t('alert.device.body') };
    case 'removal': {
      const name = lineName(basket, i.line) ?? '';
      return { kind: 'removal', picture: 'staff', title: t('alert.removal.title'), body: t('alert.removal.body', { name }), name };
    }
    default:
      return undefined; // payment-declined: the payment screen says it; pin-lockout: for staff only
  }
}

/**
 * The alerts of the current transaction, blocking first. A blocking alert
 * covers the screen until doc/lane no longer lists it.
 */
export function currentAlerts(docs) {
  const lane = docs.lane;
  const basket = docs.basket;
  if (!lane?.interventions?.length) return [];
  const txn = basket?.txn ?? lane.txn;
  const out = [];
  for (const i of lane.interventions) {
    if (txn && i.txn && i.txn !== txn) continue;
    const d = describe(i, basket, docs.bagging);
    if (d) out.push({ ...d, id: i.id, blocking: Boolean(i.blocking) });
  }
  return out.sort((a, b) => Number(b.blocking) - Number(a.blocking));
}

/** "Please bag your item" before it is an alarm: the newest line still outstanding. */
export function baggingHint(docs) {
  const bagging = docs.bagging;
  const basket = docs.basket;
  if (!bagging || bagging.state !== 'waiting' || !basket?.txn || bagging.txn !== basket.txn) return undefined;
  const last = bagging.outstanding?.[bagging.outstanding.length - 1];
  if (!last || !(last.g > 0)) return undefined;
  const name = lineName(basket, last.line);
  return name ? t('scan.bag', { name }) : undefined;
}

const grams = (g) => `${kilograms(g)} kg`;

/**
 * An intervention's reason in the attendant's language. doc/lane carries the
 * attendant service's reason in English for the journal; the screen rebuilds it
 * from the intervention's kind, key, line and the reason's known forms
 * (daemon/services/attendant/service.ts). A form it does not know is shown as it came,
 * marked as English (`lang`).
 */
export function staffReason(i, docs) {
  const basket = docs.basket;
  const r = i.reason ?? '';
  let m;
  switch (i.kind) {
    case 'weight': {
      const key = i.key ?? '';
      if (key.startsWith('nb:')) return { text: t('reason.notBagged', { name: lineName(basket, key.slice(3)) ?? key.slice(3) }) };
      if (key.startsWith('nr:')) return { text: t('reason.unbag', { name: lineName(basket, key.slice(3)) ?? key.slice(3) }) };
      if ((m = /\(\+(\d+) g\)/.exec(r))) return { text: t('reason.unexpected', { weight: grams(Number(m[1])) }) };
      if ((m = /\(-(\d+) g\)/.exec(r))) return { text: t('reason.removed', { weight: grams(Number(m[1])) }) };
      if ((m = /weighs (-?\d+) g, expected (-?\d+) g/.exec(r)))
        return { text: t('reason.mismatch', { actual: grams(Number(m[1])), expected: grams(Number(m[2])) }) };
      break;
    }
    case 'age-check':
      if ((m = /^Age check: (.*) needs a buyer aged (\d+)\+$/.exec(r))) return { text: t('reason.age', { name: lineName(basket, i.line) ?? m[1], age: m[2] }) };
      break;
    case 'unknown-item':
      if ((m = /^Unknown item (\S+): (.*)$/.exec(r))) return { text: t('reason.unknown', { code: m[1] }) };
      break;
    case 'removal':
      if ((m = /^Remove (.*) \(line [^)]*\)$/.exec(r))) return { text: t('reason.remove', { name: lineName(basket, i.line) ?? m[1] }) };
      if ((m = /^Lower (.*) \(line [^)]*\) to (\d+)$/.exec(r))) return { text: t('reason.lower', { name: lineName(basket, i.line) ?? m[1], n: m[2] }) };
      break;
    case 'payment-declined':
      if ((m = /^Payment (declined|timeout|cancelled|error)\b/.exec(r))) return { text: t(`reason.payment.${m[1]}`) };
      break;
    case 'assistance':
      if (r === 'The shopper asked for help') return { text: t('reason.help') };
      if ((m = /^Help asked for: (.*)$/s.exec(r))) return { text: t('reason.helpFor', { what: m[1] }) };
      break;
    case 'device':
      if ((m = /^The lane is closed: no (scanner|produce scale|bagging scale) works \((\w+)\)$/.exec(r)))
        return { text: t('reason.device', { device: t(`need.${m[1].replace(' ', '-')}`), state: t(`state.${m[2]}`) }) };
      break;
    case 'pin-lockout':
      if ((m = /locked (\d+) times in a row/.exec(r))) return { text: t('reason.pinLockout', { n: m[1] }) };
      break;
  }
  return { text: r, lang: 'en' };
}

/** The attendant's name for an intervention's kind; a payment the shopper cancelled is not "declined". */
export function staffKind(i) {
  if (i.kind === 'payment-declined' && /^Payment cancelled\b/.test(i.reason ?? '')) return t('att.kind.payment-cancelled');
  return t(`att.kind.${i.kind}`);
}
