/**
 * Cuts a serial byte stream into frames: optional prefix (e.g. STX), a suffix
 * (CR, LF, CRLF or any bytes), bounded length. Frames split across reads are
 * joined; bytes outside frames, overlong runs and leftovers end as rejections
 * (one per run, not one per byte), and memory stays bounded by maxLength.
 */

export type FrameEvent = { kind: 'frame'; bytes: Buffer } | { kind: 'reject'; bytes: Buffer; reason: string };

export interface FramerOptions {
  prefix?: Buffer;
  suffix: Buffer;
  /** Longest frame body accepted; a longer run is rejected once and skipped up to the next suffix. */
  maxLength: number;
}

const CR = 0x0d;
const LF = 0x0a;

export class Framer {
  private buf: Buffer = Buffer.alloc(0);
  /** Inside an overlong run: drop bytes until the next suffix. */
  private overflowing = false;
  private readonly prefix?: Buffer;
  private readonly prefixIsControl: boolean;
  private readonly suffix: Buffer;
  private readonly max: number;

  constructor(opts: FramerOptions) {
    if (opts.suffix.length === 0) throw new Error('framer suffix must not be empty');
    this.prefix = opts.prefix && opts.prefix.length > 0 ? opts.prefix : undefined;
    this.prefixIsControl = Boolean(this.prefix?.some((c) => c < 0x20 || c === 0x7f));
    this.suffix = opts.suffix;
    this.max = opts.maxLength;
  }

  push(chunk: Buffer): FrameEvent[] {
    const out: FrameEvent[] = [];
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.overflowing && !this.skip()) break;
      const end = this.buf.indexOf(this.suffix);
      if (end >= 0) {
        const body = this.buf.subarray(0, end);
        this.buf = this.buf.subarray(end + this.suffix.length);
        this.frame(body, out);
        continue;
      }
      // the tail may hold the first bytes of a multi-byte suffix (CR of CRLF): not body yet
      if (this.pendingBodyLength() > this.max + this.suffix.length - 1) {
        out.push({
          kind: 'reject',
          bytes: this.buf.subarray(0, 64),
          reason: `no ${this.describeSuffix()} within ${this.max} bytes (frame too long, garbage or wrong suffix configured)`,
        });
        this.overflowing = true;
        // only the tail can hold the start of a prefix or suffix split across reads
        this.buf = this.buf.subarray(Math.max(0, this.buf.length - this.keepTail()));
        continue;
      }
      break;
    }
    return out;
  }

  /**
   * In an overlong run: resynchronise at the next prefix (when framed by one)
   * or just after the next suffix. False when the buffer holds neither yet.
   */
  private skip(): boolean {
    const sfx = this.buf.indexOf(this.suffix);
    const pfx = this.prefix ? this.buf.indexOf(this.prefix) : -1;
    if (pfx >= 0 && (sfx < 0 || pfx < sfx)) {
      this.buf = this.buf.subarray(pfx);
      this.overflowing = false;
      return true;
    }
    if (sfx >= 0) {
      this.buf = this.buf.subarray(sfx + this.suffix.length);
      this.overflowing = false;
      return true;
    }
    this.buf = this.buf.subarray(Math.max(0, this.buf.length - this.keepTail()));
    return false;
  }

  private keepTail(): number {
    return Math.max(this.suffix.length, this.prefix?.length ?? 0) - 1;
  }

  /** End of input (port closed): a partial frame becomes a rejection. */
  flush(): FrameEvent[] {
    const rest = this.buf;
    const wasOverflowing = this.overflowing;
    this.reset();
    if (rest.length === 0 || wasOverflowing) return [];
    const trimmed = this.trimLineEnds(rest);
    if (trimmed.length === 0) return [];
    return [{ kind: 'reject', bytes: trimmed, reason: 'partial frame (no suffix before the port closed)' }];
  }

  reset(): void {
    this.buf = Buffer.alloc(0);
    this.overflowing = false;
  }

  private pendingBodyLength(): number {
    if (!this.prefix) return this.buf.length;
    const at = this.prefixIsControl ? this.buf.lastIndexOf(this.prefix) : this.buf.indexOf(this.prefix);
    return at < 0 ? this.buf.length : this.buf.length - at - this.prefix.length;
  }

  private frame(raw: Buffer, out: FrameEvent[]): void {
    let body = this.trimLineEnds(raw);
    if (this.prefix) {
      // A control-character prefix (STX) cannot occur in data, so its last occurrence starts
      // the frame (resynchronising after a lost suffix); a printable one ("S" on a Magellan)
      // may recur in the data, so the first one does.
      const at = this.prefixIsControl ? body.lastIndexOf(this.prefix) : body.indexOf(this.prefix);
      if (at < 0) {
        if (body.length > 0) out.push({ kind: 'reject', bytes: body, reason: 'frame without its prefix' });
        return;
      }
      if (at > 0) out.push({ kind: 'reject', bytes: body.subarray(0, at), reason: 'bytes before the frame prefix' });
      body = body.subarray(at + this.prefix.length);
    }
    if (body.length > this.max) {
      out.push({ kind: 'reject', bytes: body.subarray(0, 64), reason: `frame of ${body.length} bytes over the limit of ${this.max}` });
      return;
    }
    if (body.length === 0 && !this.prefix) return; // blank line between frames
    out.push({ kind: 'frame', bytes: Buffer.from(body) });
  }

  /** A CR/LF the suffix does not consume (CRLF sent to a CR-configured port) is not data. */
  private trimLineEnds(b: Buffer): Buffer {
    let s = 0;
    let e = b.length;
    const suffixIsLineEnd = this.suffix.every((c) => c === CR || c === LF);
    if (!suffixIsLineEnd) return b;
    while (s < e && (b[s] === CR || b[s] === LF)) s++;
    while (e > s && (b[e - 1] === CR || b[e - 1] === LF)) e--;
    return b.subarray(s, e);
  }

  private describeSuffix(): string {
    return `suffix ${[...this.suffix].map((c) => `0x${c.toString(16).padStart(2, '0')}`).join(' ')}`;
  }
}

/** Config spelling of a suffix or prefix: CR, LF, CRLF, STX, ETX, TAB, or text with \xNN escapes. */
export function bytesFromConfig(spec: string): Buffer {
  const named: Record<string, number[]> = { CR: [CR], LF: [LF], CRLF: [CR, LF], STX: [0x02], ETX: [0x03], TAB: [0x09], NONE: [] };
  const n = named[spec.toUpperCase()];
  if (n) return Buffer.from(n);
  return Buffer.from(
    spec.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  );
}
