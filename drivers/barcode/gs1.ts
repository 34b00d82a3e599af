/**
 * GS1 element strings (GS1 General Specifications §3 "GS1 Application
 * Identifier definitions", §7.8 "Processing of data from a GS1 symbology").
 * FNC1 used as a separator reaches the host as GS (0x1D), §7.8.4.
 */
import { hasValidCheckDigit, isDigits } from './gtin.js';

export const GS = '\u001d';

interface AiDef {
  kind: 'N' | 'X';
  min: number;
  max: number;
  /** Last digit is a §7.9.1 check digit. */
  check?: boolean;
  /** YYMMDD with DD = 00 allowed (§7.12). */
  date?: boolean;
}

const defs = new Map<string, AiDef>();
const fixedN = (len: number, extra: Partial<AiDef> = {}): AiDef => ({ kind: 'N', min: len, max: len, ...extra });
const varN = (max: number, min = 1): AiDef => ({ kind: 'N', min, max });
const varX = (max: number, min = 1): AiDef => ({ kind: 'X', min, max });

function def(ai: string, d: AiDef): void {
  defs.set(ai, d);
}
/** AIs written "310n" in §3: the fourth digit is the implied decimal point position. */
function defN(prefix: string, d: AiDef, last = 9): void {
  for (let n = 0; n <= last; n++) defs.set(`${prefix}${n}`, d);
}

// §3.2 "GS1 Application Identifiers in numerical order" (the subset a retail lane meets)
def('00', fixedN(18, { check: true }));
def('01', fixedN(14, { check: true }));
def('02', fixedN(14, { check: true }));
def('10', varX(20));
for (const ai of ['11', '12', '13', '15', '16', '17']) def(ai, fixedN(6, { date: true }));
def('20', fixedN(2));
def('21', varX(20));
def('22', varX(20));
def('235', varX(28));
def('240', varX(30));
def('241', varX(30));
def('242', varN(6));
def('243', varX(20));
def('250', varX(30));
def('251', varX(30));
def('253', varX(30, 13));
def('254', varX(20));
def('255', varN(25, 13));
def('30', varN(8));
for (let p = 310; p <= 369; p++) defN(String(p), fixedN(6), 5);
def('37', varN(8));
defN('390', varN(15));
defN('391', varN(18, 4));
defN('392', varN(15));
defN('393', varN(18, 4));
defN('394', fixedN(4), 3);
defN('395', fixedN(6), 6);
def('400', varX(30));
def('401', varX(30));
def('402', fixedN(17, { check: true }));
def('403', varX(30));
for (let p = 410; p <= 417; p++) def(String(p), fixedN(13, { check: true }));
def('420', varX(20));
def('421', varX(12, 4));
def('422', fixedN(3));
def('423', varN(15, 3));
def('424', fixedN(3));
def('425', varN(15, 3));
def('426', fixedN(3));
def('427', varX(3));
def('7001', fixedN(13));
def('7002', varX(30));
def('7003', fixedN(10));
def('7004', varN(4));
def('7005', varX(12));
def('7006', fixedN(6, { date: true }));
def('7007', varN(12, 6));
def('7008', varX(3));
def('7009', varX(10));
def('7010', varX(2));
def('8001', fixedN(14));
def('8002', varX(20));
def('8003', varX(30, 14));
def('8004', varX(30));
def('8005', fixedN(6));
def('8006', fixedN(18));
def('8007', varX(34));
def('8008', varN(12, 8));
def('8017', fixedN(18, { check: true }));
def('8018', fixedN(18, { check: true }));
def('8020', varX(25));
def('8200', varX(70));
def('90', varX(30));
for (let p = 91; p <= 99; p++) def(String(p), varX(90));

/**
 * §7.8.5 "Element strings with predefined length": these need no FNC1 after
 * them; every other element string is followed by FNC1 unless it is last.
 */
const PREDEFINED = new Set([
  '00',
  '01',
  '02',
  '03',
  '04',
  '11',
  '12',
  '13',
  '14',
  '15',
  '16',
  '17',
  '18',
  '19',
  '20',
  '31',
  '32',
  '33',
  '34',
  '35',
  '36',
  '41',
]);

/** GS1 AI encodable character set 82, §7.11 Figure 7.11-1. */
const CSET82 = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]*$/;

export type Gs1Parse = { ok: true; ais: Record<string, string> } | { ok: false; reason: string };

function validDate(v: string): boolean {
  const mm = Number(v.slice(2, 4));
  const dd = Number(v.slice(4, 6));
  return mm >= 1 && mm <= 12 && dd >= 0 && dd <= 31;
}

function findAi(s: string, at: number): { ai: string; d: AiDef } | undefined {
  for (const len of [2, 3, 4]) {
    const ai = s.slice(at, at + len);
    const d = defs.get(ai);
    if (d && ai.length === len) return { ai, d };
  }
  return undefined;
}

/**
 * Parse a GS1 element string (the data after a ]C1, ]e0, ]d2, ]Q3 identifier,
 * with FNC1 separators as GS) into AI -> value. Never throws: malformed data
 * ends as a reason naming the position and the AI.
 */
export function parseElementString(input: string): Gs1Parse {
  let s = input;
  while (s.startsWith(GS)) s = s.slice(1); // a leading FNC1 sent as GS by some scanners
  if (s.length === 0) return { ok: false, reason: 'empty GS1 element string' };
  const ais: Record<string, string> = {};
  let at = 0;
  while (at < s.length) {
    if (s[at] === GS) {
      at++;
      continue;
    }
    const found = findAi(s, at);
    if (!found) return { ok: false, reason: `unknown or malformed GS1 AI at position ${at} ("${s.slice(at, at + 4)}")` };
    const { ai, d } = found;
    const start = at + ai.length;
    let value: string;
    if (d.min === d.max) {
      value = s.slice(start, start + d.max);
      if (value.length < d.max || value.includes(GS)) {
        return { ok: false, reason: `AI (${ai}) needs ${d.max} characters, got "${value.split(GS)[0]}"` };
      }
      at = start + d.max;
      if (!PREDEFINED.has(ai.slice(0, 2)) && at < s.length && s[at] === GS) at++;
    } else {
      let end = s.indexOf(GS, start);
      if (end < 0) end = s.length;
      value = s.slice(start, end);
      if (value.length > d.max) return { ok: false, reason: `AI (${ai}) value longer than ${d.max} characters (FNC1 separator missing?)` };
      if (value.length < d.min) return { ok: false, reason: `AI (${ai}) value shorter than ${d.min} characters` };
      at = end;
    }
    if (d.kind === 'N' && !isDigits(value)) return { ok: false, reason: `AI (${ai}) must be numeric, got "${value}"` };
    if (d.kind === 'X' && !CSET82.test(value)) return { ok: false, reason: `AI (${ai}) has characters outside GS1 character set 82` };
    if (d.check && !hasValidCheckDigit(value)) return { ok: false, reason: `AI (${ai}) ${value} has a wrong check digit` };
    if (d.date && !validDate(value)) return { ok: false, reason: `AI (${ai}) ${value} is not a YYMMDD date` };
    if (ai in ais && ais[ai] !== value) return { ok: false, reason: `AI (${ai}) appears twice with different values` };
    ais[ai] = value;
  }
  return { ok: true, ais };
}

/**
 * Value of a decimal AI (310n, 392n, ...) as a number: the last digit of the AI
 * is the number of decimals (§3.6). For 391n/393n the ISO 4217 currency comes first.
 */
export function aiDecimal(ai: string, value: string): { amount: number; decimals: number; currency?: string } | undefined {
  if (ai.length !== 4 || !isDigits(ai) || !isDigits(value)) return undefined;
  const decimals = Number(ai[3]);
  let digits = value;
  let currency: string | undefined;
  if (ai.startsWith('391') || ai.startsWith('393')) {
    currency = value.slice(0, 3);
    digits = value.slice(3);
  }
  return { amount: Number(digits) / 10 ** decimals, decimals, currency };
}
