import t, { type Test } from 'tap';
import { attendant } from '../../../daemon/services/attendant/service.js';
import { hashPassword } from '../../../broker/credentials.js';
import { serviceHarness, type ServiceHarness } from '../../helpers/service-harness.js';

// The attendant's rules on the service alone: which events raise which interventions
// and what clears them, the lane light per lane state, overrides by key switch and by
// PIN with its lockout (driven by the harness's clock), and the lane closed while a
// device it needs is missing.

const TXN = 'T-0001';
const PIN = '4711';
let pinHash: string;

t.before(async () => {
  pinHash = await hashPassword(PIN);
});

interface Lane {
  state: string;
  closed: boolean;
  txn: string | null;
  interventions: Array<{ id: string; kind: string; blocking: boolean; line?: string; key?: string }>;
  pinLockedUntil?: string;
  updating?: boolean;
  missing?: Array<{ need: string }>;
  storeClosed?: { by: string; reason?: string; since: string };
  storeMessages?: Array<{ text: string; by: string; time: string }>;
}

const lane = async (t: Test, settings: Record<string, unknown> = {}) => {
  const h = await serviceHarness(attendant, { settings: { pinHash, lockoutMs: 60_000, ...settings } });
  t.teardown(() => h.stop());
  return h;
};

const started = (h: ServiceHarness) => h.event('basket', 'TransactionStarted', { txn: TXN, lane: 'lane-1', currency: 'EUR' }, { txn: TXN });
const added = (h: ServiceHarness, line: string, extra: Record<string, unknown> = {}) =>
  h.event(
    'basket',
    'ItemAddedToBasket',
    { line, gtin: '04000000000017', name: 'Beer', unit: 'each', quantity: 1, unitPrice: 99, price: 99, ...extra },
    { txn: TXN },
  );
const kinds = (h: ServiceHarness) => h.doc<Lane>('lane')?.interventions.map((i) => i.kind);
const light = (h: ServiceHarness) => (h.sent.at(-1)?.args as { args?: { pattern?: string } } | undefined)?.args?.pattern;

t.test('events raise interventions, their resolutions clear them, and the light follows the lane state', async (t) => {
  const h = await lane(t);
  t.match(h.doc<Lane>('lane'), { state: 'idle', closed: false, interventions: [] });
  t.equal(light(h), 'on', 'the lamp is set for idle at start');
  await started(h);
  t.equal(h.doc<Lane>('lane')?.state, 'shopping');

  await added(h, 'L1', { ageRestricted: 18 });
  t.match(h.events('InterventionRequired')[0], { txn: TXN, data: { intervention: 'I-0001', kind: 'age-check', blocking: true, line: 'L1' } });
  t.match(h.doc<Lane>('lane'), { state: 'intervention' });
  t.match(h.sent.at(-1), { target: 'devices', command: 'Run', args: { device: 'light', command: 'set', args: { pattern: 'blink' } }, by: 'attendant' });

  await h.event('weightcheck', 'ItemNotBagged', { key: 'nb:L2', line: 'L2', actualG: 0, expectedG: 350, clears: [] }, { txn: TXN });
  await h.event('basket', 'UnknownItemScanned', { scan: 'S1', code: '1234567890128', reason: 'no product' }, { txn: TXN });
  await h.event('payment', 'PaymentDeclined', { payment: 'T-0001-P1', amount: 99, reason: 'declined' }, { txn: TXN });
  t.same(kinds(h), ['age-check', 'weight', 'unknown-item', 'payment-declined']);
  t.same(
    h.events<{ blocking: boolean }>('InterventionRequired').map((e) => e.data.blocking),
    [true, true, false, false],
    'age and weight block paying; an unknown item and a declined card only call for help',
  );

  await h.event('weightcheck', 'WeightVerified', { key: 'w:1', lines: ['L2'], actualG: 350, expectedG: 350, clears: ['nb:L2'] }, { txn: TXN });
  await h.event(
    'payment',
    'PaymentAuthorized',
    { payment: 'T-0001-P2', amount: 99, currency: 'EUR', terminal: 'simulated', authCode: '1', method: 'card' },
    { txn: TXN },
  );
  t.same(
    h.events<{ kind: string; resolution: string }>('InterventionCleared').map((e) => [e.data.kind, e.data.resolution]),
    [
      ['weight', 'resolved'],
      ['payment-declined', 'resolved'],
    ],
  );
  await h.event('basket', 'TransactionCompleted', { total: 99, currency: 'EUR', items: 1, payment: 'T-0001-P2' }, { txn: TXN });
  t.same(
    h
      .events<{ resolution: string }>('InterventionCleared')
      .slice(2)
      .map((e) => e.data.resolution),
    ['transaction-ended', 'transaction-ended'],
    'what is left open ends with its transaction',
  );
  t.match(h.doc<Lane>('lane'), { state: 'idle', txn: null, interventions: [] });
  t.equal(light(h), 'on');
});

t.test('the key switch overrides without a PIN; an approved age check covers younger limits in the transaction', async (t) => {
  const h = await lane(t);
  await started(h);
  await added(h, 'L1', { ageRestricted: 16 });
  await h.event('keyswitch', 'InputChanged', { on: true, level: 0 });
  t.match(h.events('AttendantModeChanged')[0]?.data, { on: true, method: 'key' });
  t.equal(h.doc<Lane>('lane')?.state, 'attendant');
  t.match(await h.ok('Override', { action: 'approve', by: 'anna' }), {
    method: 'key',
    by: 'anna',
    applied: [{ intervention: 'I-0001', kind: 'age-check', action: 'approve' }],
  });
  t.match(h.events('OverrideApplied')[0]?.data, { kind: 'age-check', action: 'approve', method: 'key', line: 'L1' });
  await added(h, 'L2', { ageRestricted: 16 });
  t.equal(h.events('InterventionRequired').length, 1, 'the buyer is verified 16+: no second check');
  await added(h, 'L3', { ageRestricted: 18 });
  t.equal(h.events('InterventionRequired').length, 2, 'an 18+ item asks again');
  t.match(await h.command('Override', { action: 'approve', intervention: 'I-0009' }), { ok: false, error: 'intervention I-0009 is not open' });
});

t.test('wrong PINs lock PIN overrides from that source; the lockout ends on the clock', async (t) => {
  const h = await lane(t, { maxPinFailures: 3, lockoutsBeforeAlarm: 2 });
  const screen = { by: 'ui', from: 'ui-0a1b' };
  t.match(await h.command('CheckPin', { pin: '0000' }, screen), { ok: false, error: /wrong PIN \(2 more tries/ });
  await h.settle();
  t.match(
    await h.command('CheckPin', { pin: '0000' }, { by: 'ui', from: 'ui-ffee' }),
    { ok: false, error: /1 more try/ },
    'a new screen session is the same screen',
  );
  await h.settle();
  t.match(
    await h.command('CheckPin', { pin: '1111' }, { by: 'technician', from: 'lanectl-1' }),
    { ok: false, error: /2 more tries/ },
    'another client counts apart',
  );
  await h.settle();
  t.match(await h.command('CheckPin', { pin: '0000' }, screen), { ok: false, error: /locked for 1 min/ });
  await h.settle();
  t.same(
    h.events<{ failures: number }>('OverrideRefused').map((e) => e.data.failures),
    [1, 2, 1, 3],
    'every wrong PIN is an event the journal keeps, though the command rolled back',
  );
  t.ok(h.events<{ lockedUntil?: string }>('OverrideRefused')[3]?.data.lockedUntil, 'the third says until when');
  t.ok(h.doc<Lane>('lane')?.pinLockedUntil, 'doc/lane shows the lockout');
  t.match(await h.command('CheckPin', { pin: PIN }, screen), { ok: false, error: /locked for another 1 min/ }, 'the right PIN is refused while locked');
  t.same(await h.ok('CheckPin', { pin: PIN }, { by: 'technician', from: 'lanectl-1' }), { method: 'pin' }, 'the other source is not locked');

  await h.advance(59_000);
  t.ok(h.doc<Lane>('lane')?.pinLockedUntil, 'still locked a second before the end');
  await h.advance(1_010);
  t.notOk(h.doc<Lane>('lane')?.pinLockedUntil, 'doc/lane drops the lockout when it ends, without another event');
  t.same(await h.ok('CheckPin', { pin: PIN }, screen), { method: 'pin' });

  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 3; i++) {
      await h.command('CheckPin', { pin: '0000' }, screen);
      await h.settle();
    }
    if (round === 0) await h.advance(60_000);
  }
  t.match(h.events('InterventionRequired')[0]?.data, { kind: 'pin-lockout', key: 'screen', blocking: false }, 'locked twice in a row: someone keeps trying');
});

t.test('without a PIN configured only the key switch overrides', async (t) => {
  const h = await serviceHarness(attendant, { settings: {} });
  t.teardown(() => h.stop());
  t.match(await h.command('CheckPin', { pin: PIN }), { ok: false, error: /no attendant PIN is configured/ });
});

t.test('a needed device missing closes the lane; its intervention clears only when the device is back', async (t) => {
  const h = await lane(t);
  const status = (state: string, detail?: string) =>
    h.event('scanner', 'DeviceStatus', {
      name: 'scanner',
      kind: 'serial-scanner',
      state,
      simulated: true,
      since: new Date().toISOString(),
      ...(detail ? { detail } : {}),
    });
  await status('disconnected', 'unplugged');
  t.equal(h.events('LaneClosed').length, 0, 'one of several scanners gone does not close the lane');
  for (const d of ['scanscale', 'wedge']) {
    await h.event(d, 'DeviceStatus', { name: d, kind: 'x', state: 'failed', simulated: true, since: new Date().toISOString() });
  }
  t.match(h.events('LaneClosed')[0]?.data, { missing: [{ need: 'scanner', devices: ['scanner', 'scanscale', 'wedge'] }] }, 'every scanner gone closes it');
  t.match(h.doc<Lane>('lane'), { state: 'closed', closed: true, interventions: [{ kind: 'device', key: 'scanner', blocking: true }] });
  t.equal(light(h), 'fault');
  await h.event('keyswitch', 'InputChanged', { on: true, level: 0 });
  t.match(await h.command('Override', { action: 'approve' }), { ok: false, error: /clears by itself when the device works again/ });
  await status('ok');
  t.equal(h.events('LaneReopened').length, 1);
  t.match(h.events('InterventionCleared')[0]?.data, { kind: 'device', resolution: 'resolved' });
  t.match(h.doc<Lane>('lane'), { closed: false, interventions: [] });
});

const IT = { by: 'uplink' };
/** Every scanner of the harness's lane at once: the scanner need met or not. */
const scannerStatus = async (h: ServiceHarness, state: string) => {
  for (const d of ['scanner', 'scanscale', 'wedge'])
    await h.event(d, 'DeviceStatus', { name: d, kind: 'x', state, simulated: true, since: new Date().toISOString() });
};

t.test('store IT closes the lane to new shoppers; the one shopping finishes; Open reopens it', async (t) => {
  const h = await lane(t);
  await started(h);
  t.match(await h.ok('StoreClose', { reason: 'inventory count', by: 'store:it-alice' }, IT), { closed: true, already: false, finishing: TXN });
  t.match(h.events('LaneClosed')[0]?.data, { missing: [], store: { by: 'store:it-alice', reason: 'inventory count' } }, 'the store and who, as the cause');
  t.match(h.doc<Lane>('lane'), { closed: true, state: 'shopping', storeClosed: { by: 'store:it-alice', reason: 'inventory count' } }, 'the shopper goes on');
  await h.event('basket', 'TransactionCompleted', { total: 99, currency: 'EUR', items: 1, payment: 'T-0001-P1' }, { txn: TXN });
  t.match(h.doc<Lane>('lane'), { closed: true, state: 'closed' }, 'idle, the lane shows closed');
  t.equal(light(h), 'fault');

  t.match(await h.ok('StoreClose', { reason: 'inventory count', by: 'store:it-alice' }, IT), { already: true });
  t.equal(h.events('LaneClosed').length, 1, 'closing again for the same reason changes nothing');

  t.match(await h.ok('StoreOpen', { by: 'store:it-bob' }, IT), { open: true, wasClosedByStore: true });
  t.match(h.events('LaneReopened')[0]?.data, { by: 'store:it-bob' });
  t.match(h.doc<Lane>('lane'), { closed: false, state: 'idle' });
  t.notOk(h.doc<Lane>('lane')?.storeClosed);
  t.equal(light(h), 'on');
  t.match(await h.ok('StoreOpen', {}, IT), { open: true, wasClosedByStore: false });
  t.equal(h.events('LaneReopened').length, 1, 'opening an open lane emits nothing');
});

t.test('closures are independent: the lane opens only when neither a device nor store IT keeps it closed', async (t) => {
  const h = await lane(t);
  await scannerStatus(h, 'disconnected');
  await h.ok('StoreClose', { by: 'store:it-alice' }, IT);
  t.match(h.events('LaneClosed').at(-1)?.data, { missing: [{ need: 'scanner' }], store: { by: 'store:it-alice' } }, 'both causes named');
  t.match(await h.ok('StoreOpen', { by: 'store:it-alice' }, IT), { open: false, stillClosed: [/a device is missing/] });
  t.equal(h.events('LaneReopened').length, 0, 'the scanner still keeps it closed');
  t.notOk(h.events('LaneClosed').at(-1)?.data.store, 'LaneClosed again without the store');
  t.match(h.doc<Lane>('lane'), { closed: true });

  await h.ok('StoreClose', { by: 'store:it-alice' }, IT);
  await scannerStatus(h, 'ok');
  t.equal(h.events('LaneReopened').length, 0, 'the scanner back does not open a lane store IT closed');
  t.match(h.doc<Lane>('lane'), { closed: true, storeClosed: { by: 'store:it-alice' } });
  t.notOk(h.doc<Lane>('lane')?.missing);

  await h.ok('UpdateLease', { seconds: 60 }, { by: 'updater' });
  t.match(await h.ok('StoreOpen', { by: 'store:it-alice' }, IT), { open: false, stillClosed: ['an update holds it'] });
  t.equal(h.events('LaneReopened').length, 1, 'no device, no store closure left (the lease is the basket’s own)');
  t.match(h.doc<Lane>('lane'), { closed: true, updating: true });
  t.notOk(h.doc<Lane>('lane')?.storeClosed);
  await h.ok('UpdateRelease', {}, { by: 'updater' });
  t.match(h.doc<Lane>('lane'), { closed: false, state: 'idle' });
});

t.test("store IT's messages go to doc/lane, newest first and bounded, each journaled with who sent it", async (t) => {
  const h = await lane(t);
  for (let i = 1; i <= 7; i++) await h.ok('StoreMessage', { text: `message ${i}`, by: 'store:it-alice' }, IT);
  t.match(h.events('StoreMessageReceived')[0]?.data, { text: 'message 1', by: 'store:it-alice' });
  t.equal(h.events('StoreMessageReceived').length, 7);
  const shown = h.doc<Lane>('lane')?.storeMessages ?? [];
  t.same(
    shown.map((m) => m.text),
    ['message 7', 'message 6', 'message 5', 'message 4', 'message 3'],
  );
  t.match(shown[0], { by: 'store:it-alice', time: /^\d{4}-/ });
  const longest = `store:${'x'.repeat(64)}`;
  t.match(await h.ok('StoreMessage', { text: 'from the longest sender name', by: longest }, IT), { shown: true });
  t.equal(h.doc<Lane>('lane')?.storeMessages?.[0]?.by, longest);
  t.match(await h.command('StoreMessage', { text: '' }, IT), { ok: false });
  t.match(await h.command('StoreClose', { reason: 'x'.repeat(201) }, IT), { ok: false });
});
