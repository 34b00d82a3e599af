// A product's picture on the touch UI: the catalog's `image`, else (or when it
// does not load) the product's initials on a colour taken from its name, so the
// same product always looks the same.

import { h } from './dom.js';

/**
 * Up to two letters of what the product is (its name before a comma or a bracket:
 * "Butter, 250 g" is Bu, "Highlighter pen, yellow" HP): the first two words'
 * initials, or the first two letters of a single word.
 */
export function initials(name) {
  const words = String(name)
    .split(/[,(]/)[0]
    .split(/[^\p{L}]+/u)
    .filter(Boolean);
  if (words.length === 0) return '?';
  if (words.length > 1) return (words[0][0] + words[1][0]).toUpperCase();
  return words[0].charAt(0).toUpperCase() + words[0].slice(1, 2).toLowerCase();
}

/** A hue from the name (FNV-1a), 0-359. */
export function hueOf(name) {
  let x = 0x811c9dc5;
  for (const ch of String(name)) x = Math.imul(x ^ ch.codePointAt(0), 0x01000193) >>> 0;
  return x % 360;
}

function placeholder(name) {
  return h('span', { class: 'pic pic-initials', 'data-testid': 'pic-initials', style: `--pic-hue: ${hueOf(name)}`, 'aria-hidden': 'true' }, initials(name));
}

/** The picture of product `p` ({ name, image? }); decorative, the name is always written next to it. */
export function picture(p) {
  if (!p.image) return placeholder(p.name);
  const img = h('img', { class: 'pic', src: p.image, alt: '', 'data-testid': 'pic-image', loading: 'lazy', decoding: 'async' });
  img.addEventListener('error', () => img.replaceWith(placeholder(p.name)), { once: true });
  return img;
}
