/**
 * Restricted Circulation Numbers for variable measure items: GTIN-13 with GS1
 * Prefix 02 or 20-29 (GS1 General Specifications §2.1.11-2.1.12), whose layout
 * (item reference, price or weight, verifier digit) each GS1 Member
 * Organisation defines for its country. Price/weight verifier digit:
 * §7.9.2 (weighting factors 2-, 3, 5+, 5-), §7.9.3 (four-digit field),
 * §7.9.4 (five-digit field).
 */
import { gs1CheckDigit, toGtin14 } from './gtin.js';

// §7.9.2: the result of each weighting factor per digit 0..9
const W2_MINUS = [0, 2, 4, 6, 8, 9, 1, 3, 5, 7];
const W3 = [0, 3, 6, 9, 2, 5, 8, 1, 4, 7];
const W5_PLUS = [0, 5, 1, 6, 2, 7, 3, 8, 4, 9];
const W5_MINUS = [0, 5, 9, 4, 8, 3, 7, 2, 6, 1];

const d = (s: string, i: number): number => s.charCodeAt(i) - 48;

/** §7.9.3: weights 2-, 2-, 3, 5-; sum times 3; the units digit. */
export function fourDigitPriceCheck(v: string): number {
  const sum = W2_MINUS[d(v, 0)] + W2_MINUS[d(v, 1)] + W3[d(v, 2)] + W5_MINUS[d(v, 3)];
  return (sum * 3) % 10;
}

/** §7.9.4: weights 5+, 2-, 5-, 5+, 2-; 10 minus the units digit of the sum, read back through 5-. */
export function fiveDigitPriceCheck(v: string): number {
  const sum = W5_PLUS[d(v, 0)] + W2_MINUS[d(v, 1)] + W5_MINUS[d(v, 2)] + W5_PLUS[d(v, 3)] + W2_MINUS[d(v, 4)];
  return W5_MINUS.indexOf((10 - (sum % 10)) % 10);
}

export type RcnMeasure = 'price' | 'weight' | 'count';

/**
 * One prefix of a national layout. `pattern` spells the 13 digits of the GTIN-13:
 * P GS1 prefix, I item reference, K price/weight verifier digit, V variable
 * measure, C GTIN check digit. Weight is in kg with `decimals` decimals, price
 * in the currency with `decimals` decimals.
 */
export interface RcnRule {
  prefix: string;
  pattern: string;
  measure: RcnMeasure;
  decimals: number;
}

export interface RcnLayout {
  name: string;
  currency?: string;
  rules: RcnRule[];
}

const rules = (prefixes: string[], pattern: string, measure: RcnMeasure, decimals: number): RcnRule[] =>
  prefixes.map((prefix) => ({ prefix, pattern, measure, decimals }));

const NORDIC: RcnRule[] = [
  ...rules(['20'], 'PPIIIIIIVVVVC', 'price', 2),
  ...rules(['21'], 'PPIIIIIIVVVVC', 'price', 1),
  ...rules(['22'], 'PPIIIIIIVVVVC', 'price', 0),
  ...rules(['23'], 'PPIIIIIIVVVVC', 'weight', 3),
  ...rules(['24'], 'PPIIIIIIVVVVC', 'weight', 2),
  ...rules(['25'], 'PPIIIIIIVVVVC', 'weight', 1),
];

/** National layouts. Sources are the GS1 Member Organisations' variable-measure guides. */
export const RCN_LAYOUTS = {
  // GS1 Germany, "Globale Artikelnummer GTIN in der Anwendung": 22/23 price (EUR, 5 digits
  // with verifier), 25/26 quantity, 28/29 weight in kg with 3 decimals
  de: {
    name: 'de',
    currency: 'EUR',
    rules: [
      ...rules(['22', '23'], 'PPIIIIKVVVVVC', 'price', 2),
      ...rules(['25', '26'], 'PPIIIIKVVVVVC', 'count', 0),
      ...rules(['28', '29'], 'PPIIIIKVVVVVC', 'weight', 3),
    ],
  },
  // GS1 UK, "How to barcode variable measure items": 20, 5-digit item, verifier, price in pence
  gb: { name: 'gb', currency: 'GBP', rules: rules(['20'], 'PPIIIIIKVVVVC', 'price', 2) },
  // GS1 Sweden, "How do I create my variable weight numbers": 20-22 price, 23-25 weight, no verifier
  se: { name: 'se', currency: 'SEK', rules: NORDIC },
  // Norway uses the Swedish layout in practice (no separate GS1 Norway document found)
  no: { name: 'no', currency: 'NOK', rules: NORDIC },
  // A common store-defined layout: 02 = UPC number system 2 (5-digit item, verifier,
  // 4-digit price); 20-29 = 5-digit item, 5-digit price, no verifier
  generic: {
    name: 'generic',
    rules: [...rules(['02'], 'PPIIIIIKVVVVC', 'price', 2), ...rules(['20', '21', '22', '23', '24', '25', '26', '27', '28', '29'], 'PPIIIIIVVVVVC', 'price', 2)],
  },
} satisfies Record<string, RcnLayout>;

export type RcnLayoutName = keyof typeof RCN_LAYOUTS;

export interface RcnDecoded {
  layout: string;
  prefix: string;
  item: string;
  measure: RcnMeasure;
  /** The variable digits as an integer (minor currency units, or weight units). */
  value: number;
  decimals: number;
  grams?: number;
  price?: { minor: number; decimals: number; currency?: string };
  count?: number;
  /** GTIN-14 with the variable digits zeroed: the key for a catalog lookup. */
  lookupGtin: string;
}

export function isRcnPrefix(gtin13: string): boolean {
  return gtin13.length === 13 && (gtin13.startsWith('02') || gtin13[0] === '2');
}

/** A rule is well formed when its pattern has 13 letters, P in front, C at the end. */
export function ruleProblem(r: RcnRule): string | undefined {
  if (!/^PP[IKV]{10}C$/.test(r.pattern)) return `pattern ${r.pattern} must be 13 letters: PP, then I/K/V, then C`;
  const v = r.pattern.split('V').length - 1;
  const k = r.pattern.split('K').length - 1;
  if (v === 0) return `pattern ${r.pattern} has no V digits`;
  if (k > 1 || (k === 1 && v !== 4 && v !== 5)) return `pattern ${r.pattern}: a verifier digit K needs 4 or 5 V digits`;
  if (!/^(02|2[0-9])$/.test(r.prefix)) return `prefix ${r.prefix} is not an RCN prefix (02, 20-29)`;
  if (r.measure === 'weight' && r.decimals > 3) return `weight decimals ${r.decimals} above 3 (grams resolution)`;
  return undefined;
}

export type RcnResult = { ok: true; rcn: RcnDecoded } | { ok: false; reason: string } | undefined;

/**
 * Decode a GTIN-13 (check digit already verified) by a layout. Undefined when
 * it is not an RCN or the layout has no rule for its prefix (then it is a plain
 * store-internal number); a reason when the verifier digit is wrong.
 */
export function decodeRcn(gtin13: string, layout: RcnLayout): RcnResult {
  if (!isRcnPrefix(gtin13)) return undefined;
  const rule = layout.rules.find((r) => r.prefix === gtin13.slice(0, 2));
  if (!rule) return undefined;
  let item = '';
  let value = '';
  let verifier = -1;
  for (let i = 0; i < 13; i++) {
    const p = rule.pattern[i];
    if (p === 'I') item += gtin13[i];
    else if (p === 'V') value += gtin13[i];
    else if (p === 'K') verifier = d(gtin13, i);
  }
  if (verifier >= 0) {
    const expected = value.length === 4 ? fourDigitPriceCheck(value) : fiveDigitPriceCheck(value);
    if (expected !== verifier) {
      return { ok: false, reason: `${rule.measure} verifier digit of ${gtin13} is ${verifier}, expected ${expected} (GS1 GS §7.9, layout ${layout.name})` };
    }
  }
  const n = Number(value);
  const rcn: RcnDecoded = {
    layout: layout.name,
    prefix: rule.prefix,
    item,
    measure: rule.measure,
    value: n,
    decimals: rule.decimals,
    lookupGtin: toGtin14(zeroed(gtin13, rule)),
  };
  if (rule.measure === 'weight') rcn.grams = n * 10 ** (3 - rule.decimals);
  else if (rule.measure === 'price') rcn.price = { minor: n, decimals: rule.decimals, ...(layout.currency ? { currency: layout.currency } : {}) };
  else rcn.count = n;
  return { ok: true, rcn };
}

function zeroed(gtin13: string, rule: RcnRule): string {
  let body = '';
  for (let i = 0; i < 12; i++) {
    const p = rule.pattern[i];
    body += p === 'V' || p === 'K' ? '0' : gtin13[i];
  }
  return body + String(gs1CheckDigit(body));
}

/** The first problem of a device's `rcnRules`, naming the rule. */
export function rcnRulesProblem(c: { rcnRules?: RcnRule[] }): string | undefined {
  for (const [i, r] of (c.rcnRules ?? []).entries()) {
    const p = ruleProblem(r);
    if (p) return `rcnRules.${i}: ${p}`;
  }
  return undefined;
}
