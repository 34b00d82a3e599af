import type { QueueEntry } from './outgoing-queue.js';

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

/** Keys written since the last group commit; the commit stores their current state. */
export class DirtyKeys {
  readonly retained = new Set<string>();
  /** clientId -> topic filters */
  readonly subs = new Map<string, Set<string>>();
  readonly outgoing = new Set<QueueEntry>();
  /** clientId -> messageIds */
  readonly incoming = new Map<string, Set<number>>();
  readonly wills = new Set<string>();
  readonly seen = new Set<string>();
  /** clientIds whose owning principal changed */
  readonly owners = new Set<string>();

  sub(clientId: string, topic: string): void {
    addTo(this.subs, clientId, topic);
  }

  incomingPacket(clientId: string, messageId: number): void {
    addTo(this.incoming, clientId, messageId);
  }

  /** Takes back the keys of a batch whose commit failed. */
  merge(failed: DirtyKeys): void {
    for (const topic of failed.retained) this.retained.add(topic);
    for (const [clientId, topics] of failed.subs) for (const t of topics) this.sub(clientId, t);
    for (const entry of failed.outgoing) {
      // the rolled-back batch may have deleted its row: delete again, harmless if absent
      entry.stored = true;
      this.outgoing.add(entry);
    }
    for (const [clientId, ids] of failed.incoming) for (const id of ids) this.incomingPacket(clientId, id);
    for (const id of failed.wills) this.wills.add(id);
    for (const id of failed.seen) this.seen.add(id);
    for (const id of failed.owners) this.owners.add(id);
  }
}
