/**
 * Mettler Toledo 8217 protocol frames (METTLER TOLEDO DIVA Service Manual
 * 72191202, §6.1.3.2 "Command Descriptions" and "Scale Status Byte Bit
 * Definitions"), after the framer removed STX and CR:
 *   WW.WW[N]    weight in lb (N: net)          WW.WWW[N]   weight in kg
 *   ?<status>   status byte instead of a weight (motion, out of range, ...)
 * Status byte bits: 0 motion, 1 over capacity, 2 under zero, 3 outside zero
 * capture range, 4 center of zero, 5 net weight, 6 always 1, 7 even parity
 * (stripped by a 7E1 UART, present when the port runs 8N1).
 */

export interface ToledoStatus {
  motion: boolean;
  overCapacity: boolean;
  underZero: boolean;
  outsideZeroCapture: boolean;
  centerOfZero: boolean;
  net: boolean;
}

export type ToledoFrame =
  | { kind: 'weight'; raw: string; value: number; decimals: number; net: boolean }
  | { kind: 'status'; byte: number; status: ToledoStatus }
  | { kind: 'reject'; reason: string };

const WEIGHT = /^(\d{1,4})\.(\d{2,3})(N?)$/;

export function decodeStatusByte(byte: number): ToledoStatus {
  return {
    motion: (byte & 0x01) !== 0,
    overCapacity: (byte & 0x02) !== 0,
    underZero: (byte & 0x04) !== 0,
    outsideZeroCapture: (byte & 0x08) !== 0,
    centerOfZero: (byte & 0x10) !== 0,
    net: (byte & 0x20) !== 0,
  };
}

export function parseToledoFrame(body: Buffer): ToledoFrame {
  if (body.length === 2 && body[0] === 0x3f) {
    const byte = body[1] & 0x7f; // bit 7 is parity
    if (!(byte & 0x40)) return { kind: 'reject', reason: `status byte 0x${body[1].toString(16)} lacks bit 6 (always 1)` };
    return { kind: 'status', byte, status: decodeStatusByte(byte) };
  }
  const text = body.toString('latin1');
  const m = WEIGHT.exec(text);
  if (!m) return { kind: 'reject', reason: `not an 8217 weight or status ("${text.slice(0, 12).replace(/[^\x20-\x7e]/g, '?')}")` };
  return { kind: 'weight', raw: text, value: Number(`${m[1]}.${m[2]}`), decimals: m[2].length, net: m[3] === 'N' };
}

/** lb with 2 decimals, kg with 3 (§6.1.3.2); `unit` overrides. */
export function toledoGrams(f: { value: number; decimals: number }, unit: 'auto' | 'kg' | 'lb'): { grams: number; unit: 'kg' | 'lb' } {
  const u = unit === 'auto' ? (f.decimals === 3 ? 'kg' : 'lb') : unit;
  return u === 'kg' ? { grams: Math.round(f.value * 1000 * 10) / 10, unit: 'kg' } : { grams: Math.round(f.value * 453.59237 * 10) / 10, unit: 'lb' };
}
