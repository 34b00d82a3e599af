// Every event schema registers itself on import; consumers and producers import this once.
import type { Envelope } from '../envelope.js';
import { isKnownType, type EventMapOf } from '../schema.js';
import type * as core from './core.js';
import type * as devices from './devices.js';
import type * as checkout from './checkout.js';
import type * as uplink from './uplink.js';
import './core.js';
import './devices.js';
import './checkout.js';
import './uplink.js';

/** Event type -> its `data` (latest version), derived from the schemas' exports. */
export type EventMap = EventMapOf<typeof core & typeof devices & typeof checkout & typeof uplink>;

export type EventType = keyof EventMap;

/**
 * A received or emitted event of one of `T` (all types by default): a union
 * discriminated by `type`, so `switch (ev.type)` narrows `ev.data`.
 */
export type DomainEvent<T extends EventType = EventType> = Extract<{ [K in EventType]: Envelope<EventMap[K]> & { type: K } }[EventType], { type: T }>;

/** `{ type, data }` of one of `T`, discriminated by `type` (an event without its envelope). */
export type TypedData<T extends EventType = EventType> = { [K in T]: { type: K; data: EventMap[K] } }[T];

/** Is `type` a registered event type? (for code whose event type is data, e.g. a driver's) */
export function isEventType(type: string): type is EventType {
  return isKnownType(type);
}

/** Is `ev` one of `types`? Narrows it to those. */
export function isOfType<T extends EventType>(ev: DomainEvent, types: readonly T[]): ev is DomainEvent<T> {
  return (types as readonly string[]).includes(ev.type);
}
