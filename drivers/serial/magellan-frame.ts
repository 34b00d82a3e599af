/**
 * Datalogic Magellan / NCR single-cable RS-232 scanner-scale frames, after the
 * framer removed the prefix ("S" by default) and the terminator (CR):
 *   08<label id><data>   a barcode (label ids: Magellan Product Reference
 *                        Guide, "Label ID" for RS-232 single cable: A UPC-A,
 *                        E UPC-E, FF EAN-8, F EAN-13, B1 Code 39, B2 I 2 of 5,
 *                        B3 Code 128, ]e0 GS1 DataBar)
 *   11<weight>           answer to S11 (stable weight only)
 *   14<s>[<weight>]      answer to S14 scale monitor: 0 not ready (no zero),
 *                        1 unstable, 2 over capacity, 3 stable zero,
 *                        4 stable non-zero + weight, 5 under zero
 *                        (Datalogic knowledge base KA-01089)
 * Weight has no decimal point: 4 digits in pounds (hundredths), 5 in kg
 * (thousandths).
 */
import { isDigits } from '../barcode/gtin.js';

export type MagellanFrame =
  | { kind: 'barcode'; labelId: string; data: string; symbology: MagellanSymbology }
  | { kind: 'weight'; status: 0 | 1 | 2 | 3 | 4 | 5; digits?: string }
  | { kind: 'other'; body: string }
  | { kind: 'reject'; reason: string };

export type MagellanSymbology = 'upca' | 'upce' | 'ean8' | 'ean13' | 'code39' | 'itf' | 'code128' | 'gs1-databar' | 'gs1-128';

/** Longest first, so "FF" wins over "F". */
export const DEFAULT_LABEL_IDS: [string, MagellanSymbology][] = [
  [']e0', 'gs1-databar'],
  [']C1', 'gs1-128'],
  ['FF', 'ean8'],
  ['B1', 'code39'],
  ['B2', 'itf'],
  ['B3', 'code128'],
  ['A', 'upca'],
  ['E', 'upce'],
  ['F', 'ean13'],
];

const PRINTABLE = /^[\x20-\x7e\x1d]*$/;

export function parseMagellanFrame(body: string, labelIds: [string, MagellanSymbology][] = DEFAULT_LABEL_IDS): MagellanFrame {
  if (!PRINTABLE.test(body)) return { kind: 'reject', reason: 'non-printable byte in frame' };
  const cmd = body.slice(0, 2);
  const rest = body.slice(2);
  if (cmd === '08') {
    const hit = [...labelIds].sort((a, b) => b[0].length - a[0].length).find(([id]) => rest.startsWith(id));
    if (!hit) return { kind: 'reject', reason: `S08 barcode with an unknown label id ("${rest.slice(0, 3)}")` };
    const data = rest.slice(hit[0].length);
    if (data.length === 0) return { kind: 'reject', reason: `S08 barcode with label id ${hit[0]} and no data` };
    return { kind: 'barcode', labelId: hit[0], data, symbology: hit[1] };
  }
  if (cmd === '11') {
    if (!isDigits(rest) || (rest.length !== 4 && rest.length !== 5)) return { kind: 'reject', reason: `S11 weight must be 4 or 5 digits, got "${rest}"` };
    return { kind: 'weight', status: 4, digits: rest };
  }
  if (cmd === '14') {
    const s = rest[0];
    const digits = rest.slice(1);
    if (s === '4') {
      if (!isDigits(digits) || (digits.length !== 4 && digits.length !== 5))
        return { kind: 'reject', reason: `S144 weight must be 4 or 5 digits, got "${digits}"` };
      return { kind: 'weight', status: 4, digits };
    }
    if (s === '0' || s === '1' || s === '2' || s === '3' || s === '5') {
      if (digits.length > 0) return { kind: 'reject', reason: `S14${s} carries no weight, got "${digits}"` };
      return { kind: 'weight', status: Number(s) as 0 | 1 | 2 | 3 | 5 };
    }
    return { kind: 'reject', reason: `S14 with unknown status "${rest.slice(0, 1)}"` };
  }
  if (/^[0-9]{2}/.test(body)) return { kind: 'other', body };
  return { kind: 'reject', reason: `not a scanner-scale frame ("${body.slice(0, 8)}")` };
}

/** Grams and unit from a Magellan weight field (no decimal point). */
export function magellanGrams(digits: string, unit: 'auto' | 'kg' | 'lb'): { grams: number; unit: 'kg' | 'lb' } {
  const u = unit === 'auto' ? (digits.length === 4 ? 'lb' : 'kg') : unit;
  const n = Number(digits);
  // lb: hundredths of a pound; kg: thousandths of a kilogram
  return u === 'lb' ? { grams: Math.round(n * 4.5359237 * 10) / 10, unit: 'lb' } : { grams: n, unit: 'kg' };
}

/**
 * A Magellan barcode as text the common decoder (barcode.ts) reads: the label
 * id mapped to the matching AIM identifier, so check digits and GS1 parsing are
 * the same as for any scanner.
 */
export function magellanAsText(f: { labelId: string; data: string; symbology: MagellanSymbology }): { text: string; eightDigits: 'ean8' | 'upce' } {
  switch (f.symbology) {
    case 'upca':
      // UPC-A 12 digits, + 2/5-digit add-on; a Code 128 supplemental ("8100...") is not kept
      if (f.data.length > 17) return { text: `]E00${f.data.slice(0, 12)}`, eightDigits: 'ean8' };
      return { text: f.data.length > 12 ? `]E30${f.data}` : `]E00${f.data}`, eightDigits: 'ean8' };
    case 'upce':
      return { text: f.data, eightDigits: 'upce' };
    case 'ean8':
      return { text: `]E4${f.data}`, eightDigits: 'ean8' };
    case 'ean13':
      if (f.data.length > 18) return { text: `]E0${f.data.slice(0, 13)}`, eightDigits: 'ean8' };
      return { text: f.data.length > 13 ? `]E3${f.data}` : `]E0${f.data}`, eightDigits: 'ean8' };
    case 'code39':
      return { text: `]A0${f.data}`, eightDigits: 'ean8' };
    case 'itf':
      return { text: `]I0${f.data}`, eightDigits: 'ean8' };
    case 'code128':
      return { text: `]C0${f.data}`, eightDigits: 'ean8' };
    case 'gs1-databar':
      return { text: `]e0${f.data}`, eightDigits: 'ean8' };
    case 'gs1-128':
      return { text: `]C1${f.data}`, eightDigits: 'ean8' };
  }
}
