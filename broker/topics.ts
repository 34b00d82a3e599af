/**
 * Every topic of the lane's MQTT interface, spelled once (the design "Topics"):
 * builders and parsers used by the service runtime, outbox, inbox, ACL, source
 * heads, lanectl and the touch UI. It lives in broker/, the lowest layer that
 * speaks MQTT, so that daemon/ and drivers/ may import it without broker/ importing
 * anything above it; and it imports nothing, so that the HTTP server serves its
 * compiled form to the browser as it is (`/js/topics.js`).
 */

/** The retained documents (`doc/<name>`) besides the basket's pages of lines. */
export const DOC_NAMES = ['basket', 'lane', 'devices', 'bagging', 'updater', 'uplink'] as const;

/** A retained document's name: one of DOC_NAMES or a page of the basket's lines. */
export type DocName = (typeof DOC_NAMES)[number] | `basket/lines/${number}`;

/** The single-level wildcard [MQTT-4.7.1-3], for filters built with the builders below. */
export const ANY = '+';

/** The multi-level wildcard [MQTT-4.7.1-2], for filters built with the builders below. */
export const ALL = '#';

/** Every topic of one kind: `evt/#`, `cmd/#`, `doc/#` or `svc/#`. */
export function every(kind: 'evt' | 'cmd' | 'doc' | 'svc'): string {
  return `${kind}/${ALL}`;
}

/** The broker's own topics; nobody may subscribe to them. */
export const LANED_PREFIX = '$laned/';

/**
 * Where a refused PUBLISH goes, emptied: no role may publish there, wildcard filters never
 * match a topic that starts with `$` [MQTT-4.7.2-1], and subscribing to it is refused.
 */
export const DISCARDED_TOPIC = `${LANED_PREFIX}discarded`;

/** `evt/<source>/<type>`: a domain event, published by its source alone. */
export function evt(source: string, type: string): string {
  return `evt/${source}/${type}`;
}

/** `cmd/<target>/<name>`: a command, consumed by its target alone. */
export function cmd(target: string, name: string): string {
  return `cmd/${target}/${name}`;
}

/** `doc/<name>`: a retained document. */
export function doc(name: DocName | '#'): string {
  return `doc/${name}`;
}

/** `svc/<name>/state`: retained online/offline (birth and will). */
export function svcState(name: string): string {
  return `svc/${name}/state`;
}

/** `svc/<source>/head`: retained `{seq}`, the source's newest acknowledged event. */
export function svcHead(source: string): string {
  return `svc/${source}/head`;
}

/** `replay/<source>/<consumer>`: a source's events again, for one consumer. */
export function replay(source: string, consumer: string): string {
  return `replay/${source}/${consumer}`;
}

/** `replay/<source>/<consumer>/end`: the end of one replay, `{from, to, firstAvailable}`. */
export function replayEnd(source: string, consumer: string): string {
  return `replay/${source}/${consumer}/end`;
}

/** The start of every reply topic of one client: only that client may read under it. */
export function replyPrefix(clientId: string): string {
  return `reply/${clientId}/`;
}

/** `reply/<clientId>/<id>`: the answer to command `id` of one client. */
export function reply(clientId: string, id: string): string {
  return `${replyPrefix(clientId)}${id}`;
}

/** A topic taken apart; `undefined` from parseTopic for a topic outside the lane's interface. */
export type ParsedTopic =
  | { kind: 'evt'; source: string; type: string }
  | { kind: 'cmd'; target: string; name: string }
  | { kind: 'doc'; name: string }
  | { kind: 'svc-state'; name: string }
  | { kind: 'svc-head'; source: string }
  | { kind: 'replay'; source: string; consumer: string }
  | { kind: 'replay-end'; source: string; consumer: string }
  | { kind: 'reply'; clientId: string; id: string };

/** The inverse of the builders above. */
export function parseTopic(topic: string): ParsedTopic | undefined {
  const p = topic.split('/');
  switch (p[0]) {
    case 'evt':
      return p.length === 3 ? { kind: 'evt', source: p[1], type: p[2] } : undefined;
    case 'cmd':
      return p.length >= 3 ? { kind: 'cmd', target: p[1], name: p.slice(2).join('/') } : undefined;
    case 'doc':
      return p.length >= 2 ? { kind: 'doc', name: p.slice(1).join('/') } : undefined;
    case 'svc':
      if (p.length !== 3) return undefined;
      if (p[2] === 'state') return { kind: 'svc-state', name: p[1] };
      return p[2] === 'head' ? { kind: 'svc-head', source: p[1] } : undefined;
    case 'replay':
      if (p.length === 3) return { kind: 'replay', source: p[1], consumer: p[2] };
      return p.length === 4 && p[3] === 'end' ? { kind: 'replay-end', source: p[1], consumer: p[2] } : undefined;
    case 'reply':
      return p.length >= 3 ? { kind: 'reply', clientId: p[1], id: p.slice(2).join('/') } : undefined;
    default:
      return undefined;
  }
}

/** Where this module is: the HTTP server serves this file (compiled) to the browser. */
export const topicsModuleUrl: string = import.meta.url;
