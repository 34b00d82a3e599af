import t from 'tap';
import { parseMagellanFrame, magellanGrams, magellanAsText } from '../../../drivers/serial/magellan-frame.js';
import { MagellanScannerScale, MagellanSchema, type MagellanConfig } from '../../../drivers/serial/magellan.js';
import { parseConfig } from '../../../drivers/config.js';
import { SimSerialBus } from '../../../drivers/sim/serial.js';
import { MagellanTwin } from '../../../drivers/sim/magellan-twin.js';
import { simEnv } from '../../../drivers/sim/env.js';
import { Recorder } from '../../../drivers/sim/record.js';
import { VirtualClock } from '../../../drivers/sim/virtual-clock.js';
import { openedLine } from '../../helpers/serial-line.js';
import { checkedCommand } from '../../helpers/driver-command.js';

t.test('frames from the documents', async (t) => {
  // Datalogic knowledge base KA-01089 "RS232 Single Cable": S14 scale monitor answers
  t.same(parseMagellanFrame('140'), { kind: 'weight', status: 0 }, 'S140 cannot find zero');
  t.same(parseMagellanFrame('141'), { kind: 'weight', status: 1 }, 'S141 unstable');
  t.same(parseMagellanFrame('142'), { kind: 'weight', status: 2 }, 'S142 over capacity');
  t.same(parseMagellanFrame('143'), { kind: 'weight', status: 3 }, 'S143 stable zero');
  t.same(parseMagellanFrame('14401250'), { kind: 'weight', status: 4, digits: '01250' }, 'S144 + 5 digits metric');
  t.same(parseMagellanFrame('145'), { kind: 'weight', status: 5 }, 'S145 under zero');
  t.same(parseMagellanFrame('110275'), { kind: 'weight', status: 4, digits: '0275' }, 'S11 + 4 digits in pounds');
  t.same(magellanGrams('01250', 'auto'), { grams: 1250, unit: 'kg' });
  t.same(magellanGrams('0275', 'auto'), { grams: 1247.4, unit: 'lb' }, '2.75 lb');
  // Magellan 8500 / 9800i Product Reference Guide, label examples: EAN-13 'F1101234567891',
  // UPC-E 'E09988750', UPC-A with Code 128 supplemental 'A0609920111878100000951', EAN-8 'FF'
  t.match(parseMagellanFrame('08F1101234567891'), { kind: 'barcode', labelId: 'F', data: '1101234567891', symbology: 'ean13' });
  t.match(parseMagellanFrame('08E09988750'), { kind: 'barcode', labelId: 'E', symbology: 'upce' });
  t.match(parseMagellanFrame('08FF00210126'), { kind: 'barcode', labelId: 'FF', symbology: 'ean8' });
  t.match(parseMagellanFrame('08A0609920111878100000951'), { kind: 'barcode', symbology: 'upca' });
  t.match(parseMagellanFrame('08]e00109501101530003'), { kind: 'barcode', symbology: 'gs1-databar' });
  // same guide, "Label ID" table: Code 128 is B3 (the label id, then the data as read)
  const code128 = parseMagellanFrame('08B3ABC-12345');
  t.same(code128, { kind: 'barcode', labelId: 'B3', data: 'ABC-12345', symbology: 'code128' });
  t.same(code128.kind === 'barcode' && magellanAsText(code128).text, ']C0ABC-12345', 'handed on with its AIM id (ISO/IEC 15424: ]C0 Code 128)');
  t.match(parseMagellanFrame('08Zxyz'), { kind: 'reject', reason: /unknown label id/ });
  t.match(parseMagellanFrame('14401'), { kind: 'reject', reason: /4 or 5 digits/ });
  t.match(parseMagellanFrame('143000'), { kind: 'reject', reason: /carries no weight/ });
  t.match(parseMagellanFrame('149'), { kind: 'reject', reason: /unknown status/ });
  t.match(parseMagellanFrame('hello'), { kind: 'reject' });
  t.match(parseMagellanFrame('334'), { kind: 'other' });
});

const PATH = '/dev/serial/by-id/usb-Datalogic_Magellan-if00';

function setup(raw: Record<string, unknown> = {}) {
  const parsed = parseConfig(MagellanSchema, { kind: 'magellan', path: PATH, ...raw }, 'devices.scanscale');
  if (!parsed.ok) throw new Error(parsed.problem);
  const clock = new VirtualClock();
  const bus = new SimSerialBus();
  const twin = new MagellanTwin(bus, PATH, parsed.config, clock);
  const port = bus.addPort(PATH, { device: twin });
  const rec = new Recorder<MagellanConfig>('scanscale', parsed.config, () => clock.now());
  const driver = new MagellanScannerScale(rec.ctx, simEnv({ timers: clock, serial: bus.env, stateDir: '/x' }));
  return { clock, bus, port, twin, rec, driver };
}

t.test('the line: 9600 baud 7O1 by default (Magellan single-cable RS-232 factory setting), or as configured', async (t) => {
  t.same(await openedLine(setup()), { baudRate: 9600, dataBits: 7, parity: 'odd', stopBits: 1 });
  t.same(await openedLine(setup({ baudRate: 19200, dataBits: 8, parity: 'even', stopBits: 1 })), { baudRate: 19200, dataBits: 8, parity: 'even', stopBits: 1 });
});

t.test('polling publishes only on change; the same weight placed again is a new weighing', async (t) => {
  const { clock, twin, rec, driver } = setup();
  await driver.start();
  await clock.advance(1000);
  twin.produce(1250);
  await clock.advance(2000); // about ten polls answered S144 01250
  twin.produce(0);
  await clock.advance(1000);
  twin.produce(1250);
  await clock.advance(1000);
  twin.produce(1300);
  await clock.advance(1000);
  await driver.stop();
  t.same(rec.problems, []);
  t.same(
    rec.of('ProduceWeighed').map((e) => e.data),
    [
      { grams: 1250, stable: true, unit: 'kg', raw: '01250' },
      { grams: 1250, stable: true, unit: 'kg', raw: '01250' },
      { grams: 1300, stable: true, unit: 'kg', raw: '01300' },
    ],
  );
  t.same(
    rec.of('ScaleStatus').map((e) => e.data.state),
    ['zero', 'unstable', 'stable', 'unstable', 'zero', 'unstable', 'stable', 'unstable', 'stable'],
  );
});

t.test('over capacity and under zero', async (t) => {
  const { clock, twin, rec, driver } = setup();
  await driver.start();
  await clock.advance(500);
  twin.produce(20_000);
  await clock.advance(1000);
  twin.produce(-40);
  await clock.advance(1000);
  await driver.stop();
  t.same(
    rec.of('ScaleStatus').map((e) => e.data.state),
    ['zero', 'unstable', 'overweight', 'unstable', 'underZero'],
  );
  t.equal(rec.of('ProduceWeighed').length, 0);
});

t.test('barcodes interleave with weight answers, split across reads', async (t) => {
  const { clock, bus, twin, rec, driver } = setup();
  await driver.start();
  await clock.advance(300);
  // the device sends whole frames; the host reads them in pieces (poll answers held back meanwhile)
  twin.mute = true;
  const frames = 'S08F1101234567891\rS08E09988750\rS08FF00210126\rS08A0609920111878100000951\r';
  for (let i = 0; i < frames.length; i += 3) {
    bus.send(PATH, frames.slice(i, i + 3));
    await clock.advance(17);
  }
  twin.mute = false;
  twin.produce(500);
  twin.scan(']e00109501101530003');
  await clock.advance(1000);
  await driver.stop();
  t.same(rec.problems, []);
  t.same(
    rec.of('BarcodeScanned').map((e) => [e.data.symbology, e.data.gtin]),
    [
      ['ean13', '01101234567891'],
      ['upce', '00099887000050'],
      ['ean8', '00000000210126'],
      ['upca', '00060992011187'],
      ['gs1-databar', '09501101530003'],
    ],
  );
  t.equal(rec.of('BarcodeRejected').length, 0);
  t.same(
    rec.of('ProduceWeighed').map((e) => e.data.grams),
    [500],
  );
});

t.test('a scale that stops answering is reported once; barcodes keep flowing; it comes back', async (t) => {
  const { clock, twin, rec, driver } = setup({ missedPolls: 3 });
  await driver.start();
  await clock.advance(500);
  twin.mute = true;
  await clock.advance(10_000);
  t.equal(driver.status().state, 'degraded');
  t.match(driver.status().detail, /scale not answering S14/);
  twin.scan('1101234567891');
  await clock.advance(100);
  t.equal(rec.of('BarcodeScanned').length, 1, 'the scanner side still works');
  twin.mute = false;
  twin.produce(800);
  await clock.advance(2000);
  await driver.stop();
  t.same(rec.states(), ['starting', 'ok', 'degraded', 'ok', 'stopped']);
  t.same(
    rec.of('ScaleStatus').map((e) => e.data.state),
    ['zero', 'notReady', 'stable'],
  );
  t.same(
    rec.of('ProduceWeighed').map((e) => e.data.grams),
    [800],
  );
});

t.test('pounds with S11, custom prefix and terminator', async (t) => {
  const { clock, twin, rec, driver } = setup({ weightCommand: 'S11', prefix: '\\x02', terminator: 'ETX', unit: 'lb' });
  twin.unit = 'lb';
  await driver.start();
  await clock.advance(300);
  twin.produce(1247.4);
  await clock.advance(2000);
  await driver.stop();
  t.match(
    rec.of('ProduceWeighed').map((e) => e.data),
    [{ unit: 'lb', raw: '0275', grams: 1247.4 }],
  );
});

t.test('unplugged: polls stop, notReady, resumes after replug', async (t) => {
  const { clock, bus, twin, rec, driver } = setup();
  await driver.start();
  await clock.advance(500);
  bus.unplug(PATH);
  await clock.advance(5000);
  t.equal(driver.status().state, 'disconnected');
  bus.replug(PATH);
  twin.produce(300);
  await clock.advance(2000);
  await driver.stop();
  t.same(rec.states(), ['starting', 'ok', 'disconnected', 'ok', 'stopped']);
  t.same(
    rec.of('ScaleStatus').map((e) => e.data.state),
    ['zero', 'notReady', 'stable'],
  );
  t.same(
    rec.of('ProduceWeighed').map((e) => e.data.grams),
    [300],
  );
});

t.test('the reading is what the platter holds now: zero once emptied, motion without a weight', async (t) => {
  const { clock, twin, driver } = setup();
  await driver.start();
  await clock.advance(500);
  twin.produce(800);
  await clock.advance(2000);
  t.same(driver.status().lastReading, { state: 'stable', grams: 800, unit: 'kg' }, 'S144 00800');
  t.match(await checkedCommand(driver, 'read'), { state: 'stable', grams: 800 });
  twin.produce(0); // the platter emptied: S141 while it settles, then S143
  await clock.advance(250);
  t.same(driver.status().lastReading, { state: 'unstable' }, 'in motion: no weight is claimed');
  t.match(await checkedCommand(driver, 'read'), { state: 'unstable', grams: null });
  await clock.advance(2000);
  t.same(driver.status().lastReading, { state: 'zero', grams: 0 }, 'S143: zero, not the 800 g that was there');
  t.match(await checkedCommand(driver, 'read'), { state: 'zero', grams: 0 });
  twin.produce(-40);
  await clock.advance(2000);
  t.same(driver.status().lastReading, { state: 'underZero' });
  await driver.stop();
});
