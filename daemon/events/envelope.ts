import { monotonicFactory } from 'ulidx';
import { Type, type Static } from '@sinclair/typebox';
import { firstError } from '../../drivers/schema-check.js';
import { dataProblem, upcast } from './schema.js';
import type { BoardTime } from './clock.js';
import type { DomainEvent, EventType } from './schemas/index.js';
import { evt, parseTopic } from '../../broker/topics.js';

export const EnvelopeSchema = Type.Object(
  {
    id: Type.String({ minLength: 10, maxLength: 64 }),
    type: Type.String({ pattern: '^[A-Z][A-Za-z0-9]{1,63}$' }),
    v: Type.Integer({ minimum: 1 }),
    source: Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' }),
    seq: Type.Integer({ minimum: 1 }),
    /** The source's log: a new id when its log starts again from nothing (its database lost), so consumers do not take its new events for old ones. */
    log: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    at: Type.Object({ epoch: Type.Integer({ minimum: 0 }), mono: Type.String({ pattern: '^[0-9]{1,20}$' }) }),
    time: Type.String(),
    txn: Type.Optional(Type.String({ maxLength: 64 })),
    corr: Type.Optional(Type.String({ maxLength: 64 })),
    cause: Type.Optional(Type.String({ maxLength: 64 })),
    data: Type.Unknown(),
  },
  { additionalProperties: false },
);

/** One domain event as it travels on `evt/<source>/<type>` (the design "The event envelope"). */
export type Envelope<D = unknown> = Omit<Static<typeof EnvelopeSchema>, 'data'> & { data: D; at: BoardTime };

export const newEventId = monotonicFactory();

/** `evt/<source>/<type>` of an event type of the event map. */
export function eventTopic(source: string, type: EventType): string {
  return evt(source, type);
}

export type ParseResult = { ok: true; event: DomainEvent } | { ok: false; reason: string; id?: string };

/**
 * Parse and validate one received payload: JSON, envelope shape, topic agreement
 * (none for an event read back from a source's log: `topic` undefined),
 * and `data` against the schema of (type, v); old versions are upcast.
 * Never throws: bad input from the outside ends as a reason.
 */
export function parseEvent(topic: string | undefined, payload: Buffer | string, maxBytes: number): ParseResult {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  if (size > maxBytes) return { ok: false, reason: `payload of ${size} bytes over the limit of ${maxBytes} (events.maxPayloadBytes)` };
  let raw: unknown;
  try {
    raw = JSON.parse(payload.toString());
  } catch (err) {
    return { ok: false, reason: `payload is not JSON: ${(err as Error).message}` };
  }
  const invalid = firstError(EnvelopeSchema, raw);
  if (invalid) {
    const id = raw && typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : undefined;
    return { ok: false, id, reason: `envelope${invalid}` };
  }
  const ev = raw as Envelope;
  const expected = evt(ev.source, ev.type);
  if (topic !== undefined && topic !== expected && parseTopic(topic)?.kind !== 'replay') {
    return { ok: false, id: ev.id, reason: `topic ${topic} does not match the envelope (expected ${expected})` };
  }
  const problem = dataProblem(ev.type, ev.v, ev.data);
  if (problem) return { ok: false, id: ev.id, reason: problem };
  const [data, v] = upcast(ev.type, ev.v, ev.data);
  if (v !== ev.v) {
    const p2 = dataProblem(ev.type, v, data);
    if (p2) return { ok: false, id: ev.id, reason: `after upcast to v${v}: ${p2}` };
  }
  // `data` has just been checked against the schema of its (type, v): the event map's type for it
  return { ok: true, event: { ...ev, v, data } as DomainEvent };
}
