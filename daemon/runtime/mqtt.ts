import mqtt, { MqttClient, type IClientOptions } from 'mqtt';
import type { Duplex } from 'node:stream';
import mqttPacket from 'mqtt-packet';

// mqtt-packet (under both mqtt.js and aedes) otherwise builds, on its first packet, a
// table of 65,536 two-byte Buffers for packet identifiers: some 7 MB of heap on a board
// that sends a few packets a second. Written per packet instead.
mqttPacket.writeToStream.cacheNumbers = false;
import type { Logger } from '../core/log.js';

export interface ClientOptions {
  url: string;
  /** A connection to the broker in this process (instead of `url`): a new one per (re)connect. */
  stream?: () => Duplex;
  clientId: string;
  username: string;
  password: string;
  log: Logger;
  /** Retained online/offline on svc/<name>/state (the design "Don't forget to listen"). */
  stateTopic?: string;
  /** Called for every PUBLISH; the PUBACK is sent when it resolves [MQTT-4.6.0-2 keeps them in order]. */
  onMessage?(topic: string, payload: Buffer): Promise<void>;
  /**
   * QoS 1 messages on these topics are handed on without waiting for the one before
   * to resolve (at most `maxPipelined` unresolved); their PUBACKs still wait, in order.
   * Every other message waits until all pipelined ones before it have resolved.
   */
  pipelined?(topic: string): boolean;
  maxPipelined?: number;
  /** Topic filters subscribed at QoS 1 on every connect without a session. */
  subscriptions?: string[];
  /** After the first SUBACK of a connection (or at once when the session was present). */
  onSubscribed?(): void;
}

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;

/**
 * A durable MQTT client: fixed clientId, clean=false, QoS 1, retained birth and
 * last will, reconnect with exponential backoff; logs once when the broker goes
 * and once when it comes back.
 */
export function connectClient(o: ClientOptions): MqttClient {
  const will: IClientOptions['will'] = o.stateTopic
    ? { topic: o.stateTopic, payload: Buffer.from(JSON.stringify({ state: 'offline', clientId: o.clientId })), qos: 1, retain: true }
    : undefined;
  const options: IClientOptions = {
    clientId: o.clientId,
    clean: false,
    username: o.username,
    password: o.password,
    protocolVersion: 4,
    keepalive: 15,
    reconnectPeriod: MIN_BACKOFF_MS,
    connectTimeout: 5000,
    resubscribe: true,
    manualConnect: true,
    ...(will ? { will } : {}),
  };
  const stream = o.stream;
  const client = stream ? new MqttClient(() => stream(), options) : mqtt.connect(o.url, options);
  // as mqtt.connect does: errors are handled through the connection's events
  if (stream) client.on('error', () => undefined);
  let down = false;
  const notAcknowledged = (topic: string, err: Error): void => {
    o.log.error({ topic, err: err.message }, 'message handler failed; not acknowledged, the broker will redeliver');
    // Without PUBACK the broker redelivers on the next connection [MQTT-4.4.0-1].
    if (!client.disconnecting) client.end(true, () => client.reconnect());
  };
  const pipeline = pipelineAcks(client, o.maxPipelined ?? 256, notAcknowledged);
  client.handleMessage = (packet, done) => {
    if (!o.onMessage || packet.cmd !== 'publish') return done();
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    if (packet.qos === 1 && packet.messageId !== undefined && o.pipelined?.(packet.topic)) {
      pipeline.handOn(packet.topic, packet.messageId, o.onMessage(packet.topic, payload), done);
      return;
    }
    pipeline
      .settled()
      .then(() => o.onMessage!(packet.topic, payload))
      .then(
        () => done(),
        (err: Error) => notAcknowledged(packet.topic, err),
      );
  };
  noDelay(client);
  client.on('connect', (connack) => {
    client.options.reconnectPeriod = MIN_BACKOFF_MS;
    if (down) o.log.info({ clientId: o.clientId }, 'broker connection back');
    down = false;
    if (o.stateTopic) client.publish(o.stateTopic, JSON.stringify({ state: 'online', clientId: o.clientId, pid: process.pid }), { qos: 1, retain: true });
    if (!connack.sessionPresent && o.subscriptions?.length) {
      client.subscribe(o.subscriptions, { qos: 1 }, (err, granted) => {
        const refused = granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? [];
        if (err || refused.length) o.log.error({ err: err?.message, refused }, `subscription refused: ${refused.join(', ') || err?.message}`);
        o.onSubscribed?.();
      });
    } else {
      o.onSubscribed?.();
    }
  });
  client.on('close', () => {
    if (!down && !client.disconnecting) o.log.warn({ clientId: o.clientId, url: o.url }, 'broker connection lost; reconnecting with backoff');
    down = true;
    client.options.reconnectPeriod = Math.min(MAX_BACKOFF_MS, Math.max(MIN_BACKOFF_MS, (client.options.reconnectPeriod ?? MIN_BACKOFF_MS) * 2));
  });
  client.on('error', (err) => {
    o.log.debug({ clientId: o.clientId, err: err.message }, 'mqtt client error');
  });
  client.connect();
  return client;
}

type SendPacket = (packet: { cmd: string; messageId?: number }, cb?: (err?: Error) => void, ...rest: unknown[]) => void;

/** mqtt.js writes every packet through its private `_sendPacket` (lib/client.ts), the PUBACKs of handlePublish too. */
function hasSendPacket(c: object): c is { _sendPacket: SendPacket } {
  return '_sendPacket' in c && typeof c._sendPacket === 'function';
}

/**
 * mqtt.js hands a client its next PUBLISH only after `handleMessage` calls back,
 * and sends the PUBACK from that callback. For pipelined messages the callback
 * comes at once and the PUBACK write is held back here until the message's work
 * resolves, in arrival order; a PUBACK whose connection has gone is dropped (the
 * broker redelivers the message on the next one).
 */
function pipelineAcks(client: MqttClient, max: number, fail: (topic: string, err: Error) => void) {
  const held = new Map<number, { topic: string; work: Promise<void>; stream: unknown }>();
  let acks: Promise<void> = Promise.resolve();
  let all: Promise<void> = Promise.resolve();
  let open = 0;
  let broken: unknown;
  let waiting: Array<() => void> = [];
  const c: object = client;
  if (!hasSendPacket(c)) throw new Error('mqtt.js MqttClient has no _sendPacket to hold PUBACKs back with: check the mqtt version');
  const send = c._sendPacket.bind(client);
  c._sendPacket = (packet, cb, ...rest) => {
    const h = packet.cmd === 'puback' && packet.messageId !== undefined ? held.get(packet.messageId) : undefined;
    if (!h) return send(packet, cb, ...rest);
    held.delete(packet.messageId!);
    acks = acks
      .then(() => h.work)
      .then(
        () => {
          if (client.connected && client.stream === h.stream && h.stream !== broken) send(packet);
        },
        (err: Error) => {
          // No PUBACK after a missing one on this connection: they stay in order.
          if (client.stream !== h.stream || h.stream === broken) return;
          broken = h.stream;
          fail(h.topic, err);
        },
      );
    cb?.();
  };
  return {
    handOn(topic: string, messageId: number, work: Promise<void>, done: () => void): void {
      held.set(messageId, { topic, work, stream: client.stream });
      open += 1;
      const settled = work.then(
        () => undefined,
        () => undefined,
      );
      all = Promise.all([all, settled]).then(() => undefined);
      void settled.then(() => {
        open -= 1;
        const w = waiting;
        waiting = [];
        for (const f of w) f();
      });
      if (open < max) done();
      else waiting.push(done);
    },
    /** Resolves when every message handed on so far has resolved (or failed). */
    settled(): Promise<void> {
      return all;
    },
  };
}

/**
 * TCP_NODELAY on the client's socket at every connect: each hop of an event is a few
 * small packets, and Nagle's algorithm (RFC 896) would hold one back until the peer's
 * delayed ACK (up to 40 ms on Linux).
 */
export function noDelay(client: MqttClient): MqttClient {
  const set = (): void => (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
  client.on('connect', set);
  if (client.connected) set();
  return client;
}

/** Wait for the first CONNACK, or fail naming the broker after `timeoutMs`. */
export function whenConnected(client: MqttClient, timeoutMs: number): Promise<void> {
  if (client.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('connect', ok);
      reject(new Error(`no connection to the broker at ${client.options.host}:${client.options.port} within ${timeoutMs} ms`));
    }, timeoutMs);
    const ok = (): void => {
      clearTimeout(timer);
      resolve();
    };
    client.once('connect', ok);
  });
}

/** End a client after its in-flight messages are acknowledged (or `timeoutMs`). */
export function endClient(client: MqttClient, timeoutMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => client.end(true, {}, () => resolve()), timeoutMs);
    client.end(false, {}, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
