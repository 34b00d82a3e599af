import type { Client } from 'aedes';

const REMEMBERED = 2048;

/**
 * Aedes drops a message for a client when its broker counter is below the highest
 * already delivered to that client (`dedupe()` in aedes lib/client.js, meant for
 * copies arriving twice through a cluster). The counter is taken when a publish
 * starts, but a publish that waits on persistence (a retained doc, an offline queue)
 * can be overtaken by a later one: the earlier message was then silently lost.
 * Here a client skips only the exact copies it has already been given (overlapping
 * subscriptions), in whatever order they come.
 */
export function deliverOutOfOrder(client: Client): void {
  const seen = new Set<string>();
  const order: string[] = [];
  // deliverQoS hands a QoS 0 packet straight to deliver0: that inner call is the same delivery
  let inner = false;
  const wrap = (deliver: Client['deliverQoS']): Client['deliverQoS'] =>
    function (this: unknown, packet, cb) {
      const id = packet.brokerId;
      const counter = packet.brokerCounter;
      if (inner || !id || counter === undefined) return deliver.call(this, packet, cb);
      const key = `${id}:${counter}`;
      if (seen.has(key)) return setImmediate(cb);
      seen.add(key);
      order.push(key);
      if (order.length > REMEMBERED) seen.delete(order.shift() as string);
      // let aedes' own check pass for this counter
      client.duplicates[id] = counter - 1;
      inner = true;
      try {
        return deliver.call(this, packet, cb);
      } finally {
        inner = false;
      }
    };
  client.deliverQoS = wrap(client.deliverQoS);
  client.deliver0 = wrap(client.deliver0);
}
