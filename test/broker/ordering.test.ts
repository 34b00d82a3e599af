import t from 'tap';
import type { MqttClient } from 'mqtt';
import { startLane } from '../helpers/lane.js';

// A retained publish waits for its SQLite commit before delivery; a later publish from
// another client can overtake it. Aedes alone then drops the earlier one for a client
// subscribed to both (its broker-counter dedupe); the broker must deliver both.

const publish = (c: MqttClient, topic: string, body: string, retain = false): Promise<void> =>
  new Promise((resolve, reject) => c.publish(topic, body, { qos: 1, retain }, (err) => (err ? reject(err) : resolve())));

t.test('a retained doc overtaken by a later reply still reaches a client subscribed to both', async (t) => {
  const lane = await startLane({ devices: {}, services: {} });
  t.teardown(() => lane.stop());
  const reader = await lane.connect('technician', 'reader');
  const got: string[] = [];
  reader.on('message', (topic, payload) => {
    if (topic.startsWith('doc/ordering-test') || topic.startsWith('reply/')) got.push(`${topic} ${payload.toString()}`);
  });
  await new Promise((r) => reader.subscribe(['doc/#', 'reply/reader/#'], { qos: 1 }, r));
  const docs = await lane.connect('service', 'laned-docs');
  const replies = await lane.connect('service', 'laned-replier');
  const rounds = 50;
  // only a command's target may answer on its replyTo (broker/commands.ts): ask first
  for (let i = 0; i < rounds; i++) await publish(reader, 'cmd/replier/Echo', JSON.stringify({ id: `q${i}`, replyTo: `reply/reader/${i}` }));
  for (let i = 0; i < rounds; i++) {
    void publish(docs, 'doc/ordering-test', `{"v":${i}}`, true);
    void publish(replies, `reply/reader/${i}`, `{"r":${i}}`);
  }
  for (let i = 0; i < 200 && got.length < rounds * 2; i++) await new Promise((r) => setTimeout(r, 25));
  t.equal(got.filter((g) => g.startsWith('doc/ordering-test')).length, rounds, 'every retained doc delivered');
  t.equal(got.filter((g) => g.startsWith('reply/reader')).length, rounds, 'every reply delivered');
  t.equal(new Set(got).size, got.length, 'no copy twice');
});

t.test('overlapping subscriptions still give one copy', async (t) => {
  const lane = await startLane({ devices: {}, services: {} });
  t.teardown(() => lane.stop());
  const reader = await lane.connect('technician', 'overlap');
  const got: string[] = [];
  reader.on('message', (topic) => {
    if (topic === 'doc/ordering-test') got.push(topic);
  });
  await new Promise((r) => reader.subscribe(['doc/#', 'doc/+', 'doc/ordering-test'], { qos: 1 }, r));
  const docs = await lane.connect('service', 'laned-docs');
  await publish(docs, 'doc/ordering-test', '{}');
  // the subject is silence: room for a wrongly delivered second copy to arrive
  await new Promise((r) => setTimeout(r, 300));
  t.same(got, ['doc/ordering-test']);
});
