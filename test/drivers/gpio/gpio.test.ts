import t from 'tap';
import { resolveBcm } from '../../../drivers/gpio/resolve.js';
import { GpioInput, GpioInputSchema, type GpioInputConfig } from '../../../drivers/gpio/input.js';
import { GpioOutput, GpioOutputSchema, type GpioOutputConfig } from '../../../drivers/gpio/output.js';
import { parseConfig } from '../../../drivers/config.js';
import { BOARDS, FakeSysfs } from '../../../drivers/sim/fake-sysfs.js';
import { simEnv } from '../../../drivers/sim/env.js';
import { Recorder } from '../../../drivers/sim/record.js';
import { VirtualClock } from '../../../drivers/sim/virtual-clock.js';
import { checkedCommand } from '../../helpers/driver-command.js';

t.test('BCM numbers resolve through gpiochip label and base, per board and kernel', async (t) => {
  const boards: [string, number][] = [
    ['pi4-6.6', 512 + 17], // kernel 6.6 moved the bases to 512+
    ['pi4-6.1', 17],
    ['pi5-6.6', 571 + 17], // header pins are on the RP1
  ];
  for (const [board, want] of boards) {
    const fs = new FakeSysfs({ chips: BOARDS[board] });
    t.teardown(() => fs.close());
    const r = await resolveBcm(fs.root, 17);
    t.equal(r.sysfs, want, board);
  }
  const fs = new FakeSysfs({ chips: BOARDS['pi4-6.6'] });
  t.teardown(() => fs.close());
  t.equal((await resolveBcm(fs.root, 3, 'raspberrypi-exp-gpio')).sysfs, 573, 'chipLabel picks another chip');
  await t.rejects(resolveBcm(fs.root, 60), /BCM 60 is outside gpiochip512 "pinctrl-bcm2711" \(lines 0\.\.57\)/);
  const bare = new FakeSysfs({ chips: [{ chip: 'gpiochip0', label: 'some-expander', base: 0, ngpio: 8 }] });
  t.teardown(() => bare.close());
  await t.rejects(resolveBcm(bare.root, 4), /no gpiochip labelled pinctrl-rp1 or pinctrl-bcm2711 or pinctrl-bcm2835 .*found: gpiochip0 "some-expander"/);
  await t.rejects(resolveBcm('/nonexistent/gpio', 4), /cannot read \/nonexistent\/gpio/);
});

function input(raw: Record<string, unknown>, board = 'pi4-6.6') {
  const parsed = parseConfig(GpioInputSchema, { kind: 'gpio-input', ...raw }, 'devices.keyswitch');
  if (!parsed.ok) throw new Error(parsed.problem);
  const clock = new VirtualClock();
  const fs = new FakeSysfs({ chips: BOARDS[board] });
  const rec = new Recorder<GpioInputConfig>('keyswitch', parsed.config, () => clock.now());
  const driver = new GpioInput(rec.ctx, simEnv({ timers: clock, gpio: fs.env(clock), stateDir: '/x' }));
  return { clock, fs, rec, driver };
}

t.test('an input publishes its state at start and each debounced change, active-low inverted', async (t) => {
  const { clock, fs, rec, driver } = input({ bcm: 22, activeLow: true, debounceMs: 30 });
  t.teardown(() => fs.close());
  fs.export(534);
  fs.setLevel(534, 1); // pulled up: off
  await driver.start();
  t.equal(driver.status().state, 'ok');
  t.equal(fs.direction(534), 'in');
  // the key switch contact bounces for 20 ms, then closes to ground
  for (const level of [0, 1, 0, 1, 0] as const) {
    fs.setLevel(534, level);
    await clock.advance(4);
  }
  await clock.advance(100);
  fs.setLevel(534, 1);
  await clock.advance(10);
  fs.setLevel(534, 0); // a glitch shorter than the debounce
  await clock.advance(10);
  fs.setLevel(534, 1);
  await clock.advance(100);
  await driver.stop();
  t.same(
    rec.of('InputChanged').map((e) => e.data),
    [
      { on: false, level: 1 },
      { on: true, level: 0 },
      { on: false, level: 1 },
    ],
  );
  t.same(rec.problems, []);
  t.notOk(fs.isExported(534), 'unexported at stop');
});

t.test('an input on a board without the expected chip fails with the reason', async (t) => {
  const { fs, driver } = input({ bcm: 22 }, 'pi5-6.6');
  t.teardown(() => fs.close());
  await driver.start();
  t.equal(driver.status().state, 'ok', 'the Pi 5 header chip (pinctrl-rp1) is found');
  await driver.stop();
  const other = input({ bcm: 22, chipLabel: 'pinctrl-nonesuch' });
  t.teardown(() => other.fs.close());
  await other.driver.start();
  t.equal(other.driver.status().state, 'failed');
  t.match(other.driver.status().detail, /BCM 22: no gpiochip labelled pinctrl-nonesuch/);
});

function output(raw: Record<string, unknown>) {
  const parsed = parseConfig(GpioOutputSchema, { kind: 'gpio-output', ...raw }, 'devices.light');
  if (!parsed.ok) throw new Error(parsed.problem);
  const clock = new VirtualClock();
  const fs = new FakeSysfs();
  const rec = new Recorder<GpioOutputConfig>('light', parsed.config, () => clock.now());
  const driver = new GpioOutput(rec.ctx, simEnv({ timers: clock, gpio: fs.env(clock), stateDir: '/x' }));
  return { clock, fs, rec, driver };
}

t.test('a lamp runs its patterns on the value file', async (t) => {
  const { clock, fs, rec, driver } = output({ bcm: 17, patterns: { candle: [200, 100, 200, 500] } });
  t.teardown(() => fs.close());
  await driver.start();
  const pin = 529;
  t.equal(fs.direction(pin), 'out');
  t.equal(fs.level(pin), 0);
  await driver.set('on');
  t.equal(fs.level(pin), 1);
  await driver.set('blink');
  const seen: number[] = [];
  for (let i = 0; i < 8; i++) {
    seen.push(fs.level(pin));
    await clock.advance(250);
  }
  t.same(seen, [1, 1, 0, 0, 1, 1, 0, 0], 'blink: 500 ms on, 500 ms off');
  await checkedCommand(driver, 'set', { pattern: 'candle' });
  await t.rejects(driver.set('disco'), /unknown pattern "disco"; known: off, on, blink, fast-blink, flash, fault, candle/);
  await driver.stop();
  t.notOk(fs.isExported(pin));
  t.same(
    rec.of('OutputChanged').map((e) => e.data.pattern),
    ['off', 'on', 'blink', 'candle'],
  );
});

t.test('an active-low lamp is lit by a low pin', async (t) => {
  const { fs, driver } = output({ bcm: 27, activeLow: true, initial: 'on' });
  t.teardown(() => fs.close());
  await driver.start();
  t.equal(fs.level(539), 0);
  await driver.set('off');
  t.equal(fs.level(539), 1);
  await driver.stop();
});
