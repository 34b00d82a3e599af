import t from 'tap';
import { SimLane } from '../../../drivers/sim/lane.js';
import { SimSerialBus } from '../../../drivers/sim/serial.js';
import { ScannerTwin } from '../../../drivers/sim/scanner-twin.js';
import { VirtualClock } from '../../../drivers/sim/virtual-clock.js';
import { silentLogger } from '../../../daemon/core/log.js';
import { validateDeviceConfig } from '../../../drivers/registry.js';

t.test('the scripted scanner sends its codes in its own framing, looping when asked', async (t) => {
  const clock = new VirtualClock();
  const bus = new SimSerialBus();
  const port = bus.addPort('/dev/x');
  const twin = new ScannerTwin(
    bus,
    '/dev/x',
    {
      prefix: 'STX',
      suffix: 'CRLF',
      loop: true,
      script: [
        { after_ms: 100, code: 'A{GS}B' },
        { after_ms: 50, code: '\\x41' },
      ],
    },
    clock,
    silentLogger(),
  );
  const got: string[] = [];
  const open = await bus.binding.open({ path: '/dev/x', baudRate: 9600 });
  twin.startScript();
  t.ok(port.isOpen);
  const buf = Buffer.alloc(64);
  for (let i = 0; i < 4; i++) {
    await clock.advance(100);
    const r = await open.read(buf, 0, 64);
    got.push(buf.subarray(0, r.bytesRead).toString('latin1'));
  }
  twin.stopScript();
  // scans at 100, 150, 250, 300 and 400 ms
  t.same(got.join(''), '\x02A\x1dB\r\n\x02A\r\n\x02A\x1dB\r\n\x02A\r\n\x02A\x1dB\r\n');
  await open.close();
  t.throws(() => twin.scan('x'), /not open/);
});

t.test('the lane refuses what it cannot do, naming the device', async (t) => {
  const lane = new SimLane({ timers: new VirtualClock() });
  t.teardown(() => lane.close());
  const cfg = (raw: unknown) => {
    const v = validateDeviceConfig('x', raw);
    if (!v.ok) throw new Error(v.problem);
    return v.config;
  };
  await lane.attach('scanner', cfg({ kind: 'serial-scanner', simulate: true }), '/tmp');
  await lane.attach('light', cfg({ kind: 'gpio-output', simulate: true, bcm: 17 }), '/tmp');
  lane.declare('realscale', 'nau7802', false);
  t.equal(lane.defaultDevice('scan'), 'scanner');
  t.equal(lane.defaultDevice('weight'), undefined);
  t.throws(() => lane.scan('scanner', '4006381333931'), /sim: scanner: .*not open \(driver not started/);
  t.throws(() => lane.scan('scanner', ''), /1 to 512 characters/);
  t.throws(() => lane.weight('realscale', 5), /"realscale" is a real nau7802 \(simulate: false\)/);
  t.throws(() => lane.weight('scanner', Number.NaN), /grams must be a number/);
  t.throws(() => lane.output('light'), /gpio\d+ is not exported \(driver not running\)/);
  t.throws(() => lane.unplug('light'), /"light" is a gpio-output; unplug works on/);
});
