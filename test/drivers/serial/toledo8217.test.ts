import t from 'tap';
import { parseToledoFrame, toledoGrams } from '../../../drivers/serial/toledo-frame.js';
import { Toledo8217Scale, Toledo8217Schema, type Toledo8217Config } from '../../../drivers/serial/toledo8217.js';
import { parseConfig } from '../../../drivers/config.js';
import { SimSerialBus } from '../../../drivers/sim/serial.js';
import { ToledoTwin } from '../../../drivers/sim/toledo-twin.js';
import { simEnv } from '../../../drivers/sim/env.js';
import { Recorder } from '../../../drivers/sim/record.js';
import { VirtualClock } from '../../../drivers/sim/virtual-clock.js';
import { openedLine } from '../../helpers/serial-line.js';
import { checkedCommand } from '../../helpers/driver-command.js';

const b = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s, 'latin1') : Buffer.from(s));

t.test('frames from the 8217 protocol (DIVA Service Manual §6.1.3.2, status byte table)', async (t) => {
  t.match(parseToledoFrame(b('01.25')), { kind: 'weight', value: 1.25, decimals: 2, net: false }, 'STX WW.WW CR: gross lb');
  t.match(parseToledoFrame(b('01.250')), { kind: 'weight', value: 1.25, decimals: 3, net: false }, 'STX WW.WWW CR: gross kg');
  t.match(parseToledoFrame(b('00.75N')), { kind: 'weight', net: true }, 'STX WW.WWN CR: net lb');
  t.match(parseToledoFrame(b('00.750N')), { kind: 'weight', net: true, decimals: 3 }, 'net kg');
  t.same(toledoGrams({ value: 1.25, decimals: 3 }, 'auto'), { grams: 1250, unit: 'kg' });
  t.same(toledoGrams({ value: 1.25, decimals: 2 }, 'auto'), { grams: 567, unit: 'lb' });
  // STX ? status CR; each bit of the table on its own (bit 6 always 1)
  const bits: [number, string][] = [
    [0x41, 'motion'],
    [0x42, 'overCapacity'],
    [0x44, 'underZero'],
    [0x48, 'outsideZeroCapture'],
    [0x50, 'centerOfZero'],
    [0x60, 'net'],
  ];
  for (const [byte, flag] of bits) {
    const f = parseToledoFrame(b([0x3f, byte]));
    t.equal(f.kind, 'status');
    if (f.kind === 'status') {
      t.same(
        Object.entries(f.status)
          .filter(([, v]) => v)
          .map(([k]) => k),
        [flag],
        `0x${byte.toString(16)} = ${flag}`,
      );
    }
  }
  const withParity = parseToledoFrame(b([0x3f, 0xc1])); // 8N1 port: even parity bit 7 set on 0x41
  t.match(withParity, { kind: 'status', byte: 0x41, status: { motion: true } });
  t.match(parseToledoFrame(b([0x3f, 0x01])), { kind: 'reject', reason: /bit 6/ });
  t.match(parseToledoFrame(b('12,50')), { kind: 'reject' });
  t.match(parseToledoFrame(b('')), { kind: 'reject' });
});

const PATH = '/dev/ttyUSB0';

function setup(raw: Record<string, unknown> = {}) {
  const parsed = parseConfig(Toledo8217Schema, { kind: 'toledo8217', path: PATH, ...raw }, 'devices.produce');
  if (!parsed.ok) throw new Error(parsed.problem);
  const clock = new VirtualClock();
  const bus = new SimSerialBus();
  const twin = new ToledoTwin(clock);
  const port = bus.addPort(PATH, { device: twin });
  const rec = new Recorder<Toledo8217Config>('produce', parsed.config, () => clock.now());
  const driver = new Toledo8217Scale(rec.ctx, simEnv({ timers: clock, serial: bus.env, stateDir: '/x' }));
  return { clock, bus, port, twin, rec, driver };
}

t.test('the line: 9600 baud 7E1 by default (8217 protocol: 7 data bits, even parity, 1 stop bit), or as configured', async (t) => {
  t.same(await openedLine(setup()), { baudRate: 9600, dataBits: 7, parity: 'even', stopBits: 1 });
  t.same(await openedLine(setup({ baudRate: 4800, dataBits: 8, parity: 'none', stopBits: 2 })), { baudRate: 4800, dataBits: 8, parity: 'none', stopBits: 2 });
});

t.test('polling W: one ProduceWeighed per weighing, states on change', async (t) => {
  const { clock, twin, rec, driver } = setup();
  await driver.start();
  await clock.advance(500);
  twin.produce(1250);
  await clock.advance(2000);
  twin.produce(20_000);
  await clock.advance(1000);
  twin.produce(0);
  await clock.advance(1000);
  await driver.stop();
  t.same(rec.problems, []);
  t.same(
    rec.of('ProduceWeighed').map((e) => e.data),
    [{ grams: 1250, stable: true, unit: 'kg', raw: '01.250', net: false }],
  );
  // over capacity outranks motion in the status byte
  t.same(
    rec.of('ScaleStatus').map((e) => e.data.state),
    ['zero', 'unstable', 'stable', 'overweight', 'unstable', 'zero'],
  );
});

t.test('Z, T, C commands answer with the decoded status', async (t) => {
  const { clock, twin, rec, driver } = setup();
  await driver.start();
  await clock.advance(500);
  twin.produce(40); // drift on an empty platter
  await clock.advance(1000);
  const z = checkedCommand(driver, 'zero');
  await clock.advance(1000);
  t.match(await z, { command: 'Z', state: 'zero', status: { centerOfZero: true } });
  twin.produce(300); // a container
  await clock.advance(1000);
  const tare = checkedCommand(driver, 'tare');
  await clock.advance(1000);
  t.match(await tare, { command: 'T', status: { net: true } });
  twin.produce(1560); // 1.26 kg of produce in it
  await clock.advance(1000);
  const c = checkedCommand(driver, 'clear-tare');
  await clock.advance(1000);
  t.match(await c, { command: 'C', status: { net: false } });
  await t.rejects(driver.command('bogus'), /unknown command/);
  await clock.advance(1000);
  await driver.stop();
  // 40 g of drift is a weight until zeroed; then the container, the net produce, the gross again
  t.same(
    rec.of('ProduceWeighed').map((e) => [e.data.grams, e.data.net]),
    [
      [40, false],
      [260, false],
      [1260, true],
      [1520, false],
    ],
  );
});

t.test('a scale that stops answering: degraded once, notReady; back: ok', async (t) => {
  const { clock, twin, rec, driver } = setup({ missedPolls: 2 });
  await driver.start();
  await clock.advance(500);
  twin.mute = true;
  await clock.advance(10_000);
  t.equal(driver.status().state, 'degraded');
  t.match(driver.status().detail, /not answering W/);
  twin.mute = false;
  await clock.advance(1000);
  await driver.stop();
  t.same(rec.states(), ['starting', 'ok', 'degraded', 'ok', 'stopped']);
  t.same(
    rec.of('ScaleStatus').map((e) => e.data.state),
    ['zero', 'notReady', 'zero'],
  );
});

t.test('garbage and half frames on the line are rejected without losing the next answer', async (t) => {
  const { clock, bus, twin, rec, driver } = setup();
  twin.mute = true; // the test plays the scale
  await driver.start();
  await clock.advance(10);
  bus.send(PATH, '\xff\x00noise');
  bus.send(PATH, '\x0201.2');
  await clock.advance(5);
  bus.send(PATH, '50\r');
  bus.send(PATH, '\x0212,345\r\x02');
  await clock.advance(5);
  bus.send(PATH, '02.000\r');
  await clock.advance(10);
  await driver.stop();
  t.same(
    rec.of('ProduceWeighed').map((e) => e.data.grams),
    [1250, 2000],
  );
});

t.test('the reading is what the platter holds now: zero once emptied, motion without a weight', async (t) => {
  const { clock, twin, driver } = setup();
  await driver.start();
  await clock.advance(500);
  twin.produce(800);
  await clock.advance(2000);
  t.same(driver.status().lastReading, { state: 'stable', grams: 800, unit: 'kg', net: false });
  twin.produce(0);
  await clock.advance(300);
  t.same(driver.status().lastReading, { state: 'unstable' }, 'motion bit: no weight is claimed');
  t.match(await checkedCommand(driver, 'read'), { state: 'unstable', grams: null });
  await clock.advance(2000);
  t.match(driver.status().lastReading, { state: 'zero', grams: 0 }, 'zero, not the 800 g that was there');
  t.match(await checkedCommand(driver, 'read'), { state: 'zero', grams: 0 });
  await driver.stop();
});
