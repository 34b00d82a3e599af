import t, { type Test } from 'tap';
import { journal, type Receipt } from '../../../daemon/services/journal/service.js';
import { serviceHarness, type ServiceHarness } from '../../helpers/service-harness.js';

// The journal's rules on the service alone: a receipt per closed transaction, rebuilt
// when a late event arrives, overrides and refused PINs kept, the touch UI limited to the
// receipt that just ended, and old receipts pruned.

const start = async (t: Test, settings: Record<string, unknown> = {}) => {
  const h = await serviceHarness(journal, { settings });
  t.teardown(() => h.stop());
  return h;
};

const shop = async (h: ServiceHarness, txn: string, close: 'completed' | 'cancelled' = 'completed') => {
  await h.event('basket', 'TransactionStarted', { txn, lane: 'lane-1', currency: 'EUR' }, { txn });
  const line = (n: number, price: number) =>
    h.event(
      'basket',
      'ItemAddedToBasket',
      { line: `L${n}`, gtin: '05449000000996', name: `item ${n}`, unit: 'each', quantity: 1, unitPrice: price, price },
      { txn },
    );
  await line(1, 129);
  await line(2, 249);
  await h.event('basket', 'ItemRemovedFromBasket', { line: 'L2', reason: 'approved', by: 'anna' }, { txn });
  if (close === 'completed') {
    await h.event(
      'payment',
      'PaymentAuthorized',
      { payment: `${txn}-P1`, amount: 129, currency: 'EUR', terminal: 'simulated', authCode: '123456', method: 'card' },
      { txn },
    );
    await h.event('basket', 'TransactionCompleted', { total: 129, currency: 'EUR', items: 1, payment: `${txn}-P1` }, { txn });
  } else await h.event('basket', 'TransactionCancelled', { total: 129, reason: 'changed my mind' }, { txn });
};

t.test('a closed transaction becomes a receipt; a late event of it rebuilds the receipt and announces the amendment', async (t) => {
  const h = await start(t);
  await shop(h, 'T-0001');
  t.match(h.events('ReceiptRecorded')[0], { txn: 'T-0001', data: { status: 'completed', total: 129, currency: 'EUR', items: 1 } });
  const receipt = await h.ok<Receipt>('Show', { txn: 'T-0001' });
  t.match(receipt, {
    txn: 'T-0001',
    lane: 'lane-1',
    status: 'completed',
    total: 129,
    lines: [{ line: 'L1', price: 129 }],
    removed: [{ line: 'L2', name: 'item 2', reason: 'approved', by: 'anna' }],
    payments: [{ payment: 'T-0001-P1', outcome: 'authorized', authCode: '123456' }],
  });
  t.equal(receipt.lines.length, 1);

  // the attendant's events of the transaction arrive after its end (another source, its own pace)
  await h.event(
    'attendant',
    'InterventionRequired',
    { intervention: 'I-0001', kind: 'removal', reason: 'Remove item 2', blocking: true, ref: 'x', line: 'L2' },
    { txn: 'T-0001' },
  );
  await h.event(
    'attendant',
    'OverrideApplied',
    { intervention: 'I-0001', kind: 'removal', action: 'approve', by: 'anna', method: 'pin', line: 'L2' },
    { txn: 'T-0001' },
  );
  t.match(await h.ok<Receipt>('Show', { txn: 'T-0001' }), {
    interventions: [{ intervention: 'I-0001', kind: 'removal' }],
    overrides: [{ intervention: 'I-0001', action: 'approve', by: 'anna', method: 'pin' }],
  });
  t.equal(h.events('ReceiptRecorded').length, 1, 'recorded once');
  // each late event that changed the receipt announced the receipt that replaces the one before
  const recorded = h.events('ReceiptRecorded')[0];
  const amended = h.events('ReceiptAmended');
  t.match(amended, [
    { txn: 'T-0001', data: { status: 'completed', total: 129, currency: 'EUR', items: 1, revision: 2, supersedes: recorded.id } },
    { txn: 'T-0001', data: { revision: 3, supersedes: amended[0]?.id } },
  ]);
  t.equal(amended.length, 2);
  // a late event that changes nothing on the receipt (a clearing of an intervention it never had) announces nothing
  await h.event('attendant', 'InterventionCleared', { intervention: 'I-0404', kind: 'removal', resolution: 'resolved' }, { txn: 'T-0001' });
  t.equal(h.events('ReceiptAmended').length, 2, 'no amendment without a change');
  t.match(await h.ok('Overrides', { txn: 'T-0001' }), [{ type: 'OverrideApplied', by: 'anna', txn: 'T-0001' }]);
});

t.test('refused PINs and mode changes are kept with who and when', async (t) => {
  const h = await start(t);
  await h.event('attendant', 'OverrideRefused', { by: 'attendant', reason: 'wrong PIN (1 of 3)', failures: 1 });
  await h.event('attendant', 'AttendantModeChanged', { on: true, method: 'key' });
  t.match(await h.ok('Overrides', {}), [
    { type: 'AttendantModeChanged', on: true, txn: null },
    { type: 'OverrideRefused', by: 'attendant', reason: 'wrong PIN (1 of 3)', txn: null },
  ]);
});

t.test('the touch UI sees only the receipt that just ended; staff see any', async (t) => {
  const h = await start(t);
  await shop(h, 'T-0001');
  await shop(h, 'T-0002', 'cancelled');
  t.match(await h.ok('Show', { txn: 'T-0002' }, { by: 'ui' }), { status: 'cancelled', cancelReason: 'changed my mind' });
  t.match(await h.command('Show', { txn: 'T-0001' }, { by: 'ui' }), { ok: false, error: /only the receipt of the transaction that just ended, not T-0001/ });
  t.match(await h.ok('Show', { txn: 'T-0001' }, { by: 'technician' }), { status: 'completed' });
  t.match(await h.command('Show', { txn: 'T-0404' }), { ok: false, error: /no transaction T-0404 in the journal/ });
});

t.test('only the newest receipts are kept', async (t) => {
  const h = await start(t, { keepReceipts: 2 });
  for (const txn of ['T-0001', 'T-0002', 'T-0003']) await shop(h, txn);
  t.same(
    (await h.ok<Array<{ txn: string }>>('List', {})).map((r) => r.txn),
    ['T-0003', 'T-0002'],
  );
  t.match(await h.command('Show', { txn: 'T-0001' }), { ok: false, error: /no transaction T-0001/ }, 'its events went with it');
});
