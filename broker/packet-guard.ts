import type { Duplex } from 'node:stream';

/** Largest Remaining Length of a CONNECT this broker takes: client id, user name, password and a small will. */
export const MAX_CONNECT_BYTES = 8192;
/** Room for a PUBLISH's fixed and variable header (topic, packet id) beside its payload. */
export const HEADER_ALLOWANCE_BYTES = 1024;

export interface PacketLimits {
  /** Largest Remaining Length of the first packet (the CONNECT). */
  connectBytes: number;
  /** Largest Remaining Length of every packet after it. */
  packetBytes: number;
}

export interface Refusal {
  /** payload-size: a PUBLISH over the limit after CONNECT (as authorizePublish counts a payload over events.maxPayloadBytes). */
  reason: 'packet-size' | 'payload-size' | 'first-packet' | 'malformed-length';
  message: string;
}

const CONNECT = 1;
const PUBLISH = 3;

/**
 * Reads MQTT fixed headers [MQTT-2.2] as bytes pass, without keeping them: a packet
 * whose Remaining Length is over its limit is refused from its header alone, before
 * the parser (mqtt-packet buffers a whole packet) has to hold its body.
 */
export class PacketGuard {
  private first = true;
  /** Body bytes of the current packet still to pass; -1 while a header is being read. */
  private body = -1;
  private type = 0;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;

  constructor(private readonly limits: PacketLimits) {}

  /** Takes the next bytes of the stream; a refusal means the connection must close. */
  check(chunk: Buffer): Refusal | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.body > 0) {
        const n = Math.min(this.body, chunk.length - i);
        this.body -= n;
        i += n;
        continue;
      }
      if (this.body === 0) this.body = -1;
      const byte = chunk[i++]!;
      if (this.type === 0) {
        this.type = byte >> 4 || 16; // type 0 is reserved; keep it non-zero so the length is still read
        if (this.first && this.type !== CONNECT)
          // [MQTT-3.1.0-1] the first packet from a client is a CONNECT
          return { reason: 'first-packet', message: `the first packet is type ${byte >> 4}, not CONNECT [MQTT-3.1.0-1]` };
        continue;
      }
      // [MQTT-2.2.3] Remaining Length: 7 bits a byte, at most four bytes
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      if (byte & 0x80) {
        if (this.lengthBytes === 4) return { reason: 'malformed-length', message: 'Remaining Length longer than four bytes [MQTT-2.2.3]' };
        continue;
      }
      const limit = this.first ? this.limits.connectBytes : this.limits.packetBytes;
      if (this.length > limit) {
        const what = this.first ? 'a CONNECT' : this.type === PUBLISH ? 'a PUBLISH' : 'a packet';
        const reason = !this.first && this.type === PUBLISH ? 'payload-size' : 'packet-size';
        return { reason, message: `${what} of ${this.length} bytes declared, over the limit of ${limit}` };
      }
      this.first = false;
      this.body = this.length;
      this.type = 0;
      this.length = 0;
      this.multiplier = 1;
      this.lengthBytes = 0;
    }
    if (this.body === 0) this.body = -1;
    return undefined;
  }
}

/**
 * Puts a PacketGuard in front of whatever reads `conn` through `read()` (aedes reads
 * its connection on 'readable', lib/client.js): a refused stream is destroyed before
 * the bytes reach the parser, and the stream itself holds no more than its highWaterMark.
 */
export function guardReads(conn: Duplex, limits: PacketLimits, onRefuse: (r: Refusal) => void): void {
  const guard = new PacketGuard(limits);
  const read = conn.read.bind(conn);
  conn.read = (size?: number): unknown => {
    const chunk = read(size) as Buffer | string | null;
    if (chunk === null || conn.destroyed) return chunk;
    const refusal = guard.check(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    if (!refusal) return chunk;
    onRefuse(refusal);
    conn.destroy();
    return null;
  };
}
