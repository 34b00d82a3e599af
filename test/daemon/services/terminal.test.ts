import t from 'tap';
import { join } from 'node:path';
import { SimulatedTerminal } from '../../../daemon/services/payment/simulated.js';
import { PaymentAborted } from '../../../daemon/services/payment/terminal.js';
import { silentLogger } from '../../../daemon/core/log.js';
import { query, tempDir } from '../../helpers/daemon.js';
import { until } from '../../helpers/lane.js';

// The PaymentTerminal contract on the simulated terminal: one idempotency key is
// charged at most once, whatever is asked again, restarted, aborted or cancelled.

const req = (key: string, amount = 100) => ({ key, amount, currency: 'EUR', reference: 'T-1' });
const never = () => new AbortController().signal;

t.test('the same key is charged once; scripted outcomes in order', async (t) => {
  const dir = tempDir();
  const term = new SimulatedTerminal({ stateDir: dir, log: silentLogger(), delayMs: 20, script: ['decline', 'approve'] });
  await term.start();
  t.teardown(() => term.stop());
  t.same(await term.authorize(req('k1'), never()), { outcome: 'declined', detail: 'declined by the card issuer (simulated)' });
  const a = await term.authorize(req('k2'), never());
  t.equal(a.outcome, 'approved');
  t.same(await term.authorize(req('k2'), never()), a, 'asked again: the first answer, no new charge');
  const both = await Promise.all([term.authorize(req('k3'), never()), term.authorize(req('k3'), never())]);
  t.same(both[0], both[1], 'asked twice at once: one outcome');
  const rows = await query<{ key: string; state: string; charged: number }>(
    join(dir, 'payment-terminal.db'),
    'SELECT key, state, charged FROM sim_ledger ORDER BY key',
  );
  t.same(rows, [
    { key: 'k1', state: 'declined', charged: 0 },
    { key: 'k2', state: 'approved', charged: 1 },
    { key: 'k3', state: 'approved', charged: 1 },
  ]);
});

t.test('a pending key survives a restart of the terminal and finishes once', async (t) => {
  const dir = tempDir();
  const first = new SimulatedTerminal({ stateDir: dir, log: silentLogger(), delayMs: 60_000 });
  await first.start();
  const ac = new AbortController();
  const pending = first.authorize(req('k'), ac.signal);
  await until(async () => (await first.ledger()).some((r) => r.key === 'k' && r.state === 'pending'), 5000, 'k pending at the terminal');
  ac.abort();
  await t.rejects(pending, PaymentAborted, 'aborted by the caller: still pending at the terminal');
  await first.stop();
  const again = new SimulatedTerminal({ stateDir: dir, log: silentLogger(), delayMs: 10 });
  await again.start();
  t.teardown(() => again.stop());
  t.equal((await again.authorize(req('k'), never())).outcome, 'approved');
  t.same(await query(join(dir, 'payment-terminal.db'), 'SELECT state, charged FROM sim_ledger'), [{ state: 'approved', charged: 1 }]);
});

t.test('timeout never answers; cancel ends it without a charge; cancel after approval says approved', async (t) => {
  const dir = tempDir();
  const term = new SimulatedTerminal({ stateDir: dir, log: silentLogger(), delayMs: 10 });
  await term.start();
  t.teardown(() => term.stop());
  await term.queue(['timeout', 'cancel']);
  const hanging = term.authorize(req('t1'), never());
  await until(async () => (await term.ledger()).some((r) => r.key === 't1' && r.state === 'pending'), 5000, 't1 pending at the terminal');
  t.same(await term.cancel('t1'), { outcome: 'cancelled' });
  t.same(await hanging, { outcome: 'cancelled' }, 'the waiting request ends cancelled');
  t.same(await term.authorize(req('t2'), never()), { outcome: 'cancelled' }, 'the shopper cancelled at the terminal');
  const ok = await term.authorize(req('t3'), never());
  t.same(await term.cancel('t3'), ok, 'too late to cancel: the approval stands');
  t.same(
    (await term.ledger()).map((r) => [r.key, r.state, r.charged]),
    [
      ['t1', 'cancelled', 0],
      ['t2', 'cancelled', 0],
      ['t3', 'approved', 1],
    ],
  );
});
