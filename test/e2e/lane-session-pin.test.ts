import t from 'tap';
import { hashPassword } from '../../broker/credentials.js';
import { LaneSession, PIN } from '../helpers/session.js';

// The attendant PIN lockout as a shopper at the screen can trigger it: it locks PIN
// sign-in from that screen only, says for how long, never the key switch; the count
// starts again after a lockout ends; lockouts again and again call staff. Each
// intervention opened and each lockout is one log line.

const LOCKOUT_MS = 2000;

t.test('PIN lockouts from the shopper screen', async (t) => {
  const s = await LaneSession.open({
    services: {
      attendant: { enabled: true, pinHash: await hashPassword(PIN), maxPinFailures: 3, lockoutMs: LOCKOUT_MS, lockoutsBeforeAlarm: 2 },
    },
  });
  t.teardown(() => s.close());
  const screen = s.ui.options.clientId!;
  const logs = (re: RegExp) => s.lane!.logs.filter((l) => re.test(String(l.msg)));

  const wrong = async (n: number): Promise<string> => {
    const r = await s.cmd('attendant', 'CheckPin', { pin: '0000', by: 'shopper' });
    t.notOk(r.ok);
    await s.waitFor((e) => e.type === 'OverrideRefused' && s.count((x) => x.type === 'OverrideRefused') >= n, `refusal ${n} recorded`);
    return r.error!;
  };

  await t.test('three wrong PINs lock the screen, saying for how long; the key switch and other sources still work', async (t) => {
    t.match(await wrong(1), /wrong PIN \(2 more tries/);
    t.match(await wrong(2), /wrong PIN \(1 more try/);
    t.match(await wrong(3), /wrong PIN: PIN overrides are locked for 2 s \(2 s\); turn the key switch/);
    const locked = await s.cmd('attendant', 'CheckPin', { pin: PIN, by: 'attendant' });
    t.match(locked.error, /PIN overrides are locked for another [12] s \([12] s\) after 3 wrong PINs; turn the key switch/, 'the right PIN too, for how long');
    await s.quiesce();
    t.ok(s.docs.get('lane').pinLockedUntil, 'doc/lane shows the lockout');
    t.equal(logs(/^PIN sign-in from .* locked for 2 s after 3 wrong PINs/).length, 1, 'one log line for the lockout');

    // another source (a staff handheld, lanectl) is not locked by the screen's attempts
    t.same(await s.ok('attendant', 'CheckPin', { pin: PIN, by: 'staff' }, { as: 'technician' }), { method: 'pin' });
    // the key switch is never locked
    await s.ok('attendant', 'Call', { by: 'shopper' });
    await s.key(true);
    t.match(await s.ok('attendant', 'Override', { action: 'approve', by: 'frank' }), { method: 'key' });
    await s.key(false);
  });

  await t.test('after the lockout ends the count starts again', async (t) => {
    await s.waitDoc('lane', (d) => !d.pinLockedUntil, 'doc/lane drops the lockout when it ends', LOCKOUT_MS + 20_000);
    const before = s.count((e) => e.type === 'OverrideRefused');
    t.match(await wrong(before + 1), /wrong PIN \(2 more tries/, 'one wrong PIN: two more tries, as the reply says');
    const last = s.events.filter((e) => e.type === 'OverrideRefused').at(-1)!;
    t.same(last.data, { by: 'shopper', reason: 'wrong PIN (1 of 3)', failures: 1 }, 'not locked again');
  });

  await t.test('locked again and again: staff is called once (an intervention naming the source)', async (t) => {
    const before = s.count((e) => e.type === 'OverrideRefused');
    await wrong(before + 1);
    t.match(await wrong(before + 2), /locked for 2 s/, 'the second lockout in a row');
    const alarm = await s.waitFor((e) => e.type === 'InterventionRequired' && (e.data as { kind: string }).kind === 'pin-lockout', 'pin-lockout intervention');
    t.match(alarm.data, { kind: 'pin-lockout', blocking: false, key: screen, reason: new RegExp(`PIN sign-in from ${screen} locked 2 times in a row`) });
    t.equal(alarm.txn, undefined, "the lane's, not a transaction's");
    await s.quiesce();
    t.match(s.docs.get('lane').interventions, [{ kind: 'pin-lockout', blocking: false }]);
    t.equal(s.docs.get('lane').state, 'assist', 'the light asks for staff');
    t.equal(logs(/^intervention I-\d+ opened \(pin-lockout\)/).length, 1, 'one log line for the intervention');
    // a third lockout while it is open does not open another
    await s.waitDoc('lane', (d) => !d.pinLockedUntil, 'lockout over', LOCKOUT_MS + 20_000);
    for (let i = 0; i < 3; i++) await wrong(before + 3 + i);
    await s.quiesce();
    t.equal(
      s.count((e) => e.type === 'InterventionRequired' && (e.data as { kind: string }).kind === 'pin-lockout'),
      1,
    );
    // staff clears it with the key switch
    await s.key(true);
    t.match(await s.ok('attendant', 'Override', { action: 'approve', by: 'frank' }), { applied: [{ kind: 'pin-lockout', action: 'approve' }] });
    await s.key(false);
    t.same(s.docs.get('lane').interventions, []);
  });
});
