// What the shopper is told about the lane's open interventions. Everything here
// derives from retained documents (doc/lane, doc/bagging, doc/basket), so an
// alert appears and clears with the events behind them, without a touch.

import { t } from './texts.js';

function lineName(basket, line) {
  return basket?.lines?.find((l) => l.line === line)?.name;
}

/** One intervention of doc/lane as the shopper sees it. */
function describe(i, basket, bagging) {
  switch (i.kind) {
    case 'weight': {
      const key = i.key ?? '';
      if (key.startsWith('nb:')) {
        const name = lineName(basket, key.slice(3));
        return { kind: 'not-bagged', title: t('alert.notBagged.title'), body: name ? t('alert.notBagged.body', { name }) : t('alert.notBaggedAny.body') };
      }
      if (key.startsWith('nr:')) {
        const name = lineName(basket, key.slice(3)) ?? '';
        return { kind: 'unbag', title: t('alert.unbag.title'), body: t('alert.unbag.body', { name }) };
      }
      const actual = bagging?.actualG;
      const expected = bagging?.expectedG;
      if (typeof actual === 'number' && typeof expected === 'number' && actual > expected) {
        return { kind: 'unexpected-item', title: t('alert.unexpected.title'), body: t('alert.unexpected.body') };
      }
      if (typeof actual === 'number' && typeof expected === 'number' && actual < expected) {
        return { kind: 'removed-item', title: t('alert.removed.title'), body: t('alert.removed.body') };
      }
      return { kind: 'weight-mismatch', title: t('alert.mismatch.title'), body: t('alert.mismatch.body') };
    }
    case 'age-check':
      return { kind: 'age-check', title: t('alert.age.title'), body: t('alert.age.body') };
    case 'unknown-item':
      return { kind: 'unknown-item', title: t('alert.unknown.title'), body: t('alert.unknown.body') };
    case 'assistance':
      return { kind: 'assistance', title: t('alert.help.title'), body: t('alert.help.body') };
    case 'device':
      // the shopper is not told which device: only that staff is coming
      return { kind: 'device', title: t('alert.device.title'), body: t('alert.device.body') };
    case 'removal': {
      const name = lineName(basket, i.line) ?? '';
      return { kind: 'removal', title: t('alert.removal.title'), body: t('alert.removal.body', { name }) };
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
  // an own bag the shopper declared (weightcheck names it B<n>)
  if (/^B[0-9]+$/.test(last.line)) return t('bag.place');
  const name = lineName(basket, last.line);
  return name ? t('scan.bag', { name }) : undefined;
}
