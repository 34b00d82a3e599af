import t from 'tap';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/daemon.js';
import type { Json } from '../helpers/json.js';

// The UI's pure parts in Node: which screen a state shows, which alerts
// documents raise, money in minor units. (The browser test covers the rest.)

// texts.js sets <html lang>; nothing else here touches the DOM at import
(globalThis as { document?: unknown }).document = { documentElement: {} };

const ui = (file: string): Promise<Json> => import(pathToFileURL(join(ROOT, 'ui-static/js', file)).href);

const basket = (over: Record<string, unknown> = {}) => ({
  lane: 'lane-1',
  rev: 1,
  txn: 'T-0001',
  status: 'open',
  currency: 'EUR',
  lines: [],
  total: 0,
  items: 0,
  blocked: 0,
  ...over,
});
const uiState = (over: Record<string, unknown> = {}) => ({ started: false, payRequested: false, ...over });

t.test('screenOf: the screen follows the documents and the shopper', async (t) => {
  const { screenOf } = await ui('render.js');
  const s = (docs: Record<string, unknown>, u: Record<string, unknown> = {}) => screenOf({ docs, ui: uiState(u), online: true, services: {} });
  t.equal(s({}), 'welcome', 'no document yet');
  t.equal(s({ basket: basket({ status: 'idle', txn: null }) }), 'welcome');
  t.equal(s({ basket: basket({ status: 'idle', txn: null }) }, { started: true }), 'scan', 'Start touched');
  t.equal(s({ basket: basket() }), 'scan', 'a scan opened a transaction');
  t.equal(s({ basket: basket({ notice: { code: 'weigh', text: 'Place Apples (per kg) on the scale' } }) }), 'weigh');
  t.equal(
    s({ basket: basket({ notice: { code: 'weigh', text: 'Place Apples (per kg) on the scale' } }) }, { skipWeigh: 'Place Apples (per kg) on the scale' }),
    'scan',
    'shopper went back',
  );
  t.equal(
    s({ basket: basket({ notice: { code: 'weigh', text: 'Place Pears on the scale' } }) }, { skipWeigh: 'Place Apples (per kg) on the scale' }),
    'weigh',
    'another item to weigh',
  );
  t.equal(s({ basket: basket() }, { weighPick: true }), 'weigh', 'produce picker');
  t.equal(s({ basket: basket({ status: 'idle', txn: null }) }, { started: true, weighPick: true }), 'weigh', 'produce picker before the first scan');
  t.equal(
    s({ basket: basket({ status: 'idle', txn: null }), lane: { updating: true, closed: true } }),
    'updating',
    'the lane is being updated (closed for it)',
  );
  t.equal(s({ basket: basket(), lane: { updating: true } }), 'scan', 'updating: the shopper mid-transaction finishes');
  t.equal(s({ basket: basket({ status: 'paying', payment: 'T-0001-P1' }) }), 'pay');
  t.equal(
    s({ basket: basket({ notice: { code: 'declined', text: 'Payment declined: try again' } }) }, { payRequested: true }),
    'pay',
    'declined, still paying',
  );
  t.equal(s({ basket: basket({ notice: { code: 'declined', text: 'Payment declined: try again' } }) }), 'scan', 'declined, back at the basket');
  t.equal(s({ basket: basket({ status: 'idle', txn: null }) }, { receipt: { txn: 'T-0001' } }), 'receipt');
  t.equal(s({ basket: basket() }, { receipt: { txn: 'T-0001' } }), 'scan', 'the next shopper scanned');
  t.equal(s({ basket: basket(), lane: { attendantMode: true } }), 'attendant', 'key switch');
  t.equal(s({ basket: basket() }, { attendant: { pin: '1' } }), 'attendant');
  t.equal(s({ basket: basket() }, { pin: { digits: '' } }), 'pin');
  t.equal(
    s({ basket: basket(), lane: { attendantMode: true } }, { pin: { digits: '', error: 'locked' } }),
    'attendant',
    'the key switch over a PIN pad left open',
  );
  t.equal(s({ basket: basket({ status: 'idle', txn: null }), lane: { closed: true } }, { started: true }), 'welcome', 'closed: no new shopper');
  t.equal(s({ basket: basket(), lane: { closed: true } }), 'scan', 'closed mid-transaction: the basket, under the alert');
});

t.test('currentAlerts: interventions of doc/lane as the shopper reads them', async (t) => {
  const { currentAlerts, baggingHint } = await ui('alerts.js');
  const b = basket({
    lines: [
      { line: 'L1', name: 'Cola' },
      { line: 'L2', name: 'Pen' },
    ],
  });
  const i = (over: Record<string, unknown>) => ({ id: 'I-1', txn: 'T-0001', kind: 'weight', reason: '', blocking: true, raised: '', ...over });
  const kinds = (docs: Record<string, unknown>) => currentAlerts(docs).map((a: { kind: string }) => a.kind);
  t.same(kinds({ basket: b, lane: { interventions: [] } }), []);
  t.same(kinds({ basket: b, lane: { interventions: [i({ key: 'w:X' })] }, bagging: { actualG: 900, expectedG: 350 } }), ['unexpected-item']);
  t.same(kinds({ basket: b, lane: { interventions: [i({ key: 'w:X' })] }, bagging: { actualG: 100, expectedG: 350 } }), ['removed-item']);
  t.same(kinds({ basket: b, lane: { interventions: [i({ key: 'w:X' })] }, bagging: { actualG: 350, expectedG: 350 } }), ['weight-mismatch']);
  const nb = currentAlerts({ basket: b, lane: { interventions: [i({ key: 'nb:L2' })] } });
  t.equal(nb[0].kind, 'not-bagged');
  t.match(nb[0].body, /Place Pen in the bagging area/);
  t.same(kinds({ basket: b, lane: { interventions: [i({ kind: 'removal', line: 'L1' })] } }), ['removal']);
  t.same(kinds({ basket: b, lane: { interventions: [i({ kind: 'payment-declined', blocking: false })] } }), [], 'the payment screen says it');
  t.same(kinds({ basket: b, lane: { interventions: [i({ kind: 'assistance', blocking: false })] } }), ['assistance'], 'a call for help');
  t.same(kinds({ basket: b, lane: { interventions: [i({ kind: 'device', txn: null, key: 'bagging-scale' })] } }), ['device'], 'a missing device: please wait');
  t.same(kinds({ basket: b, lane: { interventions: [i({ kind: 'pin-lockout', txn: null, blocking: false })] } }), [], 'PIN lockouts: for staff only');
  t.same(kinds({ lane: { interventions: [i({ txn: null, kind: 'assistance', blocking: false })] } }), ['assistance'], 'also before any transaction');
  t.same(kinds({ basket: b, lane: { interventions: [i({ txn: 'T-0000', kind: 'age-check' })] } }), [], 'another transaction');
  t.same(
    currentAlerts({ basket: b, lane: { interventions: [i({ id: 'I-1', kind: 'unknown-item', blocking: false }), i({ id: 'I-2', kind: 'age-check' })] } }).map(
      (a: { id: string }) => a.id,
    ),
    ['I-2', 'I-1'],
    'blocking first',
  );
  t.match(
    baggingHint({
      basket: b,
      bagging: {
        txn: 'T-0001',
        state: 'waiting',
        outstanding: [
          { line: 'L1', g: 350 },
          { line: 'L2', g: 12 },
        ],
      },
    }),
    /Place Pen/,
  );
  t.equal(baggingHint({ basket: b, bagging: { txn: 'T-0001', state: 'ok', outstanding: [] } }), undefined);
});

t.test("staffReason: the attendant service's reasons in the attendant's language", async (t) => {
  const { staffReason, staffKind } = await ui('alerts.js');
  const texts = await ui('texts.js');
  const docs = { basket: basket({ lines: [{ line: 'L1', name: 'Wodka, 0,7 l' }] }) };
  const i = (kind: string, reason: string, over: Record<string, unknown> = {}) => ({ id: 'I-1', txn: 'T-0001', kind, reason, blocking: true, ...over });
  // each form daemon/services/attendant.ts writes, as it writes it
  const cases: Array<[ReturnType<typeof i>, string]> = [
    [i('weight', 'Item L1 was not put in the bagging area', { key: 'nb:L1' }), 'Wodka, 0,7 l wurde nicht in den Ablagebereich gelegt'],
    [i('weight', 'Unexpected item in the bagging area (+500 g)', { key: 'w:X' }), 'Unerwarteter Artikel im Ablagebereich (+0,500 kg)'],
    [i('weight', 'Item taken from the bagging area (-350 g)', { key: 'w:X' }), 'Artikel aus dem Ablagebereich genommen (−0,350 kg)'],
    [i('weight', 'Bagging area weighs 900 g, expected 350 g', { key: 'w:X' }), 'Ablagebereich wiegt 0,900 kg, erwartet 0,350 kg'],
    [i('age-check', 'Age check: Vodka, 0.7 l needs a buyer aged 18+', { line: 'L1' }), 'Wodka, 0,7 l: Käufer muss mindestens 18 Jahre alt sein'],
    [i('unknown-item', 'Unknown item 04006381333009: not in the catalog'), 'Unbekannter Artikel 04006381333009'],
    [i('removal', 'Remove Vodka, 0.7 l (line L1)', { line: 'L1' }), 'Wodka, 0,7 l stornieren'],
    [i('removal', 'Lower Vodka, 0.7 l (line L1) to 1', { line: 'L1' }), 'Menge von Wodka, 0,7 l auf 1 senken'],
    [i('payment-declined', 'Payment cancelled'), 'Der Kunde hat die Zahlung abgebrochen'],
    [i('payment-declined', 'Payment declined: declined by the card issuer (simulated)'), 'Die Karte wurde abgelehnt'],
    [i('assistance', 'The shopper asked for help'), 'Der Kunde hat Hilfe gerufen'],
    [
      i('device', 'The lane is closed: no bagging scale works (disconnected)', { key: 'bagging-scale' }),
      'Die Kasse ist geschlossen: die Ablagewaage ist getrennt',
    ],
    [
      i('pin-lockout', 'PIN sign-in from kiosk locked 3 times in a row (3 wrong PINs each): someone keeps trying PINs; check the lane'),
      'PIN-Anmeldung 3-mal hintereinander gesperrt: Jemand probiert PINs aus; Kasse prüfen',
    ],
  ];
  texts.setLanguage('de');
  for (const [intervention, german] of cases) {
    t.same(staffReason(intervention, docs), { text: german }, `${intervention.kind}: ${intervention.reason}`);
  }
  t.same(
    staffReason(i('weight', 'a form not known yet', { key: 'w:X' }), docs),
    { text: 'a form not known yet', lang: 'en' },
    'an unknown form as it came, marked English',
  );
  t.equal(staffKind(i('payment-declined', 'Payment cancelled')), 'Zahlung abgebrochen', 'a payment the shopper cancelled is not called declined');
  t.equal(staffKind(i('payment-declined', 'Payment declined')), 'Zahlung abgelehnt');
  texts.setLanguage('en');
  t.same(staffReason(cases[4][0], docs), { text: 'Wodka, 0,7 l needs a buyer aged 18+' });
});

t.test('money and weights in minor units and the current language', async (t) => {
  const texts = await ui('texts.js');
  texts.setLanguage('en');
  t.equal(texts.money(457, 'EUR'), '€4.57');
  t.match(texts.money(1200, 'JPY'), /¥1,200$/, 'a currency without minor digits');
  t.equal(texts.kilograms(1234), '1.234');
  t.equal(texts.t('scan.items', { n: 3 }), '3 items');
  texts.setLanguage('de');
  t.equal(texts.money(457, 'EUR').replace(/\s/g, ' '), '4,57 €');
  t.equal(texts.t('scan.pay'), 'Bezahlen');
  t.equal(texts.otherLanguage(), 'en');
  texts.setLanguage('xx');
  t.equal(texts.language(), 'de', 'an unknown language is ignored');
  for (const lang of texts.LANGUAGES) {
    t.same(Object.keys(texts.TEXTS[lang]).sort(), Object.keys(texts.TEXTS.en).sort(), `${lang} has every text`);
  }
});

t.test('the produce screen calls a weight stable only when the scale said so with it', async (t) => {
  const { readingIsStable } = await ui('screens/weigh.js');
  t.equal(readingIsStable({ grams: 800, unit: 'kg' }), false, 'a reading without a state is not stable');
  t.equal(readingIsStable({ state: 'unstable' }), false, 'motion');
  t.equal(readingIsStable({ state: 'zero', grams: 0 }), false, 'an empty platter');
  t.equal(readingIsStable({ state: 'stable' }), false, 'a state without a weight');
  t.equal(readingIsStable(undefined), false, 'nothing read yet');
  t.equal(readingIsStable({ state: 'stable', grams: 800, unit: 'kg' }), true);
});
