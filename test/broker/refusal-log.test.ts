import t from 'tap';
import { RefusalLog } from '../../broker/refusal-log.js';

// Refusals a client can repeat at will (a flood) log one line per kind per period, then say how many followed.

t.test('one line per kind per period, with the count of those not logged', async (t) => {
  const lines: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  let now = 0;
  const log = new RefusalLog({ warn: (obj, msg) => lines.push({ obj, msg }) }, 10_000, () => now);
  for (let i = 0; i < 50; i++) log.warn('auth-rate-limited 10.0.0.1', { n: i }, 'refused');
  log.warn('auth-rate-limited 10.0.0.2', {}, 'refused elsewhere');
  t.same(
    lines.map((l) => l.msg),
    ['refused', 'refused elsewhere'],
    'the first of each kind',
  );
  now = 10_000;
  log.warn('auth-rate-limited 10.0.0.1', { n: 50 }, 'refused');
  t.equal(lines.length, 3);
  t.equal(lines[2]!.msg, 'refused (and 49 more like it in the last 10 s)');
  t.same(lines[2]!.obj, { n: 50, suppressed: 49 });
});
