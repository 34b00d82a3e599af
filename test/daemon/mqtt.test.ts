import t from 'tap';
import { connectClient, whenConnected } from '../../daemon/runtime/mqtt.js';
import { createLogger } from '../../daemon/core/log.js';
import { startLane, until } from '../helpers/lane.js';

// A pipelined consumer gets its next message before the one before is handled, yet
// acknowledges none before its work is done, and in arrival order: cut the connection
// while the first is unfinished and the broker delivers both again.

t.test('pipelined messages: handed on at once, PUBACK only after the work and in order', async (t) => {
  const lane = await startLane({ devices: {} });
  t.teardown(() => lane.stop());
  const log = createLogger({ level: 'error', destination: { write: () => true } as never });
  const seen: string[] = [];
  const release = new Map<string, () => void>();
  let subscribed = (): void => undefined;
  const suback = new Promise<void>((resolve) => (subscribed = resolve));
  const consumer = connectClient({
    url: lane.brokerUrl,
    clientId: 'laned-pipetest',
    username: 'service',
    password: lane.daemon.credentials.password('service', 'laned-pipetest'),
    log,
    subscriptions: ['evt/pubtest/+'],
    pipelined: (topic) => topic.startsWith('evt/'),
    onSubscribed: () => subscribed(),
    onMessage: (topic, payload) => {
      const body = payload.toString();
      seen.push(body);
      // "one" finishes only when the test says so; the others at once
      return body === 'one' ? new Promise<void>((resolve) => release.set(`${body}#${seen.length}`, resolve)) : Promise.resolve();
    },
  });
  t.teardown(() => consumer.end(true));
  await whenConnected(consumer, 5000);
  await suback;
  const pub = await lane.connect('service', 'laned-pubtest');
  await pub.publishAsync('evt/pubtest/X', 'one', { qos: 1 });
  await pub.publishAsync('evt/pubtest/X', 'two', { qos: 1 });
  await until(() => seen.length === 2, 5000, 'both handed on');
  t.same(seen, ['one', 'two'], '"two" reached the handler while "one" was unfinished');

  // Drop the connection with "one" unfinished: neither may have been acknowledged.
  consumer.stream.destroy();
  await until(() => seen.length >= 4, 10_000, 'both delivered again after the reconnect');
  t.same(seen.slice(2, 4), ['one', 'two'], 'redelivered, in order: the PUBACK of "two" waited behind "one"');
  for (const r of release.values()) r();

  // Once the work is done, nothing comes back after another reconnect: a message sent
  // after it arrives, and nothing before it (a resumed session redelivers first).
  await until(() => lane.daemon.broker!.stats().queued === 0, 5000, 'every delivery acknowledged');
  const before = seen.length;
  consumer.stream.destroy();
  await until(() => !consumer.connected, 5000, 'disconnected');
  await whenConnected(consumer, 10_000);
  await pub.publishAsync('evt/pubtest/X', 'three', { qos: 1 });
  await until(() => seen.includes('three'), 10_000, 'the message after the reconnect');
  t.same(seen.slice(before), ['three'], 'acknowledged once finished: no redelivery');
});
