// Every text the touch UI shows, in one place. Add a language by adding a block
// with the same keys; `{name}` placeholders are filled by t().

export const TEXTS = {
  en: {
    'lang.name': 'English',
    'lang.other': 'Deutsch',
    'lane.title': 'Self checkout',
    'offline.title': 'Connection to the lane lost',
    'offline.body': 'Reconnecting… Please wait or ask a member of staff.',
    resync: 'Updating…',
    staff: 'Staff',

    'welcome.title': 'Welcome',
    'welcome.body': 'Scan your first item or touch Start.',
    'welcome.start': 'Start',
    'welcome.cancelled': 'The last transaction was cancelled.',
    'welcome.closed': 'This lane is closed',
    'welcome.closedBody': 'Please use another lane.',

    'scan.title': 'Scan your items',
    'scan.empty': 'Scan the barcode of your first item.',
    'scan.items': '{n} items',
    'scan.item': '1 item',
    'scan.total': 'Total',
    'scan.pay': 'Pay',
    'scan.cancel': 'Cancel shopping',
    'scan.cancelConfirm': 'Cancel this transaction? Every item will be removed.',
    'scan.produce': 'Fruit & vegetables',
    'scan.help': 'Call an attendant',
    'scan.bag': 'Place {name} in the bagging area.',
    'scan.again': 'That scan did not go through: please scan the item again.',
    'scan.waitingRemoval': 'Waiting for staff to remove',
    'scan.waitingLower': 'Waiting for staff: quantity {n}',
    'line.remove': 'Remove',
    'line.more': 'One more',
    'line.qty': 'Qty',
    'line.weight': '{kg} kg × {price}/kg',
    'line.each': '{n} × {price}',

    'remove.title': 'Remove an item',
    'remove.body': 'Remove {name} from your shopping? A member of staff will confirm.',
    'remove.bodyNow': 'Remove {name} from your shopping?',
    'remove.yes': 'Yes, remove',
    'remove.no': 'Keep it',

    'weigh.title': 'Weigh your produce',
    'weigh.place': 'Place {name} on the scale.',
    'weigh.pick': 'Place your produce on the scale and choose it below, or scan its label.',
    'weigh.empty': 'Nothing on the scale',
    'weigh.weight': 'Weight',
    'weigh.stable': 'Stable',
    'weigh.unstable': 'Settling…',
    'weigh.noScale': 'No produce scale is working: please ask a member of staff.',
    'weigh.back': 'Back to my items',
    'weigh.choose': 'Choose your item',

    'alert.unexpected.title': 'Unexpected item in the bagging area',
    'alert.unexpected.body': 'Please remove the item you just placed in the bagging area.',
    'alert.removed.title': 'Item taken from the bagging area',
    'alert.removed.body': 'Please put the item back in the bagging area.',
    'alert.notBagged.title': 'Please bag your item',
    'alert.notBagged.body': 'Place {name} in the bagging area.',
    'alert.notBaggedAny.body': 'Place your last item in the bagging area.',
    'alert.unbag.title': 'Please take out the removed item',
    'alert.unbag.body': 'Take {name} out of the bagging area.',
    'alert.mismatch.title': 'Weight does not match',
    'alert.mismatch.body': 'Please check the items in the bagging area.',
    'alert.age.title': 'Age check',
    'alert.age.body': 'A member of staff will check your age. Please wait for assistance.',
    'alert.unknown.title': 'Item not recognised',
    'alert.unknown.body': 'A member of staff is on the way. You can keep scanning.',
    'alert.help.title': 'Help is on the way',
    'alert.help.body': 'A member of staff has been called. You can keep scanning.',
    'alert.device.title': 'Please wait',
    'alert.device.body': 'Help is on the way.',
    'alert.removal.title': 'Please wait for assistance',
    'alert.removal.body': 'A member of staff will confirm the removal of {name}.',
    'alert.wait': 'Please wait for assistance',
    'alert.scanRefused': 'Payment is in progress: finish or cancel it before scanning more items.',

    'pay.title': 'Pay by card',
    'pay.amount': 'Amount due',
    'pay.follow': 'Insert, tap or swipe your card on the card terminal and follow its instructions.',
    'pay.cancel': 'Cancel payment',
    'pay.cancelling': 'Cancelling…',
    'pay.declined': 'Payment declined',
    'pay.timeout': 'The card terminal did not answer in time',
    'pay.cancelled': 'Payment cancelled',
    'pay.error': 'Payment failed',
    'pay.tryAgain': 'Try again',
    'pay.back': 'Back to my items',
    'pay.blocked': 'A member of staff must help first: please wait for assistance.',

    'receipt.title': 'Thank you!',
    'receipt.body': 'Payment approved. Take your receipt and your bags.',
    'receipt.card': 'Card payment, authorisation {code}',
    'receipt.done': 'Done',
    'receipt.txn': 'Transaction {txn}',

    'pin.title': 'Staff sign-in',
    'pin.body': 'Enter your PIN',
    'pin.ok': 'OK',
    'pin.clear': 'Clear',
    'pin.cancel': 'Cancel',
    'pin.checking': 'Checking…',
    'pin.wrongTries': 'Wrong PIN: {n} more tries before PIN sign-in is locked.',
    'pin.locked': 'PIN sign-in is locked: use the key switch.',
    'pin.lockedFor': 'PIN sign-in is locked for {min} min: use the key switch.',
    'pin.none': 'No staff PIN is set on this lane: use the key switch.',

    'att.title': 'Staff mode',
    'att.byKey': 'Key switch',
    'att.byPin': 'PIN',
    'att.exit': 'Exit staff mode',
    'att.interventions': 'Interventions',
    'att.none': 'Nothing needs attention.',
    'att.approve': 'Approve',
    'att.reject': 'Reject',
    'att.overrideAll': 'Approve all',
    'att.void': 'Void transaction',
    'att.voidConfirm': 'Void this transaction? Every item is removed and nothing is paid.',
    'att.voidLine': 'Void line',
    'att.basket': 'Transaction',
    'att.noTxn': 'No transaction open.',
    'att.lane': 'Lane',
    'att.laneState': 'State: {state}',
    'att.devices': 'Devices',
    'att.services': 'Services',
    'att.kind.weight': 'Weight',
    'att.kind.age-check': 'Age check',
    'att.kind.unknown-item': 'Unknown item',
    'att.kind.removal': 'Removal',
    'att.kind.payment-declined': 'Payment declined',
    'att.kind.assistance': 'Help asked',
    'att.kind.device': 'Device missing',
    'att.kind.pin-lockout': 'PIN lockouts',
    'att.blocking': 'blocks payment',
    'state.idle': 'idle',
    'state.shopping': 'shopping',
    'state.assist': 'needs assistance',
    'state.intervention': 'intervention',
    'state.attendant': 'staff mode',
    'state.closed': 'closed (device missing)',
    'state.ok': 'ok',
    'state.online': 'online',
    'state.offline': 'offline',
    'state.degraded': 'degraded',
    'state.disconnected': 'disconnected',
    'state.failed': 'failed',
    'state.starting': 'starting',
    'state.stopped': 'stopped',

    ok: 'OK',
    yes: 'Yes',
    no: 'No',
    'error.offline': 'Not connected to the lane: try again in a moment.',
    'error.timeout': 'The lane did not answer: try again.',
    'error.command': 'Could not do that: {reason}',
  },
  de: {
    'lang.name': 'Deutsch',
    'lang.other': 'English',
    'lane.title': 'Selbstbedienungskasse',
    'offline.title': 'Verbindung zur Kasse unterbrochen',
    'offline.body': 'Verbindung wird wiederhergestellt … Bitte warten oder Personal rufen.',
    resync: 'Wird aktualisiert …',
    staff: 'Personal',

    'welcome.title': 'Willkommen',
    'welcome.body': 'Scannen Sie Ihren ersten Artikel oder tippen Sie auf Start.',
    'welcome.start': 'Start',
    'welcome.cancelled': 'Der letzte Einkauf wurde abgebrochen.',
    'welcome.closed': 'Diese Kasse ist geschlossen',
    'welcome.closedBody': 'Bitte benutzen Sie eine andere Kasse.',

    'scan.title': 'Artikel scannen',
    'scan.empty': 'Scannen Sie den Barcode Ihres ersten Artikels.',
    'scan.items': '{n} Artikel',
    'scan.item': '1 Artikel',
    'scan.total': 'Summe',
    'scan.pay': 'Bezahlen',
    'scan.cancel': 'Einkauf abbrechen',
    'scan.cancelConfirm': 'Diesen Einkauf abbrechen? Alle Artikel werden entfernt.',
    'scan.produce': 'Obst & Gemüse',
    'scan.help': 'Personal rufen',
    'scan.bag': 'Legen Sie {name} in den Ablagebereich.',
    'scan.again': 'Dieser Scan wurde nicht erfasst: Bitte scannen Sie den Artikel noch einmal.',
    'scan.waitingRemoval': 'Wartet auf Storno durch Personal',
    'scan.waitingLower': 'Wartet auf Personal: Menge {n}',
    'line.remove': 'Entfernen',
    'line.more': 'Noch einer',
    'line.qty': 'Menge',
    'line.weight': '{kg} kg × {price}/kg',
    'line.each': '{n} × {price}',

    'remove.title': 'Artikel entfernen',
    'remove.body': '{name} aus dem Einkauf entfernen? Das Personal bestätigt es.',
    'remove.bodyNow': '{name} aus dem Einkauf entfernen?',
    'remove.yes': 'Ja, entfernen',
    'remove.no': 'Behalten',

    'weigh.title': 'Obst und Gemüse wiegen',
    'weigh.place': 'Legen Sie {name} auf die Waage.',
    'weigh.pick': 'Legen Sie Ihre Ware auf die Waage und wählen Sie sie unten aus, oder scannen Sie das Etikett.',
    'weigh.empty': 'Waage ist leer',
    'weigh.weight': 'Gewicht',
    'weigh.stable': 'Stabil',
    'weigh.unstable': 'Wird ermittelt …',
    'weigh.noScale': 'Keine Waage bereit: Bitte wenden Sie sich an das Personal.',
    'weigh.back': 'Zurück zu meinen Artikeln',
    'weigh.choose': 'Artikel auswählen',

    'alert.unexpected.title': 'Unerwarteter Artikel im Ablagebereich',
    'alert.unexpected.body': 'Bitte nehmen Sie den eben abgelegten Artikel wieder heraus.',
    'alert.removed.title': 'Artikel aus dem Ablagebereich genommen',
    'alert.removed.body': 'Bitte legen Sie den Artikel zurück in den Ablagebereich.',
    'alert.notBagged.title': 'Bitte Artikel ablegen',
    'alert.notBagged.body': 'Legen Sie {name} in den Ablagebereich.',
    'alert.notBaggedAny.body': 'Legen Sie Ihren letzten Artikel in den Ablagebereich.',
    'alert.unbag.title': 'Bitte entfernten Artikel herausnehmen',
    'alert.unbag.body': 'Nehmen Sie {name} aus dem Ablagebereich.',
    'alert.mismatch.title': 'Gewicht stimmt nicht',
    'alert.mismatch.body': 'Bitte prüfen Sie die Artikel im Ablagebereich.',
    'alert.age.title': 'Alterskontrolle',
    'alert.age.body': 'Das Personal prüft Ihr Alter. Bitte warten Sie auf Hilfe.',
    'alert.unknown.title': 'Artikel nicht erkannt',
    'alert.unknown.body': 'Das Personal ist unterwegs. Sie können weiter scannen.',
    'alert.help.title': 'Hilfe kommt',
    'alert.help.body': 'Das Personal wurde gerufen. Sie können weiter scannen.',
    'alert.device.title': 'Bitte warten Sie',
    'alert.device.body': 'Hilfe ist unterwegs.',
    'alert.removal.title': 'Bitte warten Sie auf Hilfe',
    'alert.removal.body': 'Das Personal bestätigt das Entfernen von {name}.',
    'alert.wait': 'Bitte warten Sie auf Hilfe',
    'alert.scanRefused': 'Die Zahlung läuft: Bitte zuerst abschließen oder abbrechen.',

    'pay.title': 'Mit Karte bezahlen',
    'pay.amount': 'Zu zahlen',
    'pay.follow': 'Karte am Terminal einstecken, auflegen oder durchziehen und den Anweisungen folgen.',
    'pay.cancel': 'Zahlung abbrechen',
    'pay.cancelling': 'Wird abgebrochen …',
    'pay.declined': 'Zahlung abgelehnt',
    'pay.timeout': 'Das Kartenterminal hat nicht rechtzeitig geantwortet',
    'pay.cancelled': 'Zahlung abgebrochen',
    'pay.error': 'Zahlung fehlgeschlagen',
    'pay.tryAgain': 'Erneut versuchen',
    'pay.back': 'Zurück zu meinen Artikeln',
    'pay.blocked': 'Das Personal muss zuerst helfen: Bitte warten Sie.',

    'receipt.title': 'Vielen Dank!',
    'receipt.body': 'Zahlung genehmigt. Bitte Beleg und Einkauf mitnehmen.',
    'receipt.card': 'Kartenzahlung, Genehmigung {code}',
    'receipt.done': 'Fertig',
    'receipt.txn': 'Vorgang {txn}',

    'pin.title': 'Anmeldung Personal',
    'pin.body': 'PIN eingeben',
    'pin.ok': 'OK',
    'pin.clear': 'Löschen',
    'pin.cancel': 'Abbrechen',
    'pin.checking': 'Wird geprüft …',
    'pin.wrongTries': 'Falsche PIN: noch {n} Versuche, dann wird die PIN-Anmeldung gesperrt.',
    'pin.locked': 'PIN-Anmeldung gesperrt: Schlüsselschalter benutzen.',
    'pin.lockedFor': 'PIN-Anmeldung für {min} Min. gesperrt: Schlüsselschalter benutzen.',
    'pin.none': 'An dieser Kasse ist keine PIN eingerichtet: Schlüsselschalter benutzen.',

    'att.title': 'Personalmodus',
    'att.byKey': 'Schlüsselschalter',
    'att.byPin': 'PIN',
    'att.exit': 'Personalmodus beenden',
    'att.interventions': 'Eingriffe',
    'att.none': 'Nichts zu tun.',
    'att.approve': 'Freigeben',
    'att.reject': 'Ablehnen',
    'att.overrideAll': 'Alle freigeben',
    'att.void': 'Vorgang stornieren',
    'att.voidConfirm': 'Diesen Vorgang stornieren? Alle Artikel werden entfernt, nichts wird bezahlt.',
    'att.voidLine': 'Position stornieren',
    'att.basket': 'Vorgang',
    'att.noTxn': 'Kein Vorgang offen.',
    'att.lane': 'Kasse',
    'att.laneState': 'Zustand: {state}',
    'att.devices': 'Geräte',
    'att.services': 'Dienste',
    'att.kind.weight': 'Gewicht',
    'att.kind.age-check': 'Alterskontrolle',
    'att.kind.unknown-item': 'Unbekannter Artikel',
    'att.kind.removal': 'Storno',
    'att.kind.payment-declined': 'Zahlung abgelehnt',
    'att.kind.assistance': 'Hilfe gerufen',
    'att.kind.device': 'Gerät fehlt',
    'att.kind.pin-lockout': 'PIN-Sperren',
    'att.blocking': 'sperrt Zahlung',
    'state.idle': 'bereit',
    'state.shopping': 'Einkauf',
    'state.assist': 'Hilfe nötig',
    'state.intervention': 'Eingriff',
    'state.attendant': 'Personalmodus',
    'state.closed': 'geschlossen (Gerät fehlt)',
    'state.ok': 'in Ordnung',
    'state.online': 'online',
    'state.offline': 'offline',
    'state.degraded': 'eingeschränkt',
    'state.disconnected': 'getrennt',
    'state.failed': 'ausgefallen',
    'state.starting': 'startet',
    'state.stopped': 'gestoppt',

    ok: 'OK',
    yes: 'Ja',
    no: 'Nein',
    'error.offline': 'Keine Verbindung zur Kasse: Bitte gleich noch einmal versuchen.',
    'error.timeout': 'Die Kasse hat nicht geantwortet: Bitte noch einmal versuchen.',
    'error.command': 'Das ging nicht: {reason}',
  },
};

export const LANGUAGES = Object.keys(TEXTS);
export const LOCALES = { en: 'en-GB', de: 'de-DE' };

let current = 'en';

export function setLanguage(lang) {
  if (TEXTS[lang]) current = lang;
  document.documentElement.lang = current;
}

export function language() {
  return current;
}

/** The next language in the list (the toggle on every screen). */
export function otherLanguage() {
  return LANGUAGES[(LANGUAGES.indexOf(current) + 1) % LANGUAGES.length];
}

export function t(key, vars = {}) {
  const text = TEXTS[current][key] ?? TEXTS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

const formats = new Map();

/** Intl formatters are costly to build: one per locale and options, kept. */
function formatter(key, make) {
  let f = formats.get(key);
  if (!f) {
    f = make();
    formats.set(key, f);
  }
  return f;
}

/** Money in integer minor units of `currency` (ISO 4217), in the current language. */
export function money(minor, currency) {
  const c = currency || 'EUR';
  const fmt = formatter(`money:${current}:${c}`, () => new Intl.NumberFormat(LOCALES[current], { style: 'currency', currency: c }));
  return fmt.format(minor / 10 ** fmt.resolvedOptions().maximumFractionDigits);
}

export function kilograms(grams) {
  return formatter(`kg:${current}`, () => new Intl.NumberFormat(LOCALES[current], { minimumFractionDigits: 3, maximumFractionDigits: 3 })).format(grams / 1000);
}
