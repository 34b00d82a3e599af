import { Duplex } from 'node:stream';

/**
 * Two connected in-memory streams, for the daemon's own MQTT clients (services,
 * drivers) to reach the embedded broker without a loopback socket: what one end
 * writes the other reads, in order, one tick later (never inside the writer's
 * call, so the broker and a client never re-enter each other). A write waits
 * while the reader's buffer is full, as on a socket. Ending one end ends the
 * other (no half-open connections, like the broker's TCP sockets); destroying one
 * closes both, which each side takes for a dropped connection.
 */
export function duplexPair(): [Duplex, Duplex] {
  const a = new End();
  const b = new End();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

class End extends Duplex {
  peer!: End;
  /** The callback of a write the peer's buffer had no room for: called when it reads. */
  private blocked: (() => void) | undefined;

  constructor() {
    super({ allowHalfOpen: false });
  }

  override _read(): void {
    const go = this.peer.blocked;
    this.peer.blocked = undefined;
    go?.();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    process.nextTick(() => {
      if (this.peer.destroyed) return done(new Error('connection closed'));
      if (this.peer.push(chunk)) done();
      else this.blocked = done;
    });
  }

  override _final(done: (err?: Error | null) => void): void {
    process.nextTick(() => {
      if (!this.peer.destroyed) this.peer.push(null);
      done();
    });
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    const blocked = this.blocked;
    this.blocked = undefined;
    blocked?.();
    if (!this.peer.destroyed) process.nextTick(() => this.peer.destroy());
    done(err);
  }
}
