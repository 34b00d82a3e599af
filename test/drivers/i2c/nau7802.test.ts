import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Nau7802Scale, Nau7802Schema, type Nau7802Config } from '../../../drivers/i2c/nau7802.js';
import { CTRL2, PU, REG } from '../../../drivers/i2c/nau7802-regs.js';
import { parseConfig } from '../../../drivers/config.js';
import { fakeNau7802Bus } from '../../../drivers/sim/fake-i2c.js';
import { simEnv } from '../../../drivers/sim/env.js';
import { Recorder } from '../../../drivers/sim/record.js';
import { VirtualClock } from '../../../drivers/sim/virtual-clock.js';
import { checkedCommand } from '../../helpers/driver-command.js';

const CPG = 50; // counts per gram of the fake load cell at gain 128
const ZERO = 120_000;

function setup(raw: Record<string, unknown> = {}, opts: { calibrated?: boolean; calibrationFails?: boolean; zeroCounts?: number } = { calibrated: true }) {
  const zero = opts.zeroCounts ?? ZERO;
  const parsed = parseConfig(Nau7802Schema, { kind: 'nau7802', ...raw }, 'devices.bagscale');
  if (!parsed.ok) throw new Error(parsed.problem);
  const stateDir = mkdtempSync(join(tmpdir(), 'laned-nau-'));
  if (opts.calibrated) {
    writeFileSync(join(stateDir, 'bagscale.calibration.json'), JSON.stringify({ version: 1, device: 'bagscale', zeroCounts: zero, countsPerGram: CPG }));
  }
  const clock = new VirtualClock();
  const { bus, chip } = fakeNau7802Bus({
    timers: clock,
    countsPerGram: CPG,
    zeroCounts: zero,
    uncalibratedOffset: 4000,
    noiseCounts: 2,
    seed: 3,
    calibrationFails: opts.calibrationFails,
  });
  let opened = 0;
  const env = simEnv({
    timers: clock,
    stateDir,
    i2c: {
      open: async (n) => {
        if (n !== 1) throw new Error(`ENOENT: no such file /dev/i2c-${n}`);
        opened++;
        return bus;
      },
    },
  });
  const rec = new Recorder<Nau7802Config>('bagscale', parsed.config, () => clock.now());
  const driver = new Nau7802Scale(rec.ctx, env);
  return { clock, bus, chip, rec, driver, stateDir, opened: () => opened };
}

const weights = (rec: Recorder<unknown>) => rec.of('WeightHasChanged').map((e) => e.data);

t.test('datasheet set-up: power-up, LDO, gain, rate, chopper, PGA cap, conversions, offset calibration', async (t) => {
  const { clock, bus, chip, driver } = setup({ sampleRate: 80, gain: 128, ldoVolts: 3.3 });
  await driver.start();
  await clock.advance(200);
  t.equal(driver.status().state, 'ok');
  const r = (reg: number) => chip.read(reg);
  t.equal(r(REG.PU_CTRL) & (PU.PUD | PU.PUA | PU.AVDDS | PU.CS | PU.PUR), PU.PUD | PU.PUA | PU.AVDDS | PU.CS | PU.PUR);
  t.equal(r(REG.CTRL1), (4 << 3) | 7, 'CTRL1: VLDO 3.3 V (100), GAINS x128 (111)');
  t.equal(r(REG.CTRL2) & CTRL2.CRS_MASK, 3 << 4, 'CTRL2 CRS: 80 SPS (011)');
  t.equal(r(REG.CTRL2) & (CTRL2.CALS | CTRL2.CAL_ERR), 0, 'calibration done without CAL_ERR');
  t.equal(r(REG.ADC) & 0x30, 0x30, 'REG_CHPS = 11');
  t.equal(r(REG.PGA_PWR) & 0x80, 0x80, 'PGA_CAP_EN');
  t.ok(chip.samplesRead >= 10, `conversions read: ${chip.samplesRead}`);
  await driver.stop();
  t.ok(bus.closed);
  t.equal(driver.status().state, 'stopped');
});

t.test('the power-on sequence in the datasheet\'s order (NAU7802 datasheet, "Power-On Sequence" and "Calibration")', async (t) => {
  const { clock, chip, driver } = setup();
  await driver.start();
  await clock.advance(200);
  await driver.stop();
  const w = chip.writes;
  const at = (pred: (reg: number, v: number) => boolean) => w.findIndex(([reg, v]) => pred(reg, v));
  // 1. RR = 1: every register to its default, whatever a previous run left in them
  t.same(w[0], [REG.PU_CTRL, PU.RR], 'first: RR = 1');
  // 2. RR = 0 and PUD = 1; 3. PUR follows within about 200 µs
  t.ok(w[1]![0] === REG.PU_CTRL && (w[1]![1] & PU.RR) === 0 && (w[1]![1] & PU.PUD) !== 0, 'then RR = 0 with PUD = 1');
  const pua = at((reg, v) => reg === REG.PU_CTRL && (v & PU.PUA) !== 0);
  const ctrl1 = at((reg) => reg === REG.CTRL1);
  const cs = at((reg, v) => reg === REG.PU_CTRL && (v & PU.CS) !== 0);
  const cals = at((reg, v) => reg === REG.CTRL2 && (v & CTRL2.CALS) !== 0);
  t.ok(pua > 1 && ctrl1 > 1, 'then the analog part (PUA), LDO and gain (CTRL1)');
  t.ok(cs > ctrl1 && cs > pua, 'conversions start (CS) once the front end is set');
  t.ok(cals > cs, 'the internal offset calibration (CALS) runs last, on the settings in use');
  t.notOk(
    w.slice(1).some(([reg, v]) => reg === REG.PU_CTRL && (v & PU.RR) !== 0),
    'no second reset',
  );
});

t.test("negative ADC counts (a zero offset below 0): read as 24-bit two's complement, not as 16 million", async (t) => {
  const zero = -300_000; // datasheet "ADC Conversion Result": ADCO_B2..B0 is two's complement
  const { clock, chip, rec, driver } = setup({ division: 2 }, { calibrated: true, zeroCounts: zero });
  await driver.start();
  await clock.advance(2000);
  t.equal(driver.status().state, 'ok');
  chip.setLoad(350);
  await clock.advance(3000);
  chip.setLoad(-20); // the platter lifted a little: below zero
  await clock.advance(3000);
  await driver.stop();
  const w = weights(rec);
  t.ok(Math.abs(Number(w[0]?.grams) - 350) <= 2, `350 g read from counts around ${zero + 350 * CPG}: ${JSON.stringify(w[0])}`);
  const states = rec.of('ScaleStatus').map((e) => e.data.state);
  t.notOk(states.includes('overweight'), 'never taken for an overload');
  t.ok(states.slice(states.indexOf('stable')).includes('underZero'), `under zero when lifted: ${states.join(', ')}`);
  t.same(rec.problems, []);
});

t.test('at 320 SPS every conversion is read, with about one CR poll each (not one per millisecond)', async (t) => {
  const { clock, bus, chip, driver } = setup({ sampleRate: 320 });
  await driver.start();
  await clock.advance(1000);
  const [s0, x0] = [chip.samplesRead, bus.transactions];
  await clock.advance(10_000);
  const samples = chip.samplesRead - s0;
  const polls = bus.transactions - x0 - samples; // the rest are the ADCO block reads
  await driver.stop();
  t.ok(samples >= 3180 && samples <= 3201, `${samples} conversions read in 10 s of 320 SPS`);
  t.ok(polls / samples < 1.1, `${(polls / samples).toFixed(2)} PU_CTRL reads per conversion`);
});

t.test('350 g placed then removed: one WeightHasChanged each way, within ±1 d', async (t) => {
  const { clock, chip, rec, driver } = setup({ division: 2 });
  await driver.start();
  await clock.advance(2000);
  chip.setLoad(350);
  await clock.advance(3000);
  chip.setLoad(0);
  await clock.advance(3000);
  await driver.stop();
  const w = weights(rec);
  t.equal(w.length, 2, JSON.stringify(w));
  t.ok(Math.abs(Number(w[0].grams) - 350) <= 2 && w[0].stable === true);
  t.ok(Math.abs(Number(w[1].delta) + 350) <= 2 && w[1].grams === 0);
  t.same(rec.problems, []);
  const states = rec.of('ScaleStatus').map((e) => e.data.state);
  t.same(states.slice(0, 2), ['unstable', 'zero']);
  t.ok(states.includes('stable'));
});

t.test('uncalibrated: no weights, degraded; calibrate zero and span by command, persisted', async (t) => {
  const { clock, chip, rec, driver, stateDir } = setup({ division: 1, nominalCountsPerGram: 10 }, { calibrated: false });
  await driver.start();
  await clock.advance(1000);
  t.equal(driver.status().state, 'degraded');
  t.match(driver.status().detail, /not calibrated/);
  t.match(rec.of('ScaleStatus')[0]?.data, { state: 'notReady' });
  chip.setLoad(500);
  await clock.advance(2000);
  t.equal(weights(rec).length, 0, 'no weights from an uncalibrated scale');
  await t.rejects(driver.command('calibrate-span', { grams: 2000 }), /calibrate zero first/);
  chip.setLoad(0);
  await clock.advance(2000);
  await checkedCommand(driver, 'calibrate-zero');
  chip.setLoad(2000);
  await clock.advance(2000);
  // the nominal here (10 counts/g) is far from the load cell's real output: a first span is refused without force
  await t.rejects(
    driver.command('calibrate-span', { grams: '2000' }),
    /refused: 2000 g gives 50\.00 counts per gram, 400 % off the nominal counts per gram .* the platter weighs about 10000 g by it/,
  );
  const span = (await checkedCommand(driver, 'calibrate-span', { grams: '2000', force: true })) as { countsPerGram: number; before: unknown; after: unknown };
  t.ok(Math.abs(span.countsPerGram - CPG) < 0.1, `span ${span.countsPerGram}`);
  t.match(span, { before: { countsPerGram: 10 }, after: { countsPerGram: span.countsPerGram, spanGrams: 2000 } }, 'before and after');
  chip.setLoad(4000);
  await clock.advance(2000);
  await t.rejects(driver.command('calibrate-span', { grams: 2000 }), /100 % off the last calibration/, 'then off the last calibration');
  await t.resolves(driver.command('calibrate-span', { grams: 3600 }), 'within 20 % of it: taken');
  await checkedCommand(driver, 'calibrate-span', { grams: 4000 });
  chip.setLoad(2000);
  await clock.advance(2000);
  t.equal(driver.status().state, 'ok');
  const saved = JSON.parse(readFileSync(join(stateDir, 'bagscale.calibration.json'), 'utf8'));
  t.match(saved, { version: 1, device: 'bagscale', spanGrams: 4000 });
  chip.setLoad(2350);
  await clock.advance(2000);
  const last = weights(rec).at(-1)!;
  t.ok(Math.abs(Number(last.grams) - 2350) <= 1, `after calibration: ${JSON.stringify(last)}`);
  await t.rejects(driver.command('calibrate-span', { grams: -5 }), /above 0/);
  await t.rejects(driver.command('nonsense', {}), /unknown command/);
  await driver.stop();
});

t.test('a corrupt calibration file is moved aside and reported', async (t) => {
  const { clock, driver, stateDir } = setup({}, { calibrated: false });
  writeFileSync(join(stateDir, 'bagscale.calibration.json'), '{"version":1,"zeroCo');
  await driver.start();
  await clock.advance(200);
  t.equal(driver.status().state, 'degraded');
  t.match(driver.status().detail, /not valid \(moved aside to .*corrupt/);
  t.ok(readdirSync(stateDir).some((f) => f.includes('.corrupt-')));
  await driver.stop();
});

t.test('CAL_ERR from the internal calibration is reported and retried', async (t) => {
  const { clock, driver, opened } = setup({}, { calibrated: true, calibrationFails: true });
  await driver.start();
  await clock.advance(5000);
  t.equal(driver.status().state, 'degraded');
  t.match(driver.status().detail, /CAL_ERR/);
  t.equal(opened(), 1, 'the bus is opened once and kept');
  await driver.stop();
});

t.test('remote I/O errors within the retry bound change nothing', async (t) => {
  const { clock, bus, rec, driver } = setup();
  await driver.start();
  await clock.advance(500);
  for (let i = 0; i < 20; i++) {
    bus.failNext(3);
    await clock.advance(50);
  }
  await driver.stop();
  t.same(rec.states(), ['starting', 'ok', 'stopped']);
});

t.test('unplugged: reported once, notReady; back: re-initialised (chip was reset), weighing again', async (t) => {
  const { clock, bus, chip, rec, driver } = setup();
  await driver.start();
  await clock.advance(1000);
  bus.unplug();
  await clock.advance(60_000);
  t.equal(driver.status().state, 'disconnected');
  t.match(driver.status().detail, /I2C bus 1 address 0x2A: .*EREMOTEIO/);
  t.match(rec.of('ScaleStatus').at(-1)?.data, { state: 'notReady' });
  bus.replug();
  chip.setLoad(350, { bounce: false });
  await clock.until(() => driver.status().state === 'ok', 31_000);
  await clock.advance(2000);
  await driver.stop();
  t.same(rec.states(), ['starting', 'ok', 'disconnected', 'ok', 'stopped']);
  t.ok(Math.abs(Number(weights(rec).at(-1)?.grams) - 350) <= 2);
});

t.test('a chip that stops converting trips the no-data watchdog, then recovers', async (t) => {
  const { clock, chip, rec, driver } = setup({ noDataTimeoutMs: 500 });
  await driver.start();
  await clock.advance(1000);
  chip.stalled = true;
  await clock.advance(3000);
  t.equal(driver.status().state, 'degraded');
  t.match(driver.status().detail, /no conversion for/);
  chip.stalled = false;
  await clock.advance(5000);
  t.equal(driver.status().state, 'ok');
  await driver.stop();
  t.same(rec.states(), ['starting', 'ok', 'degraded', 'ok', 'stopped']);
});

t.test('a missing I2C bus is reported with what to do', async (t) => {
  const { clock, driver } = setup({ bus: 7 });
  await driver.start();
  await clock.advance(100);
  t.equal(driver.status().state, 'disconnected');
  t.match(driver.status().detail, /cannot open \/dev\/i2c-7.*dtparam=i2c_arm=on/);
  await driver.stop();
});

t.test('i2c-bus opens /dev/i2c-N lazily: ENOENT on the first transaction names the bus', async (t) => {
  const { clock, bus, driver } = setup();
  const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/dev/i2c-1'"), { code: 'ENOENT' });
  bus.readByte = async () => Promise.reject(enoent);
  bus.writeByte = async () => Promise.reject(enoent);
  await driver.start();
  await clock.advance(100);
  t.equal(driver.status().state, 'disconnected');
  t.match(driver.status().detail, /cannot open \/dev\/i2c-1: no such device \(I2C enabled\?/);
  await driver.stop();
});
