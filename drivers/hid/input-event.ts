/**
 * Linux evdev records (linux/input.h struct input_event): struct timeval
 * (two longs), __u16 type, __u16 code, __s32 value; little-endian on the Pi.
 * 24 bytes with 64-bit longs (arm64, x86_64), 16 bytes on 32-bit (armhf).
 * Records split across reads are joined.
 */

export interface InputEvent {
  type: number;
  code: number;
  value: number;
}

/** Event types and key codes used here (linux/input-event-codes.h). */
export const EV_SYN = 0x00;
export const EV_KEY = 0x01;
export const EV_MSC = 0x04;

export class InputEventDecoder {
  private rest: Buffer = Buffer.alloc(0);

  constructor(readonly recordSize: 16 | 24 = process.arch === 'arm64' || process.arch === 'x64' ? 24 : 16) {}

  push(chunk: Buffer): InputEvent[] {
    const buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    const n = Math.floor(buf.length / this.recordSize);
    const out: InputEvent[] = [];
    const off = this.recordSize - 8; // type, code, value follow the timeval
    for (let i = 0; i < n; i++) {
      const at = i * this.recordSize + off;
      out.push({ type: buf.readUInt16LE(at), code: buf.readUInt16LE(at + 2), value: buf.readInt32LE(at + 4) });
    }
    this.rest = Buffer.from(buf.subarray(n * this.recordSize));
    return out;
  }

  /** Bytes of an incomplete record left over. */
  get pending(): number {
    return this.rest.length;
  }

  reset(): void {
    this.rest = Buffer.alloc(0);
  }
}

/** Encode records (for the simulated wedge and tests). */
export function encodeInputEvents(events: InputEvent[], recordSize: 16 | 24, timeUs = 0): Buffer {
  const buf = Buffer.alloc(events.length * recordSize);
  events.forEach((e, i) => {
    const at = i * recordSize;
    const sec = Math.floor(timeUs / 1e6);
    const usec = timeUs % 1e6;
    if (recordSize === 24) {
      buf.writeBigInt64LE(BigInt(sec), at);
      buf.writeBigInt64LE(BigInt(usec), at + 8);
    } else {
      buf.writeInt32LE(sec, at);
      buf.writeInt32LE(usec, at + 4);
    }
    buf.writeUInt16LE(e.type, at + recordSize - 8);
    buf.writeUInt16LE(e.code, at + recordSize - 6);
    buf.writeInt32LE(e.value, at + recordSize - 4);
  });
  return buf;
}
