// Pictures for alerts, drawn inline (SVG, no files): what the shopper is asked to
// do, shown as well as said. Each is decorative next to its words (aria-hidden).

const NS = 'http://www.w3.org/2000/svg';

function svg(children, label) {
  const el = document.createElementNS(NS, 'svg');
  el.setAttribute('viewBox', '0 0 120 120');
  el.setAttribute('class', 'picture');
  el.setAttribute('aria-hidden', 'true');
  el.setAttribute('focusable', 'false');
  el.dataset.picture = label;
  for (const [tag, attrs] of children) {
    const c = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) c.setAttribute(k, String(v));
    el.append(c);
  }
  return el;
}

const stroke = { fill: 'none', stroke: 'currentColor', 'stroke-width': 6, 'stroke-linecap': 'round', 'stroke-linejoin': 'round' };
// a shopping bag standing in the bagging area
const BAG = [
  ['path', { d: 'M22 58 h76 l-8 50 h-60 z', ...stroke }],
  ['path', { d: 'M44 58 v-6 a16 16 0 0 1 32 0 v6', ...stroke }],
  ['path', { d: 'M10 112 h100', ...stroke }],
];
const arrow = (down) =>
  down
    ? [['path', { d: 'M60 6 v34 M46 28 l14 14 l14 -14', ...stroke, stroke: 'currentColor' }]]
    : [['path', { d: 'M60 42 v-34 M46 20 l14 -14 l14 14', ...stroke }]];
const ITEM = (y) => [['rect', { x: 48, y, width: 24, height: 18, rx: 3, fill: 'currentColor' }]];

const PICTURES = {
  /** Put the item in the bagging area. */
  'bag-in': () => svg([...BAG, ...arrow(true), ...ITEM(68)], 'bag-in'),
  /** Take the item out of the bagging area. */
  'bag-out': () => svg([...BAG, ...arrow(false), ...ITEM(68)], 'bag-out'),
  /** A member of staff comes. */
  staff: () =>
    svg(
      [
        ['circle', { cx: 60, cy: 32, r: 18, ...stroke }],
        ['path', { d: 'M22 110 v-14 a38 30 0 0 1 76 0 v14', ...stroke }],
        ['path', { d: 'M52 74 l8 10 l8 -10', ...stroke }],
      ],
      'staff',
    ),
  /** Wait: a clock. */
  wait: () =>
    svg(
      [
        ['circle', { cx: 60, cy: 60, r: 46, ...stroke }],
        ['path', { d: 'M60 30 v30 l20 12', ...stroke }],
      ],
      'wait',
    ),
  /** The card terminal. */
  card: () =>
    svg(
      [
        ['rect', { x: 30, y: 8, width: 60, height: 104, rx: 10, ...stroke }],
        ['rect', { x: 40, y: 20, width: 40, height: 26, rx: 3, fill: 'currentColor' }],
        ['path', { d: 'M42 62 h8 M56 62 h8 M70 62 h8 M42 76 h8 M56 76 h8 M70 76 h8 M42 90 h8 M56 90 h8 M70 90 h8', ...stroke }],
      ],
      'card',
    ),
};

/** An inline SVG for `name` (bag-in, bag-out, staff, wait, card). */
export function picture(name) {
  return (PICTURES[name] ?? PICTURES.wait)();
}
