import t from 'tap';
import { hashPassword } from '../../broker/credentials.js';
import { LaneSession, PIN, SIM_DEVICES } from '../helpers/session.js';
import type { Json } from '../helpers/json.js';

// A device the lane needs (lane.needs; by default a scanner and the bagging scale)
// unplugged on the simulated lane: the lane closes to new shoppers, the attendant
// gets one intervention naming the device, the light shows the fault pattern, no
// bagging verdict rests on the dead scale, and the lane opens again by itself when
// the device is back.

const COLA = { code: '5449000000996', gtin: '05449000000996', g: 350 };
const BUTTER = { code: '2100000000029', gtin: '02100000000029', g: 256 };

const NOT_BAGGED_MS = 1500;

t.test('the bagging scale unplugged', async (t) => {
  const s = await LaneSession.open({
    services: {
      attendant: { enabled: true, pinHash: await hashPassword(PIN) },
      weightcheck: { enabled: true, notBaggedTimeoutMs: NOT_BAGGED_MS },
      payment: { enabled: true, terminal: { kind: 'simulated', delayMs: 100 } },
    },
  });
  t.teardown(() => s.close());

  const unplug = async (device: string): Promise<void> => {
    await s.ok('sim', 'Unplug', { device }, { as: 'technician' });
    await s.waitFor(
      (e) => e.type === 'LaneClosed' && e.data.missing.some((m: { devices: string[] }) => m.devices.includes(device)),
      `LaneClosed for ${device}`,
    );
    await s.quiesce();
  };
  const replug = async (device: string): Promise<void> => {
    const reopened = s.count((e) => e.type === 'LaneReopened');
    await s.ok('sim', 'Replug', { device }, { as: 'technician' });
    await s.waitFor(() => s.count((e) => e.type === 'LaneReopened') > reopened, `LaneReopened after ${device} is back`);
    await s.quiesce();
  };

  await t.test('mid-transaction: one intervention naming bagscale, no "please bag" against the shopper; back: open again', async (t) => {
    const added = await s.scanItem(COLA.code);
    const txn = added.txn!;
    const lightsBefore = s.lights.length;
    await unplug('bagscale');

    const lane = await s.waitDoc('lane', (d) => d.closed === true, 'doc/lane closed');
    t.equal(lane.state, 'closed');
    t.match(lane.missing, [{ need: 'bagging-scale', devices: ['bagscale'], fault: /^bagscale disconnected/ }]);
    const alarms = s.events.filter((e: Json) => e.type === 'InterventionRequired' && e.data.kind === 'device');
    t.equal(alarms.length, 1, 'one intervention');
    t.match(alarms[0].data, { kind: 'device', blocking: true, key: 'bagging-scale', reason: /no bagging scale works \(bagscale disconnected/ });
    t.same(
      lane.interventions.map((i: { kind: string; txn: string | null }) => [i.kind, i.txn]),
      [['device', null]],
      'doc/lane lists it for the lane, not the transaction',
    );
    await s.waitFor(() => s.lights.slice(lightsBefore).includes('fault'), 'the light shows the fault pattern');

    // the item's bagging deadline passes while the scale is dead: it is recorded, and nothing is concluded
    const inputs = s.docs.get('bagging').inputs as number;
    t.equal(s.docs.get('bagging').state, 'unavailable', 'doc/bagging: nothing to ask of the shopper');
    await s.waitDoc('bagging', (d) => d.txn === txn && d.inputs > inputs, 'the bagging deadline taken in', NOT_BAGGED_MS + 20_000);
    await s.quiesce();
    t.equal(
      s.count((e) => e.type === 'ItemNotBagged' || e.type === 'UnexpectedItemInBaggingArea' || e.type === 'WeightMismatch'),
      0,
      'no verdict against the shopper',
    );
    t.equal(s.docs.get('bagging').state, 'unavailable');

    // a scan while closed is refused, with the reason, as an event
    const scan = await s.scan(BUTTER.code);
    const refused = await s.waitFor((e) => e.type === 'ScanRefused' && e.data.scan === scan.id, 'ScanRefused');
    t.match(refused.data, { reason: 'lane-closed', detail: /bagscale/ });
    t.equal(refused.txn, txn);
    await s.quiesce();
    t.equal(s.docs.get('basket').lines.length, 1, 'no line added while closed');

    await replug('bagscale');
    const open = await s.waitDoc('lane', (d) => d.closed === false, 'doc/lane open again');
    t.equal(open.state, 'shopping');
    t.same(open.interventions, []);
    t.ok(
      s.events.some((e: Json) => e.type === 'InterventionCleared' && e.data.kind === 'device' && e.data.resolution === 'resolved'),
      'cleared when the device came back',
    );
    t.equal(
      s.count((e) => e.type === 'InterventionRequired' && e.data.kind === 'device'),
      1,
      'still one intervention in all',
    );
    await s.ok('basket', 'Cancel', { reason: 'test' });
    await s.waitDoc('bagging', (d) => d.txn === null, 'weightcheck idle');
    await s.quiesce();
  });

  await t.test('a new shopper while it is missing: refused, no transaction; back: the next scan starts one', async (t) => {
    await unplug('bagscale');
    await s.waitDoc('lane', (d) => d.closed === true && d.state === 'closed', 'doc/lane closed');
    const scan = await s.scan(COLA.code);
    const refused = await s.waitFor((e) => e.type === 'ScanRefused' && e.data.scan === scan.id, 'ScanRefused');
    t.match(refused.data, { reason: 'lane-closed' });
    t.equal(refused.txn, undefined, 'no transaction was started');
    await s.quiesce();
    t.equal(s.docs.get('basket').status, 'idle');
    await replug('bagscale');
    await s.waitDoc('lane', (d) => d.closed === false && d.state === 'idle', 'doc/lane open and idle');
    const added = await s.scanItem(COLA.code);
    t.ok(added.txn, 'the lane sells again without a restart');
    await s.ok('basket', 'Cancel', { reason: 'test' });
    await s.waitDoc('bagging', (d) => d.txn === null, 'weightcheck idle');
    await s.quiesce();
  });
});

t.test('the only scanner unplugged', async (t) => {
  const devices = { scanner: SIM_DEVICES.scanner, bagscale: SIM_DEVICES.bagscale, light: SIM_DEVICES.light, keyswitch: SIM_DEVICES.keyswitch };
  const s = await LaneSession.open({
    devices,
    services: { attendant: { enabled: true, pinHash: await hashPassword(PIN) } },
    consumers: {
      catalog: ['scanner'],
      basket: ['catalog', 'payment', 'attendant'],
      attendant: ['basket', 'weightcheck', 'payment', 'keyswitch', 'scanner', 'bagscale'],
    },
  });
  t.teardown(() => s.close());
  const added = await s.scanItem(COLA.code);
  await s.ok('sim', 'Unplug', { device: 'scanner' }, { as: 'technician' });
  const closed = await s.waitFor((e) => e.type === 'LaneClosed', 'LaneClosed');
  t.same(closed.data, { missing: [{ need: 'scanner', devices: ['scanner'], fault: closed.data.missing[0].fault }] });
  t.match(closed.data.missing[0].fault, /^scanner disconnected/);
  t.equal(closed.txn, added.txn, 'closed during the transaction: journaled with it');
  await s.quiesce();
  const lane = await s.waitDoc('lane', (d) => d.closed === true, 'doc/lane closed');
  t.equal(lane.state, 'closed');
  t.match(
    s.events.filter((e) => e.type === 'InterventionRequired').map((e) => e.data),
    [{ kind: 'device', key: 'scanner', reason: /no scanner works \(scanner disconnected/ }],
  );
  await s.ok('sim', 'Replug', { device: 'scanner' }, { as: 'technician' });
  await s.waitFor((e) => e.type === 'LaneReopened', 'LaneReopened');
  await s.waitDoc('lane', (d) => d.closed === false && d.state === 'shopping', 'doc/lane open');
  await s.scanItem(BUTTER.code);
  t.equal((await s.waitDoc('basket', (d) => d.lines.length === 2, 'two lines')).lines.length, 2, 'scanning again');
});

t.test('lane.needs names what the lane needs', async (t) => {
  const { laneNeeds, unmet } = await import('../../daemon/services/attendant/needs.js');
  const { validateConfig } = await import('../../daemon/core/config.js');
  const cfg = (lane: Record<string, unknown>, devices: Record<string, unknown> = SIM_DEVICES) => validateConfig({ lane, devices }, 'test');
  t.same(
    laneNeeds(cfg({})).map((n) => [n.name, n.devices, n.rule]),
    [
      ['scanner', ['scanner', 'scanscale'], 'any'],
      ['bagging-scale', ['bagscale'], 'all'],
    ],
    'default: a scanner and the bagging scale',
  );
  t.same(laneNeeds(cfg({}, { light: SIM_DEVICES.light })), [], 'a lane without such devices needs none of them');
  t.same(
    laneNeeds(cfg({ needs: ['produce-scale', 'keyswitch'] })).map((n) => [n.name, n.devices]),
    [
      ['produce-scale', ['scanscale']],
      ['keyswitch', ['keyswitch']],
    ],
  );
  t.throws(() => laneNeeds(cfg({ needs: ['printer'] })), /lane.needs\[0\]: "printer" is neither a capability/);
  t.throws(() => laneNeeds(cfg({ needs: ['produce-scale'] }, { scanner: SIM_DEVICES.scanner })), /lane.needs\[0\]: "produce-scale" but no device offers it/);
  const needs = laneNeeds(cfg({}));
  t.same(unmet(needs, { scanner: { state: 'disconnected' } }), [], 'one scanner of two is enough');
  t.match(unmet(needs, { scanner: { state: 'disconnected' }, scanscale: { state: 'failed', detail: 'EACCES' } }), [
    { need: { name: 'scanner' }, fault: 'scanner disconnected; scanscale failed: EACCES' },
  ]);
  t.same(unmet(needs, { scanscale: { state: 'degraded' }, bagscale: { state: 'ok' } }), [], 'degraded still works');
});

t.test('a scan during a payment is refused as an event with the reason', async (t) => {
  const s = await LaneSession.open({
    services: {
      attendant: { enabled: true, pinHash: await hashPassword(PIN) },
      weightcheck: { enabled: true, notBaggedTimeoutMs: 60_000 },
      // the terminal waits long enough for a scan to land during the payment
      payment: { enabled: true, terminal: { kind: 'simulated', delayMs: 60_000 } },
    },
  });
  t.teardown(() => s.close());
  const added = await s.scanItem(COLA.code);
  await s.bag(COLA.g);
  const pay = await s.ok('basket', 'Pay');
  await s.waitDoc('basket', (d) => d.status === 'paying', 'paying');
  const scan = await s.scan(BUTTER.code);
  const refused = await s.waitFor((e) => e.type === 'ScanRefused' && e.data.scan === scan.id, 'ScanRefused');
  t.match(refused.data, { reason: 'payment-in-progress', code: BUTTER.code, detail: new RegExp(`payment ${pay.payment} of ${added.txn} in progress`) });
  t.equal(refused.txn, added.txn);
  await s.waitDoc('basket', (d) => d.notice?.code === 'scan-refused', 'the screen is told');
  t.equal(s.docs.get('basket').lines.length, 1);
  t.ok(
    s.lane!.logs.some((l) => /^scan 2100000000029 refused: payment/.test(String(l.msg))),
    'and one log line',
  );
  await s.ok('payment', 'Cancel', {});
  await s.waitFor((e) => e.type === 'PaymentDeclined' && e.data.payment === pay.payment, 'payment cancelled');
  await s.quiesce();
});
