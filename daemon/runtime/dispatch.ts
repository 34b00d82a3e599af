import type { Logger } from '../core/log.js';
import { parseTopic } from '../../broker/topics.js';

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
  const t = parseTopic(topic);
  switch (t?.kind) {
    case 'cmd':
      if (t.name === 'Replay') return r.replay(t.target, payload);
      if (t.target === r.self) return r.command(t.name, payload);
      return;
    case 'reply':
      return r.reply(t.id, payload);
    case 'replay-end': {
      const firstAvailable = field(r.log, 'warn', topic, payload, 'firstAvailable', 'replay end marker is not JSON; ignored');
      if (typeof firstAvailable === 'number') await r.replayEnded(t.source, firstAvailable);
      return;
    }
    case 'svc-head': {
      const seq = Number(field(r.log, 'debug', topic, payload, 'seq', 'head announcement is not JSON; ignored'));
      if (Number.isInteger(seq)) r.head(t.source, seq);
      return;
    }
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
