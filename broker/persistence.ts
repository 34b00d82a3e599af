import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import aedesPacket from 'aedes-packet';
import qlobber from 'qlobber';
import QlobberSub from 'qlobber/aedes/qlobber-sub.js';
import { decodePacket, encodePacket, type StoredPacket } from './persistence/codec.js';
import { Database, type SqlValue } from './persistence/database.js';
import { DirtyKeys } from './persistence/dirty-keys.js';
import { Batcher } from './persistence/batcher.js';
import { OutgoingQueue, type QueueEntry } from './persistence/outgoing-queue.js';
import { SCHEMA, SCHEMA_VERSION, TableWriter } from './persistence/schema.js';

export type { StoredPacket } from './persistence/codec.js';

/** aedes-packet's packet.js is a constructor (aedes and aedes-persistence call `new Packet(original)`); its typings declare a plain function. */
function isPacketConstructor(f: unknown): f is new (original: StoredPacket) => StoredPacket {
  return typeof f === 'function' && typeof f.prototype === 'object';
}
if (!isPacketConstructor(aedesPacket)) throw new Error('aedes-packet no longer exports its Packet constructor: the broker persistence needs it');
const Packet = aedesPacket;

const QLOBBER_OPTIONS = { wildcard_one: '+', wildcard_some: '#', separator: '/' };

/** The part of a pino logger this class uses. */
export interface PersistenceLogger {
  warn(obj: object, msg: string): void;
}

export interface SqlitePersistenceOptions {
  /** SQLite file; its directory is created if missing. */
  file: string;
  /** Per client; beyond it the oldest queued packet is dropped. Default 10000. */
  maxOfflineQueue?: number;
  log?: PersistenceLogger;
  /** Called after packets for `clientId` were dropped; `count` is how many this enqueue dropped. */
  onDrop?: (clientId: string, count: number) => void;
  /** SQLite synchronous level: FULL (default) survives power loss, NORMAL (WAL) survives a process crash. */
  synchronous?: 'FULL' | 'NORMAL';
  /**
   * Resolve storeRetained / outgoingEnqueue(Combi) / outgoingUpdate / outgoingClearMessageId
   * before their commit (still written, in order, by the next group commit, a moment later).
   * For a broker that acknowledges a QoS 1 PUBLISH before it stores it (aedes does), waiting
   * here protects nothing and holds up the delivery to online subscribers by a commit.
   * Losing a write in a crash redelivers a message (consumers dedup by id), leaves an older
   * retained document until its owner republishes it, or loses a queued message for an
   * offline session, as the early PUBACK already could: the event sources' logs replay it.
   */
  deliveryWritesBehind?: boolean;
}

export interface PersistenceStats {
  /** Packets dropped from full offline queues since setup. */
  dropped: number;
  /** Packets in all outgoing queues. */
  queued: number;
  /** Clients with at least one queued packet. */
  clients: number;
}

export interface PersistedSubscription {
  topic: string;
  qos: number;
  rh?: number;
  rap?: boolean;
  nl?: boolean;
  subscriptionIdentifier?: number;
}

type SubRecord = Omit<PersistedSubscription, 'topic'>;

interface ClientRef {
  id: string;
}

interface BrokerRef {
  id: string;
  /** aedes: connected clients by id. */
  clients?: Record<string, unknown>;
}

type Row = Record<string, SqlValue>;

/** setup() could not use the file. The daemon moves `file` (and -wal, -shm) aside and retries. */
export class PersistenceFileError extends Error {
  override name = 'PersistenceFileError';
  constructor(
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `broker persistence file ${file} cannot be used: ${detail}. ` +
        `Move ${file} and its -wal/-shm files aside and restart; the broker then starts without stored sessions.`,
      options,
    );
  }
}

function copyPacket(packet: StoredPacket): StoredPacket {
  const out: StoredPacket = {};
  for (const key of Object.keys(packet)) {
    const value = packet[key];
    if (typeof value !== 'function') out[key] = value;
  }
  return out;
}

function encoded(packet: StoredPacket): [string, SqlValue] {
  const e = encodePacket(packet);
  return [e.head, e.payload];
}

function isEmptyPayload(payload: unknown): boolean {
  return payload === undefined || payload === null || (payload as { length?: number }).length === 0;
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = create()));
  return value;
}

/**
 * Durable aedes-persistence (async interface, v11) on one SQLite file.
 *
 * Everything lives in memory and is read from there; writes mark keys dirty
 * and group-commit the current state of those keys (WAL, synchronous=FULL).
 * A write's promise resolves after its COMMIT.
 *
 * Stored per MQTT 3.1.1 §3.1.2.4 (session state of CleanSession=0 clients):
 * subscriptions, queued and in-flight QoS 1/2 packets with their packet
 * identifiers, and received QoS 2 packets awaiting PUBREL; plus retained
 * messages and wills.
 *
 * Client ages for cleanupAbandoned() count broker running time, persisted
 * across restarts, not wall-clock time: the board has no RTC and its clock
 * jumps at the first NTP sync.
 */
export class SqlitePersistence {
  private readonly file: string;
  private readonly maxOfflineQueue: number;
  private readonly log: PersistenceLogger | undefined;
  private readonly onDrop: ((clientId: string, count: number) => void) | undefined;

  private db: Database | undefined;
  private brokerRef: BrokerRef | undefined;
  private destroyed: Promise<void> | undefined;
  /**
   * Group commit: every write requested before the next flush starts shares one
   * transaction (commitDirty writes everything dirty when it is called); the writes of
   * one turn of the event loop wait for each other.
   */
  private readonly commits = new Batcher({ flush: () => this.commitDirty(), start: 'turn' });

  private readonly retained = new Map<string, StoredPacket>();
  private readonly subscriptions = new Map<string, Map<string, { rec: SubRecord; ord: number }>>();
  private readonly trie = new QlobberSub(QLOBBER_OPTIONS);
  private readonly queues = new Map<string, OutgoingQueue>();
  private readonly incoming = new Map<string, Map<number, StoredPacket>>();
  private readonly wills = new Map<string, StoredPacket>();
  private readonly seen = new Map<string, number>();
  /** clientId -> the principal whose session it is (meta `owner:<clientId>`). */
  private readonly owners = new Map<string, string>();

  private nextSeq = 1;
  private nextOrd = 1;
  private queued = 0;
  private dropped = 0;
  private aliveBase = 0;
  private aliveStart = 0;
  private failing = false;

  private dirty = new DirtyKeys();
  private readonly synchronous: 'FULL' | 'NORMAL';
  private readonly writesBehind: boolean;

  /** A delivery-state write: awaited, or (deliveryWritesBehind) left to the next group commit. */
  private deliveryWrite(): Promise<void> {
    const p = this.commits.add();
    return this.writesBehind ? Promise.resolve() : p;
  }

  constructor(opts: SqlitePersistenceOptions) {
    const max = opts.maxOfflineQueue ?? 10000;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`maxOfflineQueue must be a positive integer, got ${String(opts.maxOfflineQueue)}`);
    }
    this.file = opts.file;
    this.maxOfflineQueue = max;
    this.log = opts.log;
    this.onDrop = opts.onDrop;
    this.synchronous = opts.synchronous ?? 'FULL';
    this.writesBehind = opts.deliveryWritesBehind ?? false;
  }

  get broker(): BrokerRef | undefined {
    return this.brokerRef;
  }

  /** Opens, checks and loads the file. Rejects with PersistenceFileError; never leaves the file open on failure. */
  async setup(broker: BrokerRef): Promise<void> {
    if (this.brokerRef || this.destroyed) {
      throw new Error(`broker persistence ${this.file}: setup() called twice; use a new SqlitePersistence`);
    }
    this.brokerRef = broker;
    let db: Database | undefined;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      db = await Database.open(this.file);
      await db.exec('PRAGMA busy_timeout = 5000');
      const check = await db.all<{ integrity_check: string }>('PRAGMA integrity_check');
      const verdict = check.map((r) => r.integrity_check).join('; ');
      if (verdict !== 'ok') throw new Error(`integrity check failed: ${verdict.slice(0, 300)}`);
      const [mode] = await db.all<{ journal_mode: string }>('PRAGMA journal_mode = WAL');
      if (mode?.journal_mode !== 'wal') throw new Error(`cannot switch to WAL (journal_mode is ${mode?.journal_mode})`);
      await db.exec(`PRAGMA synchronous = ${this.synchronous}`);
      const [version] = await db.all<{ user_version: number }>('PRAGMA user_version');
      if ((version?.user_version ?? 0) > SCHEMA_VERSION) {
        throw new Error(`schema version ${version.user_version} was written by a newer laned (this one knows ${SCHEMA_VERSION})`);
      }
      await db.exec(SCHEMA);
      await this.load(db);
      this.db = db;
      await this.commits.add();
    } catch (err) {
      this.db = undefined;
      await db?.close().catch(() => undefined);
      throw new PersistenceFileError(this.file, (err as Error).message, { cause: err });
    }
  }

  private async load(db: Database): Promise<void> {
    const meta = await db.all<Row>(`SELECT value FROM meta WHERE key = 'alive_ms'`);
    this.aliveBase = meta.length > 0 ? Number(meta[0].value) : 0;
    if (!Number.isFinite(this.aliveBase)) throw new Error(`bad alive_ms ${String(meta[0].value)}`);
    this.aliveStart = performance.now();

    for (const r of await db.all<Row>('SELECT topic, packet, payload FROM retained')) {
      this.retained.set(String(r.topic), decodePacket(String(r.packet), r.payload as Buffer | string | null));
    }
    for (const r of await db.all<Row>('SELECT client_id, topic, ord, sub FROM subscriptions ORDER BY ord')) {
      const stored = JSON.parse(String(r.sub)) as SubRecord;
      if (typeof stored?.qos !== 'number') throw new Error(`malformed subscription ${String(r.sub).slice(0, 80)}`);
      const ord = Number(r.ord);
      this.putSubscription(String(r.client_id), String(r.topic), stored, ord);
      this.nextOrd = Math.max(this.nextOrd, ord + 1);
    }
    for (const r of await db.all<Row>('SELECT seq, client_id, packet, payload FROM outgoing ORDER BY seq')) {
      const clientId = String(r.client_id);
      const seq = Number(r.seq);
      const packet = decodePacket(String(r.packet), r.payload as Buffer | string | null);
      getOrCreate(this.queues, clientId, () => new OutgoingQueue()).push({ seq, clientId, packet, live: true, stored: true });
      this.queued++;
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
    }
    for (const r of await db.all<Row>('SELECT client_id, message_id, packet, payload FROM incoming')) {
      const packet = decodePacket(String(r.packet), r.payload as Buffer | string | null);
      getOrCreate(this.incoming, String(r.client_id), () => new Map()).set(Number(r.message_id), packet);
    }
    for (const r of await db.all<Row>('SELECT client_id, packet, payload FROM wills')) {
      this.wills.set(String(r.client_id), decodePacket(String(r.packet), r.payload as Buffer | string | null));
    }
    for (const r of await db.all<Row>(`SELECT key, value FROM meta WHERE key LIKE 'owner:%'`)) {
      this.owners.set(String(r.key).slice('owner:'.length), String(r.value));
    }
    for (const r of await db.all<Row>('SELECT client_id, seen_ms FROM clients')) {
      this.seen.set(String(r.client_id), Number(r.seen_ms));
    }

    const now = this.aliveNow();
    for (const clientId of this.clientsWithState()) {
      if (!this.seen.has(clientId)) this.markSeen(clientId, now);
    }
    for (const [clientId, queue] of this.queues) {
      let dropped = 0;
      while (queue.size > this.maxOfflineQueue) {
        this.removeEntry(queue, queue.oldest() as QueueEntry);
        dropped++;
      }
      if (dropped > 0) this.noteDrops(clientId, queue, dropped);
    }
  }

  // --- retained ------------------------------------------------------------

  async storeRetained(packet: StoredPacket): Promise<void> {
    this.assertOpen();
    const topic = String(packet.topic);
    // [MQTT-3.3.1-10] a zero-byte retained message removes the retained message of its topic
    if (isEmptyPayload(packet.payload)) this.retained.delete(topic);
    // [MQTT-3.3.1-5] one retained message per topic, for future subscribers
    else this.retained.set(topic, copyPacket(packet));
    this.dirty.retained.add(topic);
    return this.deliveryWrite();
  }

  createRetainedStream(pattern: string): Readable {
    return this.createRetainedStreamCombi([pattern]);
  }

  /** Each retained message matching any of the patterns, once. */
  createRetainedStreamCombi(patterns: string[]): Readable {
    const matcher = new qlobber.QlobberTrue(QLOBBER_OPTIONS);
    for (const p of patterns) matcher.add(p);
    const out: StoredPacket[] = [];
    for (const [topic, packet] of this.retained) {
      if (matcher.test(topic)) out.push(copyPacket(packet));
    }
    return Readable.from(out);
  }

  // --- subscriptions -------------------------------------------------------

  async addSubscriptions(client: ClientRef, subs: PersistedSubscription[]): Promise<void> {
    this.assertOpen();
    if (subs.length === 0) return;
    if (!this.seen.has(client.id)) this.markSeen(client.id, this.aliveNow());
    for (const sub of subs) {
      const rec: SubRecord = { qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl };
      if (sub.subscriptionIdentifier !== undefined) rec.subscriptionIdentifier = sub.subscriptionIdentifier;
      // [MQTT-3.8.4-3] an identical topic filter replaces the existing subscription
      this.putSubscription(client.id, sub.topic, rec, undefined);
      this.dirty.sub(client.id, sub.topic);
    }
    return this.commits.add();
  }

  async removeSubscriptions(client: ClientRef, topics: string[]): Promise<void> {
    this.assertOpen();
    let changed = false;
    for (const topic of topics) {
      if (this.deleteSubscription(client.id, topic)) {
        this.dirty.sub(client.id, topic);
        changed = true;
      }
    }
    if (changed) return this.commits.add();
  }

  async subscriptionsByClient(client: ClientRef): Promise<PersistedSubscription[]> {
    const stored = this.subscriptions.get(client.id);
    if (!stored) return [];
    return [...stored].map(([topic, { rec }]) => ({ topic, ...rec }));
  }

  async countOffline(): Promise<{ subsCount: number; clientsCount: number }> {
    return { subsCount: this.trie.subscriptionsCount, clientsCount: this.subscriptions.size };
  }

  async subscriptionsByTopic(pattern: string): Promise<Array<{ clientId: string; topic: string; qos?: number }>> {
    return this.trie.match(pattern);
  }

  async cleanSubscriptions(client: ClientRef): Promise<void> {
    this.assertOpen();
    if (this.dropSubscriptions(client.id)) return this.commits.add();
  }

  getClientList(topic: string): Readable {
    const ids: string[] = [];
    for (const [clientId, stored] of this.subscriptions) {
      if (stored.has(topic)) ids.push(clientId);
    }
    return Readable.from(ids);
  }

  private putSubscription(clientId: string, topic: string, rec: SubRecord, ord: number | undefined): void {
    const stored = getOrCreate(this.subscriptions, clientId, () => new Map<string, { rec: SubRecord; ord: number }>());
    const previous = stored.get(topic);
    // [MQTT-3.1.2-5] only QoS 1 and 2 subscriptions queue messages while the client is offline
    if (rec.qos > 0) {
      this.trie.add(topic, { clientId, topic, qos: rec.qos, rh: rec.rh, rap: rec.rap, nl: rec.nl });
    } else if (previous && previous.rec.qos > 0) {
      this.trie.remove(topic, { clientId, topic });
    }
    stored.set(topic, { rec, ord: ord ?? previous?.ord ?? this.nextOrd++ });
  }

  private deleteSubscription(clientId: string, topic: string): boolean {
    const stored = this.subscriptions.get(clientId);
    const previous = stored?.get(topic);
    if (!stored || !previous) return false;
    if (previous.rec.qos > 0) this.trie.remove(topic, { clientId, topic });
    stored.delete(topic);
    if (stored.size === 0) this.subscriptions.delete(clientId);
    return true;
  }

  private dropSubscriptions(clientId: string): boolean {
    const stored = this.subscriptions.get(clientId);
    if (!stored) return false;
    for (const topic of [...stored.keys()]) {
      this.deleteSubscription(clientId, topic);
      this.dirty.sub(clientId, topic);
    }
    return true;
  }

  // --- outgoing ------------------------------------------------------------

  async outgoingEnqueue(sub: { clientId: string }, packet: StoredPacket): Promise<void> {
    this.assertOpen();
    this.enqueue(sub.clientId, packet);
    return this.deliveryWrite();
  }

  async outgoingEnqueueCombi(subs: Array<{ clientId: string }>, packet: StoredPacket): Promise<void> {
    this.assertOpen();
    if (subs.length === 0) return;
    for (const sub of subs) this.enqueue(sub.clientId, packet);
    return this.deliveryWrite();
  }

  /**
   * Records the packet identifier given to a queued PUBLISH, or replaces the
   * PUBLISH by its PUBREL. [MQTT-4.4.0-1] both are re-sent with their original
   * packet identifiers when the client resumes the session.
   */
  async outgoingUpdate(client: ClientRef, packet: StoredPacket): Promise<void> {
    this.assertOpen();
    const queue = this.queues.get(client.id);
    const entry = queue?.findForUpdate(packet);
    if (!queue || !entry) throw new Error(`no such packet: client ${client.id} has no queued packet with messageId ${String(packet.messageId)}`);
    if (entry.packet.brokerId === packet.brokerId && entry.packet.brokerCounter === packet.brokerCounter) {
      queue.replace(entry, { ...entry.packet, messageId: packet.messageId });
    } else {
      queue.replace(entry, copyPacket(packet));
    }
    this.dirty.outgoing.add(entry);
    return this.deliveryWrite();
  }

  async outgoingClearMessageId(client: ClientRef, packet: StoredPacket): Promise<StoredPacket | undefined> {
    this.assertOpen();
    const queue = this.queues.get(client.id);
    const entry = queue?.findByMessageId(packet?.messageId);
    if (!queue || !entry) return undefined;
    this.removeEntry(queue, entry);
    if (queue.overflowing && queue.size <= Math.floor(this.maxOfflineQueue / 2)) queue.overflowing = false;
    if (queue.size === 0) this.queues.delete(client.id);
    await this.deliveryWrite();
    return copyPacket(entry.packet);
  }

  outgoingStream(client: ClientRef): Readable {
    const queue = this.queues.get(client.id);
    const out = queue ? [...queue.entries.values()].map((e) => copyPacket(e.packet)) : [];
    return Readable.from(out);
  }

  private enqueue(clientId: string, original: StoredPacket): void {
    const queue = getOrCreate(this.queues, clientId, () => new OutgoingQueue());
    let dropped = 0;
    // MQTT 3.1.1 §4.1 (non-normative): stored session state is subject to capacity limits and administrative policy
    while (queue.size >= this.maxOfflineQueue) {
      this.removeEntry(queue, queue.oldest() as QueueEntry);
      dropped++;
    }
    const entry: QueueEntry = { seq: this.nextSeq++, clientId, packet: copyPacket(new Packet(original)), live: true, stored: false };
    queue.push(entry);
    this.queued++;
    this.dirty.outgoing.add(entry);
    if (dropped > 0) this.noteDrops(clientId, queue, dropped);
  }

  private removeEntry(queue: OutgoingQueue, entry: QueueEntry): void {
    queue.remove(entry);
    this.queued--;
    this.dirty.outgoing.add(entry);
  }

  private noteDrops(clientId: string, queue: OutgoingQueue, count: number): void {
    this.dropped += count;
    if (!queue.overflowing) {
      queue.overflowing = true;
      this.log?.warn(
        { clientId, maxOfflineQueue: this.maxOfflineQueue },
        `offline queue of MQTT client ${clientId} is full (${this.maxOfflineQueue} packets); dropping its oldest packets ` +
          `until it drains. Check why ${clientId} is not reading, or raise maxOfflineQueue`,
      );
    }
    try {
      this.onDrop?.(clientId, count);
    } catch (err) {
      this.log?.warn({ clientId, err: (err as Error).message }, `onDrop callback for client ${clientId} threw`);
    }
  }

  // --- incoming QoS 2 ------------------------------------------------------

  /** [MQTT-4.3.3-2] kept until PUBREL so a re-sent PUBLISH is not delivered twice. */
  async incomingStorePacket(client: ClientRef, packet: StoredPacket): Promise<void> {
    this.assertOpen();
    const stored = copyPacket(new Packet(packet));
    stored.messageId = packet.messageId;
    const messageId = Number(packet.messageId);
    getOrCreate(this.incoming, client.id, () => new Map()).set(messageId, stored);
    this.dirty.incomingPacket(client.id, messageId);
    if (!this.seen.has(client.id)) this.markSeen(client.id, this.aliveNow());
    return this.commits.add();
  }

  async incomingGetPacket(client: ClientRef, packet: StoredPacket): Promise<StoredPacket> {
    const stored = this.incoming.get(client.id)?.get(Number(packet.messageId));
    if (!stored) throw new Error(`no such packet: client ${client.id} has no stored QoS 2 packet ${String(packet.messageId)}`);
    return copyPacket(stored);
  }

  async incomingDelPacket(client: ClientRef, packet: StoredPacket): Promise<void> {
    this.assertOpen();
    const messageId = Number(packet.messageId);
    const store = this.incoming.get(client.id);
    if (!store?.delete(messageId)) {
      throw new Error(`no such packet: client ${client.id} has no stored QoS 2 packet ${String(packet.messageId)}`);
    }
    if (store.size === 0) this.incoming.delete(client.id);
    this.dirty.incomingPacket(client.id, messageId);
    return this.commits.add();
  }

  /** [MQTT-3.1.2-6] a clean session discards the QoS 2 packets of the previous one. */
  async cleanIncoming(client: ClientRef): Promise<void> {
    this.assertOpen();
    if (this.dropIncoming(client.id)) return this.commits.add();
  }

  private dropIncoming(clientId: string): boolean {
    const store = this.incoming.get(clientId);
    if (!store) return false;
    for (const messageId of store.keys()) this.dirty.incomingPacket(clientId, messageId);
    this.incoming.delete(clientId);
    return true;
  }

  // --- wills ---------------------------------------------------------------

  /** [MQTT-3.1.2-8] stored with the id of the broker that holds the connection. */
  async putWill(client: ClientRef, packet: StoredPacket): Promise<void> {
    this.assertOpen();
    packet.brokerId = this.brokerRef?.id;
    packet.clientId = client.id;
    this.wills.set(client.id, copyPacket(packet));
    this.dirty.wills.add(client.id);
    if (!this.seen.has(client.id)) this.markSeen(client.id, this.aliveNow());
    return this.commits.add();
  }

  async getWill(client: ClientRef): Promise<StoredPacket | undefined> {
    const will = this.wills.get(client.id);
    return will && copyPacket(will);
  }

  async delWill(client: ClientRef): Promise<StoredPacket | undefined> {
    this.assertOpen();
    const will = this.wills.get(client.id);
    if (!will) return undefined;
    this.wills.delete(client.id);
    this.dirty.wills.add(client.id);
    await this.commits.add();
    return will;
  }

  /** Wills whose broker is not in `brokers` (aedes: brokers seen alive recently). */
  streamWill(brokers: Record<string, unknown> = {}): Readable {
    const out: StoredPacket[] = [];
    for (const will of this.wills.values()) {
      if (!brokers[String(will.brokerId)]) out.push(copyPacket(will));
    }
    return Readable.from(out);
  }

  // --- sessions --------------------------------------------------------------

  /** Marks `clientId` as seen now; the broker calls it on connect and on disconnect. */
  async touchClient(clientId: string): Promise<void> {
    this.assertOpen();
    this.markSeen(clientId, this.aliveNow());
    return this.commits.add();
  }

  /**
   * Removes subscriptions, queue, QoS 2 store and will of every client not
   * connected and not seen for more than `maxAgeMs` of broker running time.
   * Resolves with their ids after the removal is committed.
   */
  async cleanupAbandoned(maxAgeMs: number): Promise<string[]> {
    this.assertOpen();
    const now = this.aliveNow();
    const connected = this.brokerRef?.clients ?? {};
    const withState = this.clientsWithState();
    const removed: string[] = [];
    let changed = false;
    for (const clientId of new Set([...withState, ...this.seen.keys()])) {
      if (connected[clientId]) continue;
      const seen = this.seen.get(clientId);
      if (seen === undefined) {
        this.markSeen(clientId, now);
        changed = true;
        continue;
      }
      if (now - seen <= maxAgeMs) continue;
      if (withState.has(clientId)) {
        this.dropSubscriptions(clientId);
        this.dropQueue(clientId);
        this.dropIncoming(clientId);
        if (this.wills.delete(clientId)) this.dirty.wills.add(clientId);
        removed.push(clientId);
      }
      this.seen.delete(clientId);
      this.dirty.seen.add(clientId);
      if (this.owners.delete(clientId)) this.dirty.owners.add(clientId);
      changed = true;
    }
    if (changed) await this.commits.add();
    return removed;
  }

  /** The principal whose session `clientId` is; undefined for a clientId not seen (or from before owners were kept). */
  ownerOf(clientId: string): string | undefined {
    return this.owners.get(clientId);
  }

  /** Record `principal` as the owner of `clientId`'s session (removed with the session by cleanupAbandoned). */
  async bindOwner(clientId: string, principal: string): Promise<void> {
    this.assertOpen();
    if (this.owners.get(clientId) === principal) return;
    this.owners.set(clientId, principal);
    this.dirty.owners.add(clientId);
    return this.commits.add();
  }

  /**
   * Drop what a resumed session may no longer have: subscriptions whose filter the
   * current principal may not subscribe to, and queued messages on topics it may not
   * read. Resolves with the dropped filters and the number of dropped messages.
   */
  async revoke(
    clientId: string,
    mayFilter: (filter: string) => boolean,
    mayRead: (topic: string) => boolean,
  ): Promise<{ filters: string[]; messages: number }> {
    this.assertOpen();
    const filters = [...(this.subscriptions.get(clientId)?.keys() ?? [])].filter((f) => !mayFilter(f));
    for (const f of filters) {
      this.deleteSubscription(clientId, f);
      this.dirty.sub(clientId, f);
    }
    let messages = 0;
    const queue = this.queues.get(clientId);
    for (const entry of [...(queue?.entries.values() ?? [])]) {
      if (entry.packet.topic === undefined || mayRead(String(entry.packet.topic))) continue;
      this.removeEntry(queue!, entry);
      messages++;
    }
    if (filters.length || messages) await this.commits.add();
    return { filters, messages };
  }

  stats(): PersistenceStats {
    return { dropped: this.dropped, queued: this.queued, clients: this.queues.size };
  }

  private dropQueue(clientId: string): void {
    const queue = this.queues.get(clientId);
    if (!queue) return;
    for (const entry of [...queue.entries.values()]) this.removeEntry(queue, entry);
    this.queues.delete(clientId);
  }

  private clientsWithState(): Set<string> {
    return new Set([...this.subscriptions.keys(), ...this.queues.keys(), ...this.incoming.keys(), ...this.wills.keys()]);
  }

  private markSeen(clientId: string, at: number): void {
    this.seen.set(clientId, at);
    this.dirty.seen.add(clientId);
  }

  private aliveNow(): number {
    return Math.round(this.aliveBase + (performance.now() - this.aliveStart));
  }

  // --- lifecycle -------------------------------------------------------------

  /** Commits pending writes and closes the file. */
  async destroy(): Promise<void> {
    if (!this.destroyed) {
      this.destroyed = (async () => {
        await this.commits.idle();
        const db = this.db;
        if (!db) return;
        await this.commits.add().catch(() => undefined);
        this.db = undefined;
        await db.close();
      })();
    }
    return this.destroyed;
  }

  private assertOpen(): void {
    if (this.destroyed) throw new Error(`broker persistence ${this.file} is closed`);
    if (!this.db) throw new Error(`broker persistence ${this.file} is not set up; await setup(broker) first`);
  }

  // --- group commit ----------------------------------------------------------

  private async commitDirty(): Promise<void> {
    const db = this.db;
    if (!db) throw new Error(`broker persistence ${this.file} is closed`);
    const taken = this.dirty;
    this.dirty = new DirtyKeys();
    try {
      await db.transaction(this.writesFor(taken).statements());
      this.failing = false;
    } catch (err) {
      this.dirty.merge(taken);
      const failure = new Error(
        `broker persistence ${this.file}: commit failed (${(err as Error).message}); ` +
          'the session state stays in memory and is written again with the next commit. Check free space and the SD card',
        { cause: err },
      );
      if (!this.failing) this.log?.warn({ file: this.file, err: (err as Error).message }, failure.message);
      this.failing = true;
      throw failure;
    }
  }

  /** The current state of every dirty key, as row upserts and deletes. */
  private writesFor(d: DirtyKeys): TableWriter {
    const w = new TableWriter();
    for (const topic of d.retained) {
      const packet = this.retained.get(topic);
      if (packet) w.put('retained', [topic, ...encoded(packet)]);
      else w.del('retained', [topic]);
    }
    for (const [clientId, topics] of d.subs) {
      const stored = this.subscriptions.get(clientId);
      for (const topic of topics) {
        const sub = stored?.get(topic);
        if (sub) w.put('subscriptions', [clientId, topic, sub.ord, JSON.stringify(sub.rec)]);
        else w.del('subscriptions', [clientId, topic]);
      }
    }
    for (const entry of d.outgoing) {
      if (entry.live) {
        w.put('outgoing', [entry.seq, entry.clientId, ...encoded(entry.packet)]);
        entry.stored = true;
      } else if (entry.stored) {
        w.del('outgoing', [entry.seq]);
        entry.stored = false;
      }
    }
    for (const [clientId, ids] of d.incoming) {
      const store = this.incoming.get(clientId);
      for (const id of ids) {
        const packet = store?.get(id);
        if (packet) w.put('incoming', [clientId, id, ...encoded(packet)]);
        else w.del('incoming', [clientId, id]);
      }
    }
    for (const clientId of d.wills) {
      const will = this.wills.get(clientId);
      if (will) w.put('wills', [clientId, ...encoded(will)]);
      else w.del('wills', [clientId]);
    }
    for (const clientId of d.seen) {
      const at = this.seen.get(clientId);
      if (at !== undefined) w.put('clients', [clientId, at]);
      else w.del('clients', [clientId]);
    }
    for (const clientId of d.owners) {
      const owner = this.owners.get(clientId);
      if (owner !== undefined) w.put('meta', [`owner:${clientId}`, owner]);
      else w.del('meta', [`owner:${clientId}`]);
    }
    w.put('meta', ['alive_ms', String(this.aliveNow())]);
    return w;
  }
}
