import t from 'tap';
import { KeyedExecutor } from '../../../daemon/events/executor.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

t.test('same key runs one at a time in order; other keys overlap', async (t) => {
  const ex = new KeyedExecutor();
  const log: string[] = [];
  let maxSameKey = 0;
  const runningByKey = new Map<string, number>();
  const job = (key: string, n: number) =>
    ex.run(key, async () => {
      runningByKey.set(key, (runningByKey.get(key) ?? 0) + 1);
      maxSameKey = Math.max(maxSameKey, runningByKey.get(key)!);
      log.push(`${key}${n}+`);
      await tick();
      await tick();
      log.push(`${key}${n}-`);
      runningByKey.set(key, runningByKey.get(key)! - 1);
    });
  await Promise.all([job('a', 1), job('b', 1), job('a', 2), job('b', 2), job('a', 3)]);
  t.equal(maxSameKey, 1, 'never two jobs of one key at once');
  const a = log.filter((l) => l.startsWith('a'));
  t.same(a, ['a1+', 'a1-', 'a2+', 'a2-', 'a3+', 'a3-'], 'key a in submission order');
  t.ok(log.indexOf('b1+') < log.indexOf('a1-'), 'key b started while a1 was running');
  t.equal(ex.activeKeys, 0, 'idle keys are forgotten');
});

t.test('a failing job does not stop its key', async (t) => {
  const ex = new KeyedExecutor();
  await t.rejects(
    ex.run('k', async () => Promise.reject(new Error('boom'))),
    /boom/,
  );
  t.equal(await ex.run('k', async () => 42), 42);
});
