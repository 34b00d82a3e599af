import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../../core/log.js';
import type { UplinkConfig } from './settings.js';

const MIN_BACKOFF_MS = 250;

export interface LinkStatus {
  connected: boolean;
  url: string;
  clientId: string;
  /** Why the last attempt failed (refused credentials, a certificate, no route…), until the next success. */
  lastError?: string;
  lastErrorAt?: string;
  connectedSince?: string;
  attempts: number;
  nextRetryMs?: number;
}

export interface LinkOptions {
  config: UplinkConfig;
  clientId: string;
  log: Logger;
  /** The retained last will [MQTT-3.1.2-9]: published by the store broker when the lane vanishes. */
  will: { topic: string; payload: string };
  /** Topic filters subscribed (QoS 1) on every connect without a stored session. */
  subscriptions: string[];
  onConnect(): void;
  onClose(): void;
  onMessage(topic: string, payload: Buffer): void;
}

/** CONNACK return codes of MQTT 3.1.1 [MQTT-3.2.2.3], as store IT reads them. */
const CONNACK: Record<number, string> = {
  1: 'the store broker refused the protocol version',
  2: 'the store broker refused the clientId',
  3: 'the store broker is unavailable',
  4: 'the store broker refused the username or password (uplink.username, uplink.password)',
  5: 'the store broker refused this lane (not authorized)',
};

/** One line a technician can act on, for the errors a store connection meets. */
export function explain(err: Error & { code?: string | number }, url: string): string {
  const code = err.code;
  if (typeof code === 'number' && CONNACK[code]) return CONNACK[code];
  switch (code) {
    case 'ECONNREFUSED':
      return `nothing listens at ${url} (connection refused)`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `no route to ${url} (${code})`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the store broker's host name in ${url} does not resolve (${code})`;
    case 'ETIMEDOUT':
      return `${url} does not answer (timed out)`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `the store broker's certificate is refused: ${err.message} (${code}); check uplink.ca and the broker's host name`;
    default:
      if (/Bad username or password|Not authorized/i.test(err.message)) return `the store broker refused this lane: ${err.message}`;
      return `${err.message}${code ? ` (${code})` : ''}`;
  }
}

/**
 * The connection to the store's broker: TLS verified against `uplink.ca`, a client
 * certificate or username/password, a durable session (clean=false), a retained last
 * will, and reconnects with a wait doubling up to `uplink.maxBackoffMs`. Logs once
 * when the store goes and once when it comes back, and keeps why it failed.
 */
export class StoreLink {
  private client: MqttClient | undefined;
  private readonly st: LinkStatus;
  private down = false;
  private stopped = false;

  constructor(private readonly o: LinkOptions) {
    this.st = { connected: false, url: o.config.url, clientId: o.clientId, attempts: 0 };
  }

  start(): void {
    const c = this.o.config;
    const password = c.passwordFile ? readFileSync(c.passwordFile, 'utf8').trim() : c.password;
    const options: IClientOptions = {
      clientId: this.o.clientId,
      clean: false,
      protocolVersion: 4,
      keepalive: 15,
      connectTimeout: 5000,
      reconnectPeriod: MIN_BACKOFF_MS,
      resubscribe: true,
      // a refused CONNACK (credentials) is retried like a lost connection: store IT may mend it
      reconnectOnConnackError: true,
      ...(c.username !== undefined ? { username: c.username } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(c.ca ? { ca: readFileSync(c.ca) } : {}),
      ...(c.cert ? { cert: readFileSync(c.cert) } : {}),
      ...(c.key ? { key: readFileSync(c.key) } : {}),
      rejectUnauthorized: true,
      will: { topic: this.o.will.topic, payload: Buffer.from(this.o.will.payload), qos: 1, retain: true },
    };
    const client = mqtt.connect(c.url, options);
    this.client = client;
    client.on('connect', (connack) => {
      this.st.connected = true;
      this.st.connectedSince = new Date().toISOString();
      delete this.st.lastError;
      delete this.st.lastErrorAt;
      delete this.st.nextRetryMs;
      client.options.reconnectPeriod = MIN_BACKOFF_MS;
      this.o.log.info({ url: c.url, clientId: this.o.clientId, sessionPresent: connack.sessionPresent }, `connected to the store broker ${c.url}`);
      this.down = false;
      if (!connack.sessionPresent && this.o.subscriptions.length) {
        client.subscribe(this.o.subscriptions, { qos: 1 }, (err, granted) => {
          const refused = granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? [];
          if (err || refused.length)
            this.fail(
              new Error(`the store broker refused the subscription to ${refused.join(', ') || err?.message}: store IT's commands do not reach this lane`),
            );
        });
      }
      this.o.onConnect();
    });
    client.on('error', (err: Error & { code?: string | number }) => this.fail(err));
    client.on('close', () => {
      const was = this.st.connected;
      this.st.connected = false;
      if (this.stopped) return;
      this.st.attempts += 1;
      const next = Math.min(c.maxBackoffMs, Math.max(MIN_BACKOFF_MS, (client.options.reconnectPeriod ?? MIN_BACKOFF_MS) * (was ? 1 : 2)));
      client.options.reconnectPeriod = next;
      this.st.nextRetryMs = next;
      if (!this.down) {
        this.o.log.warn(
          { url: c.url, reason: this.st.lastError },
          `store broker ${c.url} not reachable${this.st.lastError ? `: ${this.st.lastError}` : ''}; events wait in the lane's logs, retrying with backoff`,
        );
        this.down = true;
      }
      if (was) this.o.onClose();
    });
    client.on('message', (topic, payload) => this.o.onMessage(topic, payload));
  }

  private fail(err: Error & { code?: string | number }): void {
    const why = explain(err, this.o.config.url);
    if (why !== this.st.lastError) {
      // one line per distinct reason, not one per retry
      this.o.log.error({ url: this.o.config.url, err: why }, `store broker ${this.o.config.url}: ${why}`);
    }
    this.st.lastError = why;
    this.st.lastErrorAt = new Date().toISOString();
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** QoS 1; `done` runs on the store broker's PUBACK (err: not acknowledged, the client is closing). */
  publish(topic: string, payload: string | Buffer, opts: { retain?: boolean }, done?: (err?: Error) => void): void {
    if (!this.client) return done?.(new Error('store link not started'));
    this.client.publish(topic, payload, { qos: 1, retain: opts.retain ?? false }, (err) => done?.(err ?? undefined));
  }

  status(): LinkStatus {
    return { ...this.st };
  }

  /** A graceful stop sends `state` first, so the store does not see the will as a crash. */
  async stop(last?: { topic: string; payload: string }): Promise<void> {
    const client = this.client;
    if (!client) return;
    if (last && client.connected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        client.publish(last.topic, last.payload, { qos: 1, retain: true }, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.stopped = true;
    await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
  }
}
