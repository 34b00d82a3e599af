import t from 'tap';
import { LaneSession } from '../helpers/session.js';

// A service publishes a document only when it changed: the lane's state stays
// "shopping" through a scan and its bagging, so doc/lane is not sent again, while
// doc/basket (a new line each time) is.

const COLA = { code: '5449000000996', g: 350 };

t.test('unchanged documents are not published again', async (t) => {
  const s = await LaneSession.open({ services: { weightcheck: { enabled: true, notBaggedTimeoutMs: 60_000 } } });
  t.teardown(() => s.close());
  await s.scanItem(COLA.code);
  await s.bag(COLA.g);
  await s.quiesce();
  t.equal(s.docs.get('lane')?.state, 'shopping');
  const sent = new Map<string, number>();
  const count = (topic: string): void => {
    sent.set(topic, (sent.get(topic) ?? 0) + 1);
  };
  s.reader.on('message', count);
  await s.scanItem(COLA.code);
  await s.bag(COLA.g);
  await s.quiesce();
  s.reader.off('message', count);
  t.equal(sent.get('doc/lane') ?? 0, 0, 'doc/lane unchanged by a scan and its bagging: not sent');
  t.ok((sent.get('doc/basket') ?? 0) >= 1, 'doc/basket changed: sent');
  t.equal(s.docs.get('lane')?.state, 'shopping', 'the retained doc/lane still says so');
});
