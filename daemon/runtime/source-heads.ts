import mqtt from 'mqtt';
import { svcHead } from '../../broker/topics.js';

/**
 * The newest acknowledged `seq` of each source, from the retained
 * `svc/<source>/head` messages its outbox publishes (daemon/events/outbox.ts).
 * Used when a source's database was lost, so its `seq` continues instead of
 * restarting at 1. Sources without a retained head are left out.
 */
export async function retainedHeads(url: string, password: (clientId: string) => string, sources: string[], timeoutMs = 1000): Promise<Map<string, number>> {
  const heads = new Map<string, number>();
  if (sources.length === 0) return heads;
  // a `service` identity named laned-<x> may subscribe to svc/# (broker/acl.ts)
  const clientId = 'laned-seq-recovery';
  const client = mqtt.connect(url, { clientId, username: 'service', password: password(clientId), clean: true, reconnectPeriod: 0, connectTimeout: timeoutMs });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, timeoutMs);
      client.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      client.on('message', (topic, payload) => {
        const source = topic.split('/')[1]!;
        try {
          const seq = Number((JSON.parse(payload.toString('utf8')) as { seq?: unknown }).seq);
          if (Number.isInteger(seq) && seq > 0) heads.set(source, seq);
        } catch {
          // not a head announcement: ignore
        }
        if (heads.size === sources.length) {
          clearTimeout(timer);
          resolve();
        }
      });
      client.once('connect', () => client.subscribe(sources.map(svcHead), { qos: 1 }));
    });
  } finally {
    client.end(true);
  }
  return heads;
}
