import type { MqttClient } from 'mqtt';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { doc, type DocName } from '../../broker/topics.js';

/**
 * A service's retained `doc/<name>` documents (QoS 1). The same document again
 * changes nothing for its readers: not sent (the broker keeps the retained one).
 * After a reconnect (`forget`) the next one is sent whatever it holds.
 */
export class DocPublisher {
  /** The last text of each doc/<name> published on this connection. */
  private readonly sent = new Map<string, string>();

  constructor(
    private readonly opts: {
      service: string;
      maxPayloadBytes: number;
      metrics: Metrics;
      log: Logger;
      client(): MqttClient | undefined;
    },
  ) {}

  /** A document over `events.maxPayloadBytes` is not sent (the broker would refuse it): it is logged and counted. */
  publish(name: DocName, body: unknown): void {
    const text = JSON.stringify(body);
    if (this.sent.get(name) === text) return;
    const bytes = Buffer.byteLength(text);
    const max = this.opts.maxPayloadBytes;
    if (bytes > max) {
      this.opts.metrics.docsRefused.inc({ service: this.opts.service, doc: name });
      this.opts.log.error(
        { doc: name, bytes, max },
        `doc/${name} not published: ${bytes} bytes over events.maxPayloadBytes ${max}; its readers keep the previous one`,
      );
      return;
    }
    this.sent.set(name, text);
    this.opts.client()?.publish(doc(name), text, { qos: 1, retain: true });
  }

  /** Remove the retained `doc/<name>` (a zero-byte retained message [MQTT-3.3.1-10]). */
  clear(name: DocName): void {
    if (this.sent.get(name) === '') return;
    this.sent.set(name, '');
    this.opts.client()?.publish(doc(name), '', { qos: 1, retain: true });
  }

  /** A new connection: its broker session may have lost nothing, but every next document is sent. */
  forget(): void {
    this.sent.clear();
  }
}
