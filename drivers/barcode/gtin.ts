/** GTIN arithmetic: GS1 General Specifications §7.9.1 (standard check digit) and UPC-E zero suppression. */

const DIGITS = /^[0-9]+$/;

export function isDigits(s: string): boolean {
  return DIGITS.test(s);
}

/**
 * Check digit of a numeric string given without its check digit, GS1 General
 * Specifications §7.9.1: weights 3,1,3,1,... from the rightmost digit, the check
 * digit brings the sum up to a multiple of 10. Used for GTIN-8/12/13/14, SSCC, GLN.
 */
export function gs1CheckDigit(body: string): number {
  let sum = 0;
  for (let i = body.length - 1, w = 3; i >= 0; i--, w = 4 - w) sum += (body.charCodeAt(i) - 48) * w;
  return (10 - (sum % 10)) % 10;
}

/** True when the last digit of a numeric string is its §7.9.1 check digit. */
export function hasValidCheckDigit(code: string): boolean {
  if (code.length < 2 || !isDigits(code)) return false;
  return gs1CheckDigit(code.slice(0, -1)) === code.charCodeAt(code.length - 1) - 48;
}

/** Left-pad a GTIN-8/12/13 to the 14-digit form used in AI (01) and in events. */
export function toGtin14(code: string): string {
  return code.padStart(14, '0');
}

/**
 * Expand an 8-digit UPC-E (number system, six data digits, check digit) to the
 * 12-digit UPC-A it stands for; undefined when the number system is not 0 or 1.
 * The check digit carries over unchanged (it is computed on the UPC-A).
 */
export function expandUpcE(upce: string): string | undefined {
  if (upce.length !== 8 || !isDigits(upce)) return undefined;
  const ns = upce[0];
  if (ns !== '0' && ns !== '1') return undefined;
  const d = upce.slice(1, 7);
  const check = upce[7];
  const last = d[5];
  let body: string;
  if (last === '0' || last === '1' || last === '2') body = `${d[0]}${d[1]}${last}0000${d[2]}${d[3]}${d[4]}`;
  else if (last === '3') body = `${d[0]}${d[1]}${d[2]}00000${d[3]}${d[4]}`;
  else if (last === '4') body = `${d[0]}${d[1]}${d[2]}${d[3]}00000${d[4]}`;
  else body = `${d[0]}${d[1]}${d[2]}${d[3]}${d[4]}0000${last}`;
  return `${ns}${body}${check}`;
}
