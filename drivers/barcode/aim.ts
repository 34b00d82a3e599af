/**
 * AIM symbology identifiers, ISO/IEC 15424: "]" + code character + modifier
 * character, sent by the scanner before the data when enabled. GS1 General
 * Specifications §5.1.2 lists the ones that announce GS1 data (FNC1 in first
 * position): ]C1, ]e0, ]d2, ]Q3, ]J1 and the EAN/UPC ones ]E0 and ]E4.
 */

export interface Aim {
  /** The three characters as received, e.g. "]E0". */
  id: string;
  code: string;
  modifier: string;
}

const AIM = /^\][A-Za-z][0-9A-Za-z]/;

/** Split a leading AIM identifier off the data; `aim` is undefined when there is none. */
export function splitAim(text: string): { aim?: Aim; data: string } {
  if (!AIM.test(text)) return { data: text };
  return { aim: { id: text.slice(0, 3), code: text[1], modifier: text[2] }, data: text.slice(3) };
}

export type Symbology =
  | 'ean13'
  | 'upca'
  | 'upce'
  | 'ean8'
  | 'ean-addon'
  | 'gs1-128'
  | 'code128'
  | 'gs1-databar'
  | 'datamatrix'
  | 'gs1-datamatrix'
  | 'qr'
  | 'gs1-qr'
  | 'dotcode'
  | 'gs1-dotcode'
  | 'code39'
  | 'code93'
  | 'codabar'
  | 'itf'
  | 'pdf417'
  | 'aztec'
  | 'other'
  | 'unknown';

/** What an AIM identifier says about the symbology and whether the data is a GS1 element string. */
export function describeAim(aim: Aim): { symbology: Symbology; gs1: boolean } {
  const m = aim.modifier;
  switch (aim.code) {
    case 'E':
      // ]E0 EAN-13/UPC-A/UPC-E, ]E1 two-digit add-on, ]E2 five-digit add-on,
      // ]E3 EAN-13/UPC-A/UPC-E with add-on, ]E4 EAN-8
      if (m === '4') return { symbology: 'ean8', gs1: false };
      if (m === '1' || m === '2') return { symbology: 'ean-addon', gs1: false };
      return { symbology: 'ean13', gs1: false };
    case 'C':
      // ]C1 FNC1 in first position (GS1-128), ]C2 FNC1 in second position
      return m === '1' ? { symbology: 'gs1-128', gs1: true } : { symbology: 'code128', gs1: false };
    case 'e':
      return { symbology: 'gs1-databar', gs1: true };
    case 'd':
      return m === '2' || m === '5' ? { symbology: 'gs1-datamatrix', gs1: true } : { symbology: 'datamatrix', gs1: false };
    case 'Q':
      return m === '3' || m === '4' ? { symbology: 'gs1-qr', gs1: true } : { symbology: 'qr', gs1: false };
    case 'J':
      return m === '1' ? { symbology: 'gs1-dotcode', gs1: true } : { symbology: 'dotcode', gs1: false };
    case 'A':
      return { symbology: 'code39', gs1: false };
    case 'G':
      return { symbology: 'code93', gs1: false };
    case 'F':
      return { symbology: 'codabar', gs1: false };
    case 'I':
      return { symbology: 'itf', gs1: false };
    case 'L':
      return { symbology: 'pdf417', gs1: false };
    case 'z':
      return { symbology: 'aztec', gs1: false };
    default:
      return { symbology: 'other', gs1: false };
  }
}
