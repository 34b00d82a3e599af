import t from 'tap';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBoardClock, compareBoardTime } from '../../../daemon/events/clock.js';

t.test('epoch counts kernel boots, not process starts', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'laned-clock-'));
  const a = openBoardClock(dir, 'boot-a');
  const again = openBoardClock(dir, 'boot-a');
  const next = openBoardClock(dir, 'boot-b');
  t.equal(a.epoch, 1);
  t.equal(again.epoch, 1, 'same boot, same epoch');
  t.equal(next.epoch, 2, 'new boot id moves the epoch on');
});

t.test('board times order by epoch, then monotonic ns beyond 2^53', async (t) => {
  t.ok(compareBoardTime({ epoch: 1, mono: '9999999999999999999' }, { epoch: 2, mono: '1' }) < 0);
  t.ok(compareBoardTime({ epoch: 3, mono: '9007199254740993' }, { epoch: 3, mono: '9007199254740992' }) > 0);
  t.equal(compareBoardTime({ epoch: 3, mono: '5' }, { epoch: 3, mono: '5' }), 0);
  const c = openBoardClock(mkdtempSync(join(tmpdir(), 'laned-clock-')), 'x');
  const first = c.now();
  const second = c.now();
  t.ok(compareBoardTime(first, second) < 0, 'now() is strictly increasing');
});

t.test('a damaged board-epoch.json is moved aside and reported, not silently restarted at 1', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'laned-clock-'));
  writeFileSync(join(dir, 'board-epoch.json'), '{"epoch": 5');
  const c = openBoardClock(dir, 'boot-a');
  t.match(c.damaged, { file: join(dir, 'board-epoch.json'), reason: /^not JSON: / }, 'reported');
  t.ok(c.damaged && existsSync(c.damaged.movedTo), 'the damaged file is kept');
  c.recover(42);
  t.equal(c.epoch, 42);
  t.equal(c.now().epoch, 42, 'events take the recovered epoch');
  const again = openBoardClock(dir, 'boot-a');
  t.equal(again.epoch, 42, 'persisted');
  t.equal(again.damaged, undefined);
  writeFileSync(join(dir, 'board-epoch.json'), '{"epoch": 0, "bootId": "boot-a"}');
  t.match(openBoardClock(dir, 'boot-a').damaged, { reason: /^no epoch in it/ }, 'an epoch below 1 is no epoch');
});
