import type { StoredPacket } from './codec.js';

export interface QueueEntry {
  /** Global enqueue order; the row key in the `outgoing` table. */
  readonly seq: number;
  readonly clientId: string;
  packet: StoredPacket;
  /** Still in the queue (false once cleared or dropped). */
  live: boolean;
  /** A row for it may exist in the file. */
  stored: boolean;
}

type CounterIndex = Map<unknown, Map<unknown, QueueEntry[]>>;

function insertBySeq(list: QueueEntry[], entry: QueueEntry): void {
  let i = list.length;
  while (i > 0 && list[i - 1].seq > entry.seq) i--;
  list.splice(i, 0, entry);
}

function removeFrom(list: QueueEntry[] | undefined, entry: QueueEntry): number {
  if (!list) return 0;
  const i = list.indexOf(entry);
  if (i >= 0) list.splice(i, 1);
  return list.length;
}

/**
 * One client's outgoing packets in enqueue order, indexed by (brokerId,
 * brokerCounter) and by messageId so update and clear do not scan the queue.
 */
export class OutgoingQueue {
  readonly entries = new Map<number, QueueEntry>();
  /** Set while the queue is over its bound, until it drains to half. */
  overflowing = false;
  private readonly byCounter: CounterIndex = new Map();
  private readonly byMessageId = new Map<unknown, QueueEntry[]>();

  get size(): number {
    return this.entries.size;
  }

  push(entry: QueueEntry): void {
    this.entries.set(entry.seq, entry);
    this.index(entry);
  }

  oldest(): QueueEntry | undefined {
    return this.entries.values().next().value;
  }

  remove(entry: QueueEntry): void {
    this.unindex(entry);
    this.entries.delete(entry.seq);
    entry.live = false;
  }

  /** Replace the stored packet in place; the entry keeps its queue position. */
  replace(entry: QueueEntry, packet: StoredPacket): void {
    this.unindex(entry);
    entry.packet = packet;
    this.index(entry);
  }

  /**
   * The first entry, in queue order, that is either the same publication
   * (same brokerId and brokerCounter) or, from another broker, carries the
   * same messageId. The second case is a PUBREL replacing its PUBLISH.
   */
  findForUpdate(packet: StoredPacket): QueueEntry | undefined {
    const same = this.byCounter.get(packet.brokerId)?.get(packet.brokerCounter)?.[0];
    const byId = this.byMessageId.get(packet.messageId)?.find((e) => e.packet.brokerId !== packet.brokerId);
    if (same && byId) return same.seq < byId.seq ? same : byId;
    return same ?? byId;
  }

  /** The first entry, in queue order, with this messageId. */
  findByMessageId(messageId: unknown): QueueEntry | undefined {
    return this.byMessageId.get(messageId)?.[0];
  }

  private index(entry: QueueEntry): void {
    const { brokerId, brokerCounter, messageId } = entry.packet;
    let counters = this.byCounter.get(brokerId);
    if (!counters) this.byCounter.set(brokerId, (counters = new Map<unknown, QueueEntry[]>()));
    let list = counters.get(brokerCounter);
    if (!list) counters.set(brokerCounter, (list = []));
    insertBySeq(list, entry);
    let ids = this.byMessageId.get(messageId);
    if (!ids) this.byMessageId.set(messageId, (ids = []));
    insertBySeq(ids, entry);
  }

  private unindex(entry: QueueEntry): void {
    const { brokerId, brokerCounter, messageId } = entry.packet;
    const counters = this.byCounter.get(brokerId);
    if (counters && removeFrom(counters.get(brokerCounter), entry) === 0) {
      counters.delete(brokerCounter);
      if (counters.size === 0) this.byCounter.delete(brokerId);
    }
    if (removeFrom(this.byMessageId.get(messageId), entry) === 0) this.byMessageId.delete(messageId);
  }
}
