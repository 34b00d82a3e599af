import t from 'tap';
import { InputEventDecoder, encodeInputEvents, EV_KEY } from '../../../drivers/hid/input-event.js';
import { KeyDecoder } from '../../../drivers/hid/keys.js';
import { HidWedgeScanner, HidWedgeSchema, type HidWedgeConfig } from '../../../drivers/hid/wedge.js';
import { parseConfig } from '../../../drivers/config.js';
import { HidTwin, typeCode } from '../../../drivers/sim/hid-twin.js';
import { simEnv } from '../../../drivers/sim/env.js';
import { Recorder } from '../../../drivers/sim/record.js';
import { VirtualClock } from '../../../drivers/sim/virtual-clock.js';

t.test('input_event records as the kernel lays them out (linux/input.h)', async (t) => {
  // 64-bit: tv_sec (8), tv_usec (8), type (2), code (2), value (4): EV_KEY KEY_A (30) pressed
  const rec64 = Buffer.from('00e1f5050000000040420f0000000000' + '0100' + '1e00' + '01000000', 'hex');
  // 32-bit: tv_sec (4), tv_usec (4), type, code, value: EV_KEY KEY_A released
  const rec32 = Buffer.from('00e1f50540420f00' + '0100' + '1e00' + '00000000', 'hex');
  t.same(new InputEventDecoder(24).push(rec64), [{ type: EV_KEY, code: 30, value: 1 }]);
  t.same(new InputEventDecoder(16).push(rec32), [{ type: EV_KEY, code: 30, value: 0 }]);
  const d = new InputEventDecoder(24);
  const two = Buffer.concat([rec64, rec64]);
  const got = [];
  for (const b of two) got.push(...d.push(Buffer.from([b]))); // split at every byte
  t.equal(got.length, 2);
  t.equal(d.pending, 0);
  t.same(encodeInputEvents([{ type: 1, code: 30, value: 1 }], 24).subarray(16), rec64.subarray(16), 'the encoder the twin uses agrees');
});

t.test('US layout with shift, Ctrl+] as GS, Enter ends a code', async (t) => {
  const k = new KeyDecoder({ terminator: 'enter', maxLength: 64 });
  t.same(k.push(typeCode('Code-39 /A+b')), [{ kind: 'text', text: 'Code-39 /A+b' }]);
  t.same(k.push(typeCode(']C1010950110153000310AB\u001d21X')), [{ kind: 'text', text: ']C1010950110153000310AB\u001d21X' }]);
  t.match(
    k.push([
      { type: 1, code: 200, value: 1 },
      { type: 1, code: 28, value: 1 },
    ]),
    [{ kind: 'reject', reason: /key code 200/ }],
  );
  t.same(k.push([{ type: 1, code: 30, value: 2 }]), [], 'autorepeat types nothing');
});

const PATH = '/dev/input/by-id/usb-Honeywell_Scanner-event-kbd';

function setup(raw: Record<string, unknown> = {}) {
  const parsed = parseConfig(HidWedgeSchema, { kind: 'hid-wedge', path: PATH, recordSize: 24, ...raw }, 'devices.wedge');
  if (!parsed.ok) throw new Error(parsed.problem);
  const clock = new VirtualClock();
  const twin = new HidTwin(PATH, 24);
  const rec = new Recorder<HidWedgeConfig>('wedge', parsed.config, () => clock.now());
  const driver = new HidWedgeScanner(rec.ctx, simEnv({ timers: clock, hid: twin.env, stateDir: '/x' }));
  return { clock, twin, rec, driver };
}

t.test('typed codes become BarcodeScanned, records split across reads', async (t) => {
  const { clock, twin, rec, driver } = setup();
  await driver.start();
  await clock.advance(10);
  t.equal(driver.status().state, 'ok');
  twin.scan('4006381333931');
  const bytes = encodeInputEvents(typeCode(']C1010950110153000310AB-123\u001d21XYZ'), 24);
  for (let i = 0; i < bytes.length; i += 7) twin.write(bytes.subarray(i, i + 7));
  twin.scan('4006381333932'); // bad check digit
  await clock.advance(10);
  await driver.stop();
  t.same(rec.problems, []);
  t.match(
    rec.of('BarcodeScanned').map((e) => e.data),
    [
      { symbology: 'ean13', gtin: '04006381333931' },
      { symbology: 'gs1-128', ais: { '01': '09501101530003', '10': 'AB-123', '21': 'XYZ' } },
    ],
  );
  t.match(rec.of('BarcodeRejected')[0]?.data.reason, /check digit/);
});

t.test('unplugged mid-code: the partial code is rejected, the scanner found again after replug', async (t) => {
  const { clock, twin, rec, driver } = setup();
  await driver.start();
  await clock.advance(10);
  const half = encodeInputEvents(typeCode('4006381333931').slice(0, 20), 24);
  twin.write(half);
  await clock.advance(5);
  twin.unplug();
  await clock.advance(5_000);
  t.equal(driver.status().state, 'disconnected');
  t.match(driver.status().detail, /not present|ENODEV/);
  twin.replug();
  await clock.until(() => twin.isOpen, 2_000);
  twin.scan('9501101530003');
  await clock.advance(10);
  await driver.stop();
  t.same(
    rec.of('BarcodeScanned').map((e) => e.data.raw),
    ['9501101530003'],
  );
  t.match(
    rec.of('BarcodeRejected').map((e) => e.data.reason),
    [/partial code/],
  );
  t.same(rec.states(), ['starting', 'ok', 'disconnected', 'ok', 'stopped']);
});
