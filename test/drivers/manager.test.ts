import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
import { DeviceManager } from '../../drivers/manager.js';
import { defaultSimulatedDevices } from '../../drivers/registry.js';
import { SimLane } from '../../drivers/sim/lane.js';
import { VirtualClock } from '../../drivers/sim/virtual-clock.js';
import type { DeviceStatus } from '../../drivers/driver.js';
import { createLogger } from '../../daemon/core/log.js';
import { dataProblem } from '../../daemon/events/schema.js';
import '../../daemon/events/schemas/devices.js';

function lane(devices: Record<string, unknown> = defaultSimulatedDevices(), realEnv?: () => never) {
  const clock = new VirtualClock();
  const sim = new SimLane({ timers: clock });
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (s: string) => lines.push(s) } as unknown as DestinationStream });
  const events: { source: string; type: string; data: Record<string, unknown>; at: number }[] = [];
  const problems: string[] = [];
  const updates: { statuses: DeviceStatus[]; changed?: DeviceStatus }[] = [];
  const m = new DeviceManager({
    devices,
    log,
    emitFor: (source) => async (type, data) => {
      const p = dataProblem(type, 1, data);
      if (p) problems.push(`${source} ${type}: ${p}`);
      events.push({ source, type, data: data as Record<string, unknown>, at: clock.now() });
    },
    onStatus: (statuses, changed) => updates.push({ statuses, changed }),
    sim,
    stateDir: mkdtempSync(join(tmpdir(), 'laned-devices-')),
    timers: clock,
    ...(realEnv ? { realEnv } : {}),
  });
  const of = (source: string, type: string) => events.filter((e) => e.source === source && e.type === type);
  const state = (name: string) => m.status().find((s) => s.name === name)?.state;
  return { clock, sim, m, events, of, state, lines, problems, updates };
}

t.test('the default simulated lane: every device kind runs on its twin', async (t) => {
  const L = lane();
  t.teardown(() => L.sim.close());
  await L.m.start();
  await L.clock.advance(1500);
  const states = Object.fromEntries(L.m.status().map((s) => [s.name, s.state]));
  t.same(states, {
    scanner: 'ok',
    scanscale: 'ok',
    bagscale: 'ok',
    light: 'ok',
    keyswitch: 'ok',
    bagpresence: 'ok',
    door: 'ok',
    wedge: 'ok',
    'produce-scale': 'ok',
  });
  t.ok(L.m.status().every((s) => s.simulated));
  t.same(
    L.sim
      .devices()
      .map((d) => `${d.name}:${d.actions.join('+')}`)
      .sort(),
    [
      'bagpresence:input',
      'bagscale:weight+unplug+replug',
      'door:input',
      'keyswitch:input',
      'light:',
      'produce-scale:produce+unplug+replug',
      'scanner:scan+unplug+replug',
      'scanscale:scan+produce+unplug+replug',
      'wedge:scan+unplug+replug',
    ],
  );
  // the scanner's script scans by itself
  await L.clock.advance(8000);
  t.same(
    L.of('scanner', 'BarcodeScanned').map((e) => e.data.gtin),
    ['04006381333931', '05449000000996', '02812347012503'],
  );
  t.match(L.of('scanner', 'BarcodeScanned')[2].data.rcn, { layout: 'de', grams: 1250 });
  // inputs start in their idle state
  t.same(
    ['keyswitch', 'bagpresence', 'door'].map((n) => L.of(n, 'InputChanged').map((e) => e.data.on)),
    [[false], [false], [false]],
  );

  L.sim.scan('scanscale', '1101234567891');
  L.sim.scan('wedge', 'ABC-123');
  L.sim.produce('scanscale', 640);
  L.sim.produce('produce-scale', 1250);
  L.sim.weight('bagscale', 350);
  L.sim.input('keyswitch', true);
  await L.m.command('light', 'set', { pattern: 'blink' });
  await L.clock.advance(3000);
  t.same(
    L.of('scanscale', 'BarcodeScanned').map((e) => e.data.gtin),
    ['01101234567891'],
  );
  t.same(
    L.of('wedge', 'BarcodeScanned').map((e) => e.data.raw),
    ['ABC-123'],
  );
  t.same(
    L.of('scanscale', 'ProduceWeighed').map((e) => e.data.grams),
    [640],
  );
  t.same(
    L.of('produce-scale', 'ProduceWeighed').map((e) => e.data.grams),
    [1250],
  );
  const w = L.of('bagscale', 'WeightHasChanged');
  t.equal(w.length, 1);
  t.ok(Math.abs(Number(w[0].data.grams) - 350) <= 2);
  t.same(
    L.of('keyswitch', 'InputChanged').map((e) => e.data.on),
    [false, true],
  );
  const lit: boolean[] = [];
  for (let i = 0; i < 4; i++) {
    lit.push(L.sim.output('light').lit);
    await L.clock.advance(500);
  }
  t.same(lit.sort(), [false, false, true, true], 'the light blinks');
  t.same(L.problems, [], 'every event matches its schema');
  await L.m.stop();
  t.ok(L.m.status().every((s) => s.state === 'stopped'));
});

t.test('a bad config or a failing start fails that device only', async (t) => {
  const devices = {
    ...defaultSimulatedDevices(),
    'bad-baud': { kind: 'serial-scanner', simulate: true, baudRate: 12345 },
    'Bad Name': { kind: 'gpio-input', simulate: true, bcm: 5 },
    mystery: { kind: 'laser-cannon' },
    realscanner: { kind: 'serial-scanner', path: '/dev/serial/by-id/usb-real-scanner' },
  };
  const L = lane(devices, () => {
    throw new Error('serialport native module not loadable here');
  });
  t.teardown(() => L.sim.close());
  await L.m.start();
  await L.clock.advance(1000);
  const byName = Object.fromEntries(L.m.status().map((s) => [s.name, s]));
  t.equal(byName.scanner.state, 'ok');
  t.equal(byName.bagscale.state, 'ok');
  t.match(byName['bad-baud'], { state: 'failed', detail: /devices\.bad-baud\.baudRate: got 12345, expected one of 1200, 2400/ });
  t.match(byName['Bad Name'], { state: 'failed', detail: /device name must be lowercase/ });
  t.match(byName.mystery, { state: 'failed', detail: /devices\.mystery\.kind: got "laser-cannon", expected one of "serial-scanner"/ });
  t.match(byName.realscanner, { state: 'failed', detail: /start: serialport native module not loadable/ });
  t.same(Object.keys(L.m.problems()).sort(), ['Bad Name', 'bad-baud', 'mystery', 'realscanner']);
  t.throws(() => L.sim.scan('realscanner', '4006381333931'), /"realscanner" is a real serial-scanner \(simulate: false\)/);
  t.throws(() => L.sim.scan('nosuch', '4006381333931'), /no simulated device "nosuch" \(simulated: scanner, /);
  t.throws(() => L.sim.weight('scanner', 100), /"scanner" is a serial-scanner; weight works on nau7802 \(here: bagscale\)/);
  t.throws(() => L.sim.input('light', true), /input works on gpio-input/);
  t.throws(() => L.sim.unplug('door'), /unplug works on/);
  await t.rejects(L.m.command('mystery', 'read'), /not running: config:/);
  await t.rejects(L.m.command('scanner', 'read'), /takes no commands/);
  await t.rejects(L.m.command('nosuch', 'read'), /no device "nosuch"/);
  await L.m.stop();
});

t.test('unplug and replug through the lane: reported and logged once each way', async (t) => {
  const L = lane({ scanner: defaultSimulatedDevices().scanner, bagscale: defaultSimulatedDevices().bagscale });
  t.teardown(() => L.sim.close());
  await L.m.start();
  await L.clock.advance(500);
  L.sim.unplug('scanner');
  L.sim.unplug('bagscale');
  await L.clock.advance(60_000);
  t.throws(() => L.sim.scan('scanner', '4006381333931'), /sim: scanner: .* is unplugged/);
  t.equal(L.state('scanner'), 'disconnected');
  t.equal(L.state('bagscale'), 'disconnected');
  L.sim.replug('scanner');
  L.sim.replug('bagscale');
  await L.clock.advance(31_000);
  t.equal(L.state('scanner'), 'ok');
  t.equal(L.state('bagscale'), 'ok');
  await L.m.stop();
  const changes = L.updates.filter((u) => u.changed?.name === 'scanner').map((u) => u.changed?.state);
  t.same(changes, ['starting', 'ok', 'disconnected', 'ok', 'stopped'], 'one DeviceStatus per change');
  const warn = L.lines.filter((l) => /device scanner .* disconnected: /.test(l));
  const back = L.lines.filter((l) => /device scanner .* back to ok/.test(l));
  t.equal(warn.length, 1, 'logged once when it went');
  t.equal(back.length, 1, 'logged once when it returned');
  t.match(warn[0], /^<4>\{"level":40/);
  t.equal(L.lines.filter((l) => /device bagscale .* disconnected: /.test(l)).length, 1);
});
