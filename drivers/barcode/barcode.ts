/**
 * From the text of one scanner frame to a reading or a rejection: AIM
 * identifier (aim.ts), GTIN check digit (gtin.ts, GS1 GS §7.9.1), GS1 element
 * strings (gs1.ts), restricted-circulation numbers (rcn.ts).
 */
import { describeAim, splitAim, type Symbology } from './aim.js';
import { expandUpcE, hasValidCheckDigit, isDigits, toGtin14 } from './gtin.js';
import { GS, parseElementString } from './gs1.js';
import { decodeRcn, type RcnDecoded, type RcnLayout } from './rcn.js';

export interface BarcodeOptions {
  /** National RCN layout; undefined leaves 02/20-29 numbers undecoded. */
  rcn?: RcnLayout;
  /** How to read 8 digits that come without an AIM identifier. */
  eightDigits: 'ean8' | 'upce';
  /** Split a leading AIM identifier off (default); false treats "]" as data. */
  aimIds?: boolean;
}

export interface BarcodeReading {
  raw: string;
  symbology: Symbology;
  aim?: string;
  /** GTIN-14 (GTIN-8/12/13 left-padded with zeros). */
  gtin?: string;
  addOn?: string;
  ais?: Record<string, string>;
  rcn?: RcnDecoded;
}

export type BarcodeResult = { ok: true; reading: BarcodeReading } | { ok: false; reason: string };

const PRINTABLE = /^[\x20-\x7e\x1d]*$/;

function reject(reason: string): BarcodeResult {
  return { ok: false, reason };
}

function firstBadByte(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x1d) || c > 0x7e) return `0x${c.toString(16).padStart(2, '0')} at position ${i}`;
  }
  return '';
}

/** A GTIN of 8, 12, 13 or 14 digits with its check digit verified, plus RCN decoding. */
function withGtin(reading: BarcodeReading, code: string, opts: BarcodeOptions): BarcodeResult {
  if (!hasValidCheckDigit(code)) {
    return reject(`${reading.symbology} ${code}: check digit ${code[code.length - 1]} is wrong (GS1 GS §7.9.1)`);
  }
  reading.gtin = toGtin14(code);
  const g13 = reading.gtin.slice(1);
  if (opts.rcn && reading.gtin[0] === '0') {
    const r = decodeRcn(g13, opts.rcn);
    if (r && !r.ok) return reject(r.reason);
    if (r) reading.rcn = r.rcn;
  }
  return { ok: true, reading };
}

function eanUpc(reading: BarcodeReading, data: string, modifier: string, opts: BarcodeOptions): BarcodeResult {
  if (!isDigits(data)) return reject(`EAN/UPC data must be digits, got "${data}"`);
  if (modifier === '1' || modifier === '2') {
    if (data.length !== (modifier === '1' ? 2 : 5)) return reject(`add-on of ${data.length} digits under ${reading.aim}`);
    reading.addOn = data;
    return { ok: true, reading };
  }
  if (modifier === '4') {
    if (data.length !== 8) return reject(`EAN-8 needs 8 digits, got ${data.length}`);
    reading.symbology = 'ean8';
    return withGtin(reading, data, opts);
  }
  let base = data;
  if (modifier === '3') {
    if (data.length !== 15 && data.length !== 18) return reject(`EAN-13 with add-on needs 15 or 18 digits, got ${data.length}`);
    base = data.slice(0, 13);
    reading.addOn = data.slice(13);
  }
  return byLength(reading, base, opts, 'ean8');
}

/** EAN-13, UPC-A, EAN-8/UPC-E, GTIN-14 by digit count. */
function byLength(reading: BarcodeReading, digits: string, opts: BarcodeOptions, eight: 'ean8' | 'upce'): BarcodeResult {
  switch (digits.length) {
    case 13:
      reading.symbology = digits[0] === '0' ? 'upca' : 'ean13';
      return withGtin(reading, digits, opts);
    case 12:
      reading.symbology = 'upca';
      return withGtin(reading, digits, opts);
    case 8: {
      if (eight === 'upce') {
        const a = expandUpcE(digits);
        if (!a) return reject(`UPC-E ${digits}: number system must be 0 or 1`);
        reading.symbology = 'upce';
        return withGtin(reading, a, opts);
      }
      reading.symbology = 'ean8';
      return withGtin(reading, digits, opts);
    }
    case 14:
      if (reading.symbology === 'unknown') reading.symbology = 'itf';
      return withGtin(reading, digits, opts);
    default:
      return reject(`EAN/UPC of ${digits.length} digits`);
  }
}

function gs1(reading: BarcodeReading, data: string): BarcodeResult {
  const p = parseElementString(data);
  if (!p.ok) return reject(`${reading.symbology}: ${p.reason}`);
  reading.ais = p.ais;
  if (p.ais['01']) reading.gtin = p.ais['01'];
  return { ok: true, reading };
}

/**
 * Decode the text of one frame. Never throws: every input ends as a reading
 * or as a rejection with a reason a technician can act on.
 */
export function decodeBarcode(text: string, opts: BarcodeOptions): BarcodeResult {
  if (text.length === 0) return reject('empty frame');
  if (!PRINTABLE.test(text)) return reject(`non-printable byte ${firstBadByte(text)}`);
  const { aim, data } = opts.aimIds === false ? { aim: undefined, data: text } : splitAim(text);
  if (aim) {
    const { symbology, gs1: isGs1 } = describeAim(aim);
    const reading: BarcodeReading = { raw: data, symbology, aim: aim.id };
    if (data.length === 0) return reject(`no data after AIM identifier ${aim.id}`);
    if (aim.code === 'E') return eanUpc(reading, data, aim.modifier, opts);
    if (isGs1) return gs1(reading, data);
    if (aim.code === 'I' && data.length === 14 && isDigits(data)) return withGtin(reading, data, opts);
    return { ok: true, reading };
  }
  if (text.startsWith(']') && opts.aimIds !== false) return reject(`malformed AIM identifier "${text.slice(0, 3)}"`);
  const reading: BarcodeReading = { raw: text, symbology: 'unknown' };
  if (isDigits(text) && [8, 12, 13, 14].includes(text.length)) return byLength(reading, text, opts, opts.eightDigits);
  if (text.includes(GS)) return gs1(reading, text);
  return { ok: true, reading };
}

/** Bytes of a rejected frame as safe printable text for events and logs: \xNN escapes, at most `max` chars. */
export function printableRaw(bytes: Buffer | string, max = 128): string {
  const s = typeof bytes === 'string' ? bytes : bytes.toString('latin1');
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const piece = c >= 0x20 && c <= 0x7e && c !== 0x5c ? s[i] : `\\x${c.toString(16).padStart(2, '0')}`;
    if (out.length + piece.length > max) return `${out}...`;
    out += piece;
  }
  return out;
}
