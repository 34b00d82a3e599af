import type { Logger } from '../core/log.js';

/** Where each kind of message a service receives goes. */
export interface Routes {
  /** The service's own name: `cmd/<self>/<Name>` are its commands. */
  self: string;
  log: Logger;
  /** `cmd/<source>/Replay`: a consumer asks for a source's log. */
  replay(source: string, payload: Buffer): Promise<void>;
  /** `cmd/<self>/<Name>`. */
  command(name: string, payload: Buffer): Promise<void>;
  /** `replay/<source>/<self>/end`: the source answered; `firstAvailable` is where its log begins. */
  replayEnded(source: string, firstAvailable: number): Promise<void>;
  /** `svc/<source>/head`: the source's newest seq (retained). */
  head(source: string, seq: number): void;
  /** `reply/<self's clientId>/<id>`: the answer to a command this service sent with request(). */
  reply(id: string, payload: Buffer): void;
  /** `evt/<source>/<Type>` and `replay/<source>/<self>`: events for the inbox. */
  event(topic: string, payload: Buffer): Promise<void>;
}

/** Routes one message by its topic (the design "Topics"). */
export async function dispatch(r: Routes, topic: string, payload: Buffer): Promise<void> {
  const parts = topic.split('/');
  switch (parts[0]) {
    case 'cmd':
      if (parts[2] === 'Replay') return r.replay(parts[1], payload);
      if (parts[1] === r.self) return r.command(parts.slice(2).join('/'), payload);
      return;
    case 'reply':
      return r.reply(parts[2] ?? '', payload);
    case 'replay':
      if (parts[3] !== 'end') return r.event(topic, payload);
      {
        const firstAvailable = field(r.log, 'warn', topic, payload, 'firstAvailable', 'replay end marker is not JSON; ignored');
        if (typeof firstAvailable === 'number') await r.replayEnded(parts[1], firstAvailable);
      }
      return;
    case 'svc':
      if (parts[2] !== 'head') return r.event(topic, payload);
      {
        const seq = Number(field(r.log, 'debug', topic, payload, 'seq', 'head announcement is not JSON; ignored'));
        if (Number.isInteger(seq)) r.head(parts[1], seq);
      }
      return;
    default:
      return r.event(topic, payload);
  }
}

/** One field of a JSON payload; undefined (logged) when the payload is not JSON. */
function field(log: Logger, level: 'warn' | 'debug', topic: string, payload: Buffer, key: string, message: string): unknown {
  try {
    return (JSON.parse(payload.toString('utf8')) as Record<string, unknown> | null)?.[key];
  } catch {
    log[level]({ topic }, message);
    return undefined;
  }
}
