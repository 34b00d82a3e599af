import t from 'tap';
import { Batcher, type BatcherOptions } from '../../../broker/persistence/batcher.js';

/** A batcher whose flushes the test finishes one by one: `flushed` lists each batch as it starts. */
function held<T>(opts: Omit<BatcherOptions<T>, 'flush'> = {}) {
  const flushed: T[][] = [];
  const finish: Array<(err?: Error) => void> = [];
  let running = 0;
  let overlapped = false;
  let started: (() => void) | undefined;
  const batcher = new Batcher<T>({
    ...opts,
    flush: (batch) => {
      running += 1;
      overlapped ||= running > 1;
      flushed.push(batch);
      started?.();
      return new Promise<void>((resolve, reject) =>
        finish.push((err) => {
          running -= 1;
          if (err) reject(err);
          else resolve();
        }),
      );
    },
  });
  /** Resolves once `n` flushes have started. */
  const starts = (n: number): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (flushed.length < n) return;
        started = undefined;
        resolve();
      };
      started = check;
      check();
    });
  return { batcher, flushed, finish, starts, overlapped: () => overlapped };
}

t.test('items added while a flush runs go together in the next, in order', async (t) => {
  const { batcher, flushed, finish, starts, overlapped } = held<number>();
  const settled: number[] = [];
  const add = (n: number): Promise<void> => batcher.add(n).then(() => void settled.push(n));
  const all = [add(1), add(2), add(3)];
  await starts(1);
  t.same(flushed, [[1]], 'the first item of a quiet spell flushes at once, alone');
  all.push(add(4));
  finish[0]();
  await starts(2);
  t.same(flushed[1], [2, 3, 4], 'what waited meanwhile is one batch');
  t.same(settled, [1], 'an item settles with its own batch');
  finish[1]();
  await Promise.all(all);
  t.same(settled, [1, 2, 3, 4]);
  t.notOk(overlapped(), 'flushes never overlap');
});

t.test('maxBatch and items that go alone split the batches', async (t) => {
  const { batcher, flushed, finish, starts } = held<string>({ maxBatch: 3, alone: (s) => s.startsWith('!') });
  const all = ['a', 'b', 'c', 'd', 'e', '!f', 'g', '!h', '!i', 'j'].map((s) => batcher.add(s));
  for (let i = 0; i < 8; i++) {
    await starts(i + 1);
    finish[i]();
  }
  await Promise.all(all);
  t.same(
    flushed,
    [['a'], ['b', 'c', 'd'], ['e'], ['!f'], ['g'], ['!h'], ['!i'], ['j']],
    'every item once, in order, split at maxBatch and around the lone ones',
  );
});

t.test("'turn': the items of one turn share a flush; the next waits for it and a turn", async (t) => {
  const { batcher, flushed, finish, starts, overlapped } = held<number>({ start: 'turn' });
  const first = [batcher.add(1), batcher.add(2), batcher.add(3)];
  t.same(flushed, [], 'nothing flushes in the turn the items came');
  await starts(1);
  t.same(flushed, [[1, 2, 3]]);
  const second = [batcher.add(4), batcher.add(5)];
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(flushed.length, 1, 'no second flush while the first runs');
  finish[0]();
  await Promise.all(first);
  await starts(2);
  t.same(flushed[1], [4, 5]);
  finish[1]();
  await Promise.all(second);
  t.notOk(overlapped());
});

t.test('a delayed start gathers the items of the delay', async (t) => {
  const { batcher, flushed, finish, starts } = held<number>({ start: 20 });
  const all = [batcher.add(1)];
  await new Promise((resolve) => setImmediate(resolve));
  all.push(batcher.add(2));
  t.same(flushed, [], 'the first item waits');
  await starts(1);
  t.same(flushed, [[1, 2]]);
  finish[0]();
  await Promise.all(all);
});

t.test('a failed flush rejects its own items only; idle waits for all; cancel drops the waiting', async (t) => {
  const { batcher, flushed, finish, starts } = held<number>();
  const one = batcher.add(1);
  const two = batcher.add(2);
  const three = batcher.add(3);
  await starts(1);
  finish[0](new Error('disk full'));
  await t.rejects(one, /disk full/);
  await starts(2);
  let idle = false;
  const waiting = batcher.idle().then(() => (idle = true));
  await new Promise((resolve) => setImmediate(resolve));
  t.notOk(idle, 'idle waits for the running flush');
  finish[1]();
  await Promise.all([two, three]);
  t.same(flushed, [[1], [2, 3]]);
  await waiting;
  t.ok(idle, 'idle once the last flush is done');

  const slow = held<number>({ start: 'turn' });
  const dropped = slow.batcher.add(9);
  slow.batcher.cancel(new Error('closed'));
  await t.rejects(dropped, /closed/);
  await slow.batcher.idle();
  t.same(slow.flushed, [], 'a cancelled item is never flushed');
});
