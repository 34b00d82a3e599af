import t from 'tap';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/daemon.js';

// The shopper tools' pure parts in Node: the item lookup's place among the screens,
// and the placeholder picture of a product without one.

// texts.js sets <html lang>; nothing else here touches the DOM at import
(globalThis as { document?: unknown }).document = { documentElement: {} };

interface ScreenOf {
  screenOf: (state: unknown) => string;
}
interface Pictures {
  initials: (name: string) => string;
  hueOf: (name: string) => number;
}
const ui = <T>(file: string): Promise<T> => import(pathToFileURL(join(ROOT, 'ui-static/js', file)).href) as Promise<T>;

t.test('the item lookup: over the scan screen, never over a payment', async (t) => {
  const { screenOf } = await ui<ScreenOf>('render.js');
  const basket = (status: string, txn: string | null = 'T-0001') => ({
    lane: 'lane-1',
    rev: 1,
    txn,
    status,
    currency: 'EUR',
    lines: [],
    total: 0,
    items: 0,
    blocked: 0,
  });
  const s = (b: unknown, u: Record<string, unknown>) =>
    screenOf({ docs: { basket: b }, ui: { started: false, payRequested: false, ...u }, online: true, services: {} });
  const lookup = { tab: 'code', code: '', query: '' };
  t.equal(s(basket('open'), { lookup }), 'lookup');
  t.equal(s(basket('idle', null), { started: true, lookup }), 'lookup', 'before the first item');
  t.equal(s(basket('idle', null), { lookup }), 'welcome', 'not before Start');
  t.equal(s(basket('paying'), { lookup }), 'pay', 'a payment comes first');
  t.equal(s(basket('open'), {}), 'scan');
});

t.test('a product without a picture: its initials on a colour of its own', async (t) => {
  const { initials, hueOf } = await ui<Pictures>('product-picture.js');
  t.equal(initials('Butter, 250 g'), 'Bu', 'what it is, before the comma');
  t.equal(initials('Highlighter pen, yellow'), 'HP');
  t.equal(initials('Tomatoes (per kg)'), 'To', 'brackets left out');
  t.equal(initials('Äpfel'), 'Äp', 'letters of any language');
  t.equal(initials('1000'), '?', 'no letters');
  t.equal(hueOf('Tomatoes (per kg)'), hueOf('Tomatoes (per kg)'), 'the same name, the same colour');
  t.not(hueOf('Tomatoes (per kg)'), hueOf('Potatoes (per kg)'), 'another name, another colour');
  t.ok(hueOf('x') >= 0 && hueOf('x') < 360);
});
