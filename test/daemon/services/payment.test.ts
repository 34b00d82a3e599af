import t, { type Test } from 'tap';
import { payment } from '../../../daemon/services/payment/service.js';
import { serviceHarness, type ServiceHarness } from '../../helpers/service-harness.js';

// The payment state machine on the service alone, with the simulated terminal's delay and
// the payment timeout on the harness's clock: approve, decline, timeout, cancel, a request
// delivered twice, and a payment in flight across a restart charged once.

const TXN = 'T-0001';

const start = async (t: Test, settings: Record<string, unknown>, stateDir?: string) => {
  const h = await serviceHarness(payment, { settings, ...(stateDir ? { stateDir } : {}) });
  t.teardown(() => h.stop());
  return h;
};
const terminal = (script: string[], extra: Record<string, unknown> = {}) => ({ terminal: { kind: 'simulated', delayMs: 1000, script }, ...extra });
const request = (h: ServiceHarness, id = `${TXN}-P1`, amount = 499, eventId?: string) =>
  h.event('basket', 'PaymentRequested', { payment: id, amount, currency: 'EUR', attempt: 1 }, { txn: TXN, ...(eventId ? { id: eventId } : {}) });
interface Row {
  payment: string;
  state: string;
  tries: number;
  outcome: { outcome: string } | null;
}
const ledger = async (h: ServiceHarness) =>
  (await h.ok<Array<{ key: string; state: string; charged: number }>>('SimLedger')).map((r) => [r.key, r.state, r.charged]);

t.test('approved: started with the request as its key, authorized when the terminal answers', async (t) => {
  const h = await start(t, terminal(['approve']));
  const req = await request(h);
  t.match(h.events('PaymentStarted')[0], { txn: TXN, cause: req.id, data: { payment: 'T-0001-P1', amount: 499, idempotencyKey: req.id } });
  await h.clock.timersSet(2);
  t.match(await h.ok<Row[]>('List', {}), [{ payment: 'T-0001-P1', state: 'in-flight', tries: 1 }], 'in flight before the terminal is asked');
  await h.advance(999);
  t.equal(h.events('PaymentAuthorized').length, 0, 'the shopper is still at the terminal');
  await h.advance(1);
  t.match(h.events('PaymentAuthorized')[0]?.data, { payment: 'T-0001-P1', amount: 499, currency: 'EUR', terminal: 'simulated', authCode: /^[0-9]{6}$/ });
  t.match(await h.ok<Row[]>('List', {}), [{ state: 'authorized', outcome: { outcome: 'approved' } }]);
  t.same(await ledger(h), [[req.id, 'approved', 1]]);
  t.equal(h.clock.pending, 0, 'the timeout timer is cleared with the answer');
});

t.test('declined at the terminal, and no answer within the timeout: declined with the reason, nothing charged', async (t) => {
  const h = await start(t, terminal(['decline', 'timeout'], { timeoutMs: 5000 }));
  await request(h);
  await h.clock.timersSet(2);
  await h.advance(1000);
  t.match(h.events('PaymentDeclined')[0]?.data, { payment: 'T-0001-P1', reason: 'declined', detail: /card issuer/ });

  await request(h, 'T-0001-P2');
  await h.clock.timersSet(1);
  await h.advance(4999);
  t.equal(h.events('PaymentDeclined').length, 1, 'not before the timeout');
  await h.advance(1);
  t.match(h.events('PaymentDeclined')[1]?.data, { payment: 'T-0001-P2', reason: 'timeout' });
  t.same(
    (await ledger(h)).map(([, state, charged]) => [state, charged]),
    [
      ['declined', 0],
      ['cancelled', 0],
    ],
    'the timed-out payment is cancelled at the terminal',
  );
  t.ok(
    h.logs.some((l) => l.level === 40 && /T-0001-P2 of T-0001 timeout/.test(l.msg)),
    'a declined payment is logged as a warning',
  );
});

t.test('the shopper cancels: in flight it is stopped at the terminal; a finished one cannot be cancelled', async (t) => {
  const h = await start(t, terminal(['approve']));
  await request(h);
  await h.clock.timersSet(2);
  t.same(await h.ok('Cancel', {}), { payment: 'T-0001-P1', cancelling: true });
  const declined = await h.waitForEvent<{ reason: string }>('PaymentDeclined');
  t.equal(declined.data.reason, 'cancelled');
  t.same(
    (await ledger(h)).map(([, state, charged]) => [state, charged]),
    [['cancelled', 0]],
  );
  t.match(await h.command('Cancel', { payment: 'T-0001-P1' }), { ok: false, error: 'payment T-0001-P1 is already declined' });
  t.match(await h.command('Cancel', {}), { ok: false, error: 'no payment is in progress' });
});

t.test('a request delivered twice starts one payment', async (t) => {
  const h = await start(t, terminal(['approve']));
  const req = await request(h);
  await request(h, 'T-0001-P1', 499, req.id);
  t.equal(h.events('PaymentStarted').length, 1);
  await h.clock.timersSet(2);
  await h.advance(1000);
  t.equal(h.events('PaymentAuthorized').length, 1);
  t.equal((await ledger(h)).length, 1);
});

t.test('a payment in flight when the service stops is finished after the restart and charged once', async (t) => {
  const first = await start(t, terminal(['approve']));
  const req = await request(first);
  await first.clock.timersSet(2);
  await first.stop();
  t.equal(first.events('PaymentAuthorized').length + first.events('PaymentDeclined').length, 0, 'stopped with the payment open');

  const again = await start(t, terminal(['decline']), first.stateDir);
  t.ok(
    again.logs.some((l) => /resuming payment T-0001-P1 after a restart/.test(l.msg)),
    'the open payment is resumed at start',
  );
  await again.clock.timersSet(2);
  await again.advance(1000);
  t.match(again.events('PaymentAuthorized')[0]?.data, { payment: 'T-0001-P1' }, 'the terminal’s first answer for the key stands');
  t.same(await ledger(again), [[req.id, 'approved', 1]], 'one row, charged once');
  t.match(await again.ok<Row[]>('List', {}), [{ state: 'authorized', tries: 2 }], 'asked twice with the same key');
});
