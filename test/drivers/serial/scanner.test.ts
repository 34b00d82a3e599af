import t from 'tap';
import { SerialScanner, SerialScannerSchema, type SerialScannerConfig } from '../../../drivers/serial/scanner.js';
import { parseConfig } from '../../../drivers/config.js';
import { SimSerialBus } from '../../../drivers/sim/serial.js';
import { simEnv } from '../../../drivers/sim/env.js';
import { Recorder } from '../../../drivers/sim/record.js';
import { VirtualClock } from '../../../drivers/sim/virtual-clock.js';
import { openedLine } from '../../helpers/serial-line.js';

const PATH = '/dev/serial/by-id/usb-Test_Scanner-if00';

function setup(raw: Record<string, unknown> = {}) {
  const parsed = parseConfig(SerialScannerSchema, { kind: 'serial-scanner', path: PATH, ...raw }, 'devices.scanner');
  if (!parsed.ok) throw new Error(parsed.problem);
  const clock = new VirtualClock();
  const bus = new SimSerialBus();
  const port = bus.addPort(PATH);
  const rec = new Recorder<SerialScannerConfig>('scanner', parsed.config, () => clock.now());
  const driver = new SerialScanner(rec.ctx, simEnv({ timers: clock, serial: bus.env, stateDir: '/nonexistent' }));
  return { clock, bus, port, rec, driver };
}

const scannedRaw = (rec: Recorder<unknown>) => rec.of('BarcodeScanned').map((e) => e.data.raw);

// The codes scanned below, and where they come from:
// - 4006381333931: the common EAN-13 example (a STABILO highlighter), check digit 1 by GS1 GS §7.9.1;
// - 0012345678905: UPC-A 012345678905 (the GS1 US / UPC sample number) as an EAN-13 with a leading 0;
// - 9501101530003: the GTIN-13 of the GS1 General Specifications' examples (GS1 Company Prefix 950110153);
// - ]C1/]d2 element strings: §7.8 examples with (01) 09501101530003, (17) 140704, (10) AB-123;
// each terminated by CR (the scanners' factory suffix) unless the test is about another.

t.test('fixtures from the documents decode, one event each, matching the schema', async (t) => {
  const { clock, port, rec, driver } = setup();
  await driver.start();
  await clock.advance(10);
  t.equal(driver.status().state, 'ok');
  // ISO/IEC 15424 / GS1 GS §5.1.2: ]E0 EAN-13; GTIN 4006381333931 (check digit per §7.9.1)
  port.send(']E04006381333931\r');
  // GS1 GS §7.8 example element string (01)(17)(10) in GS1-128, FNC1 as GS only where needed
  port.send(']C101095011015300031714070410AB-123\r');
  // GS1 DataMatrix with variable-length AIs separated by GS (0x1D), §7.8.4
  port.send(']d2010950110153000317140704\x1d10AB-123\x1d21XYZ\r');
  await clock.advance(10);
  await driver.stop();
  t.same(rec.problems, []);
  const ev = rec.of('BarcodeScanned').map((e) => e.data);
  t.equal(ev.length, 3);
  t.match(ev[0], { symbology: 'ean13', aim: ']E0', gtin: '04006381333931' });
  t.match(ev[1], { symbology: 'gs1-128', gtin: '09501101530003', ais: { '01': '09501101530003', '17': '140704', '10': 'AB-123' } });
  t.match(ev[2], { symbology: 'gs1-datamatrix', ais: { '21': 'XYZ', '10': 'AB-123' } });
});

t.test('the line: 9600 8N1 by default (USB-CDC and most RS-232 scanners ship so), or as configured', async (t) => {
  t.same(await openedLine(setup()), { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 });
  t.same(await openedLine(setup({ baudRate: 115200, dataBits: 7, parity: 'even', stopBits: 2 })), {
    baudRate: 115200,
    dataBits: 7,
    parity: 'even',
    stopBits: 2,
  });
});

t.test('a port that is there but cannot be opened: retried with backoff capped at 30 s, reported once', async (t) => {
  const { clock, bus, port, rec, driver } = setup();
  bus.failOpen(PATH, 10, 'EACCES');
  await driver.start();
  const at: number[] = [];
  let opens = 0;
  for (let ms = 0; ms < 200_000 && !port.isOpen; ms += 50) {
    await clock.advance(50);
    if (port.opens !== opens) {
      opens = port.opens;
      at.push(clock.now());
    }
  }
  t.equal(port.opens, 11, '10 refused opens, then the one that works');
  t.ok(port.isOpen, 'open in the end');
  const delays = at.slice(1).map((x, i) => Math.round((x - at[i]!) / 500) * 500);
  t.same(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000], 'doubling from 0.5 s, capped at 30 s');
  t.match(driver.status().state, 'ok');
  t.same(rec.states(), ['starting', 'disconnected', 'ok'], 'down once, back once: not a state per retry');
  t.match(rec.statuses.find((s) => s.state === 'disconnected')?.detail, /cannot open .*EACCES: permission denied/);
  await driver.stop();
});

t.test('frames split across reads, byte by byte, are joined', async (t) => {
  const { clock, port, rec, driver } = setup({ suffix: 'CRLF' });
  await driver.start();
  await clock.advance(10);
  for (const b of Buffer.from('4006381333931\r\n]E00012345678905\r\n')) {
    port.send(Buffer.from([b]));
    await clock.advance(1);
  }
  await driver.stop();
  t.same(scannedRaw(rec), ['4006381333931', '0012345678905']);
  t.equal(rec.of('BarcodeRejected').length, 0);
});

t.test('garbage, bad check digits and a partial line end as rejections, good codes still pass', async (t) => {
  const { clock, port, rec, driver } = setup({ prefix: 'STX' });
  await driver.start();
  await clock.advance(10);
  port.send('\x00\xff junk\x024006381333931\r'); // garbage before the STX prefix
  port.send('\x024006381333932\r'); // wrong check digit
  port.send('\x02]E4'); // AIM without data, then the port closes mid-frame
  await clock.advance(10);
  await driver.stop();
  t.same(scannedRaw(rec), ['4006381333931']);
  const reasons = rec.of('BarcodeRejected').map((e) => String(e.data.reason));
  t.equal(reasons.length, 2, 'a partial frame at stop is not published as a reading');
  t.match(reasons[0], /before the frame prefix/);
  t.match(reasons[1], /check digit 2 is wrong/);
  t.same(rec.problems, []);
});

t.test('a flood of garbage is bounded: rejections rate-limited, counted, then codes pass again', async (t) => {
  const { clock, port, rec, driver } = setup({ maxLength: 64, rejectLimit: 3 });
  await driver.start();
  await clock.advance(10);
  const junk = Buffer.alloc(4096, 0x41);
  for (let i = 0; i < 256; i++) port.send(junk); // 1 MiB without a suffix
  for (let i = 0; i < 20; i++) port.send('\x07bell\r');
  await clock.advance(10);
  port.send('\r4006381333931\r');
  await clock.advance(20_000);
  port.send('\x07bell\r');
  await clock.advance(10);
  await driver.stop();
  t.same(scannedRaw(rec), ['4006381333931']);
  const rejected = rec.of('BarcodeRejected');
  t.equal(rejected.length, 4, 'three in the first window, then one carrying the count');
  t.match(rejected[0].data.reason, /within 64 bytes/);
  // the first bell ends the overlong run (skipped up to its CR): 1 run + 19 bells - 3 published
  t.equal(rejected[3].data.suppressed, 17);
  t.same(driver.counters(), { scanned: 1, rejected: 21 });
});

t.test('a flood of valid codes in one read is published in order', async (t) => {
  const { clock, port, rec, driver } = setup();
  await driver.start();
  await clock.advance(10);
  const codes = Array.from({ length: 2000 }, (_, i) => `${String(i).padStart(7, '0')}`).map((b) => {
    const body = `20${b}000`;
    let sum = 0;
    for (let i = body.length - 1, w = 3; i >= 0; i--, w = 4 - w) sum += Number(body[i]) * w;
    return body + String((10 - (sum % 10)) % 10);
  });
  port.send(codes.map((c) => `${c}\r`).join(''));
  await clock.advance(10);
  await driver.stop();
  t.same(scannedRaw(rec), codes);
});

t.test('unplug and replug: nothing fully received is lost or doubled; publishing resumes within 2 s', async (t) => {
  const { clock, bus, port, rec, driver } = setup();
  await driver.start();
  await clock.advance(10);
  port.send('4006381333931\r0012345678905\r40063'); // two complete codes and a partial one
  await clock.advance(5);
  bus.unplug(PATH);
  await clock.advance(5);
  t.equal(driver.status().state, 'disconnected');
  t.match(driver.status().detail, /usb-Test_Scanner-if00 disconnected/);
  t.throws(() => port.send('9501101530003\r'), /unplugged/, 'a scan while unplugged goes nowhere');
  await clock.advance(45_000); // long enough for any backoff to reach its cap
  bus.replug(PATH);
  const back = clock.now();
  await clock.until(() => port.isOpen, 5_000);
  port.send('81333931\r'); // the tail of the partial code must not join it
  port.send('9501101530003\r');
  await clock.until(() => rec.of('BarcodeScanned').length >= 3, 5_000);
  const last = rec.of('BarcodeScanned').at(-1)!;
  t.ok(last.at - back <= 2000, `published ${last.at - back} ms after the port came back`);
  await driver.stop();
  t.same(scannedRaw(rec), ['4006381333931', '0012345678905', '9501101530003']);
  t.same(rec.states(), ['starting', 'ok', 'disconnected', 'ok', 'stopped'], 'reported once going, once returning');
  t.same(
    rec.of('BarcodeRejected').map((e) => e.data.raw),
    ['40063', '81333931'],
  );
});

t.test("publishing resumes within 2 s of the port coming back, wherever the replug falls in the driver's cycle", async (t) => {
  const { clock, bus, port, rec, driver } = setup();
  await driver.start();
  await clock.advance(10);
  const latencies: number[] = [];
  // replugs spread over 3 s (several look-up periods, any backoff phase): the worst one counts
  for (let k = 0; k < 24; k++) {
    bus.unplug(PATH);
    await clock.advance(20_000 + k * 125);
    bus.replug(PATH);
    const back = clock.now();
    const before = rec.of('BarcodeScanned').length;
    await clock.until(() => port.isOpen, 60_000);
    port.send('4006381333931\r');
    await clock.until(() => rec.of('BarcodeScanned').length > before, 60_000);
    latencies.push(rec.of('BarcodeScanned').at(-1)!.at - back);
  }
  await driver.stop();
  t.equal(latencies.length, 24);
  t.ok(Math.max(...latencies) <= 2000, `published again ${Math.min(...latencies)}-${Math.max(...latencies)} ms after the port came back (driver clock)`);
  t.equal(rec.of('BarcodeScanned').length, 24, 'one reading per scan');
});

t.test('a scanner absent at start is reported once and found when plugged in', async (t) => {
  const { clock, bus, port, rec, driver } = setup();
  bus.unplug(PATH);
  await driver.start();
  await clock.advance(60_000);
  t.same(rec.states(), ['starting', 'disconnected']);
  t.match(driver.status().detail, /not present/);
  bus.replug(PATH);
  await clock.advance(1_000);
  t.equal(driver.status().state, 'ok');
  port.send('4006381333931\r');
  await clock.advance(10);
  await driver.stop();
  t.same(scannedRaw(rec), ['4006381333931']);
});

t.test('found by USB vendor and product id', async (t) => {
  const clock = new VirtualClock();
  const bus = new SimSerialBus();
  const port = bus.addPort('/dev/ttyACM3', { vendorId: '05f9', productId: '4204' });
  bus.addPort('/dev/ttyACM0', { vendorId: '1234', productId: '0001' });
  const parsed = parseConfig(SerialScannerSchema, { kind: 'serial-scanner', vendorId: '05F9', productId: '4204' }, 'd');
  if (!parsed.ok) throw new Error(parsed.problem);
  const rec = new Recorder<SerialScannerConfig>('scanner', parsed.config, () => clock.now());
  const driver = new SerialScanner(rec.ctx, simEnv({ timers: clock, serial: bus.env, stateDir: '/x' }));
  await driver.start();
  await clock.advance(10);
  port.send('4006381333931\r');
  await clock.advance(10);
  await driver.stop();
  t.same(scannedRaw(rec), ['4006381333931']);
});

t.test('restricted-circulation numbers are decoded with the configured layout', async (t) => {
  const { clock, port, rec, driver } = setup({ rcnLayout: 'de' });
  await driver.start();
  await clock.advance(10);
  // GS1 Germany weight layout 28 IIII K VVVVV C: item 1234, 1.250 kg; K by GS1 GS §7.9.4
  port.send('2812347012503\r');
  port.send('2812341012509\r'); // same with a wrong verifier digit (GTIN check digit fixed up)
  await clock.advance(10);
  await driver.stop();
  const ok = rec.of('BarcodeScanned');
  t.equal(ok.length, 1);
  t.match(ok[0].data.rcn, { layout: 'de', prefix: '28', item: '1234', measure: 'weight', grams: 1250, lookupGtin: '02812340000002' });
  t.match(rec.of('BarcodeRejected')[0]?.data.reason, /verifier digit/);
  t.same(rec.problems, []);
});
