import t from 'tap';
import { join } from 'node:path';
import { startDaemon, tempDir, writeConfig, sleep } from '../../helpers/daemon.js';
import { lanectl, lanectlInteractive, generatedPasswords, type CliResult } from '../../helpers/lanectl.js';

// Every lanectl command of this engineer's part and of the foundation, against a
// running daemon, with --json and the sysexits.h codes the usage text promises.

const json = <T = Record<string, unknown>>(r: CliResult): T => JSON.parse(r.out) as T;

t.test('lanectl against a running lane', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  const d = await startDaemon({ configFile: writeConfig(dir, {}), stateDir });
  t.teardown(() => d.kill('SIGKILL'));
  // the simulated scanner scans three codes 3-7 s after start; let them pass so
  // that the scans below are the ones the tests make
  await sleep(7500);

  t.test('usage', async (t) => {
    const none = await lanectl(stateDir, []);
    t.equal(none.code, 64, 'no command: EX_USAGE');
    const help = await lanectl(stateDir, ['--help']);
    t.equal(help.code, 0);
    for (const c of ['status', 'creds', 'hash-password', 'dlq', 'events', 'devices', 'sim', 'selftest', 'calibrate', 'diag'])
      t.match(help.out, new RegExp(`^  ${c} `, 'm'), `--help lists ${c}`);
    t.match(help.out, /73 cannot write/, 'and the exit codes');
    t.equal((await lanectl(stateDir, ['frobnicate'])).code, 64, 'unknown command');
    t.equal((await lanectl(stateDir, ['status', '--no-such-flag'])).code, 64, 'unknown flag');
  });

  t.test('without a running laned', async (t) => {
    const empty = join(dir, 'nothing-here');
    for (const args of [['status'], ['devices'], ['selftest', 'scanner'], ['calibrate', 'scale'], ['dlq', 'list']]) {
      const r = await lanectl(empty, [...args, '--json']);
      t.equal(r.code, 69, `${args.join(' ')}: EX_UNAVAILABLE`);
      t.match(r.err, /laned is not running for state directory .*nothing-here/, 'naming the state directory');
    }
    const cr = await lanectl(empty, ['creds', 'technician']);
    t.equal(cr.code, 77, 'creds without credentials.json: EX_NOPERM, with what to do');
    t.match(cr.err, /run as the laned user or root/);
  });

  t.test('status', async (t) => {
    const r = await lanectl(stateDir, ['status', '--json']);
    t.equal(r.code, 0, 'ready: exit 0');
    const s = json<{
      status: string;
      services: Array<{ name: string; state: string; outboxBacklog: number; deadLetters: number }>;
      devices: unknown[];
      broker: { clients: number };
    }>(r);
    t.equal(s.status, 'ready');
    t.ok(
      s.services.some((x) => x.name === 'devices' && x.state === 'running' && typeof x.outboxBacklog === 'number' && typeof x.deadLetters === 'number'),
      'services with backlog and dead letters',
    );
    t.equal(s.devices.length, 9, 'devices');
    t.ok(s.broker.clients >= 2, 'broker clients');
    const text = await lanectl(stateDir, ['status']);
    t.match(text.out, /^lane: ready$/m);
    t.match(text.out, /^broker: \d+ clients/m);
    t.match(text.out, /^service devices +running +connected +backlog \d+ +dead letters 0/m);
    t.match(text.out, /^watchdog: off/m);
  });

  t.test('creds and hash-password', async (t) => {
    const r = await lanectl(stateDir, ['creds', 'technician', '--json']);
    t.equal(r.code, 0);
    t.same(json(r), { role: 'technician', password: generatedPasswords(stateDir).technician });
    t.equal((await lanectl(stateDir, ['creds', 'root'])).code, 64, 'not a role');
    t.equal((await lanectl(stateDir, ['hash-password', 'short'])).code, 64, 'too short');
    const h = await lanectl(stateDir, ['hash-password', 'a-long-enough-password', '--json']);
    t.equal(h.code, 0);
    t.match(json<{ hash: string }>(h).hash, /^scrypt\$\d+\$\d+\$\d+\$/);
  });

  t.test('devices and sim', async (t) => {
    const r = await lanectl(stateDir, ['devices', '--json']);
    t.equal(r.code, 0, 'all ok: exit 0');
    t.equal(json<unknown[]>(r).length, 9);
    t.same(json(await lanectl(stateDir, ['sim', 'unplug', 'produce-scale', '--json'])), { device: 'produce-scale' });
    await sleep(300);
    const down = await lanectl(stateDir, ['devices', '--json']);
    t.equal(down.code, 1, 'a device down: exit 1');
    t.equal(json<Array<{ name: string; state: string }>>(down).find((x) => x.name === 'produce-scale')?.state, 'disconnected');
    t.equal((await lanectl(stateDir, ['sim', 'replug', 'produce-scale'])).code, 0);
    t.equal((await lanectl(stateDir, ['sim', 'frob'])).code, 64, 'sim: unknown action');
    t.equal((await lanectl(stateDir, ['sim', 'weight', '100', '--device', 'scanner'])).code, 1, 'sim: refused for that device');
    const devs = await lanectl(stateDir, ['sim', 'devices', '--json']);
    t.equal(devs.code, 0);
    t.ok(json<Array<{ name: string }>>(devs).some((x) => x.name === 'bagscale'));
  });

  t.test('events tail', async (t) => {
    const tail = lanectlInteractive(stateDir, ['events', 'tail', '--source', 'scanner', '--type', 'BarcodeScanned', '--count', '1', '--json']);
    let exited = false;
    void tail.done.then(() => (exited = true));
    for (let i = 0; i < 20 && !exited; i++) {
      await lanectl(stateDir, ['sim', 'scan', '4006381333931', '--device', 'scanner']);
      await sleep(250);
    }
    const r = await tail.done;
    t.equal(r.code, 0);
    const ev = JSON.parse(r.out.trim().split('\n')[0]!) as { source: string; type: string; data: { gtin: string } };
    t.match(ev, { source: 'scanner', type: 'BarcodeScanned', data: { gtin: '04006381333931' } }, 'one envelope per line');
    t.equal((await lanectl(stateDir, ['events'])).code, 64, 'events without tail');
  });

  t.test('dlq', async (t) => {
    const r = await lanectl(stateDir, ['dlq', 'list', '--json']);
    t.equal(r.code, 0);
    t.same(json(r), [], 'no dead letters');
    const retry = await lanectl(stateDir, ['dlq', 'retry', 'devices', '7']);
    t.equal(retry.code, 1, 'retry of a dead letter that does not exist');
    t.match(retry.err, /devices has no dead letter 7/);
    t.equal((await lanectl(stateDir, ['dlq', 'drop', 'devices'])).code, 64, 'drop without n');
    t.equal((await lanectl(stateDir, ['dlq', 'frob'])).code, 64);
  });

  t.test('selftest', async (t) => {
    // scanners: the next scan within the timeout
    const s = lanectlInteractive(stateDir, ['selftest', 'scanner', '--timeout', '15', '--json']);
    await s.waitErr(/scan any barcode on scanner within 15 s/);
    t.equal((await lanectl(stateDir, ['sim', 'scan', '5449000000996', '--device', 'scanner'])).code, 0);
    const r = await s.done;
    t.equal(r.code, 0, 'a scan: PASS');
    t.match(json(r), {
      device: 'scanner',
      kind: 'serial-scanner',
      ok: true,
      checks: [
        { name: 'state', ok: true },
        { name: 'scan', ok: true, result: { gtin: '05449000000996' } },
      ],
    });

    const none = await lanectl(stateDir, ['selftest', 'wedge', '--timeout', '1']);
    t.equal(none.code, 1, 'no scan in time: FAIL, exit 1');
    t.match(none.out, /^wedge \(hid-wedge, simulated\): FAIL$/m);
    t.match(none.out, /FAIL scan: no scan from wedge within 1 s/);

    // scanner-scale: the scale answers, then a scan
    const mg = lanectlInteractive(stateDir, ['selftest', 'scanscale', '--timeout', '15', '--json']);
    await mg.waitErr(/scan any barcode on scanscale/);
    await lanectl(stateDir, ['sim', 'scan', '4006381333931', '--device', 'scanscale']);
    const mr = await mg.done;
    t.equal(mr.code, 0, `magellan: ${mr.out}`);
    t.match(json(mr), { checks: [{ name: 'state' }, { name: 'read', ok: true, result: { answering: true } }, { name: 'scan', ok: true }] });

    for (const [device, check] of [
      ['bagscale', { name: 'read', ok: true, result: { up: true } }],
      ['produce-scale', { name: 'read', ok: true, result: { answering: true } }],
    ] as const) {
      const x = await lanectl(stateDir, ['selftest', device, '--json']);
      t.equal(x.code, 0, `${device}: PASS`);
      t.match(json<{ checks: unknown[] }>(x).checks[1], check);
    }
    const light = await lanectl(stateDir, ['selftest', 'light', '--json', '--timeout', '5']);
    t.equal(light.code, 0, 'the lamp test ran and the driver switched the output');
    t.match(json(light), { checks: [{ name: 'state' }, { name: 'test', ok: true }, { name: 'output', ok: true, result: { pattern: 'fast-blink' } }] });

    const key = lanectlInteractive(stateDir, ['selftest', 'keyswitch', '--timeout', '15', '--json']);
    await key.waitErr(/operate keyswitch/);
    await lanectl(stateDir, ['sim', 'input', 'keyswitch', 'on']);
    const kr = await key.done;
    t.equal(kr.code, 0, 'a switch operated: PASS');
    await lanectl(stateDir, ['sim', 'input', 'keyswitch', 'off']);

    await lanectl(stateDir, ['sim', 'unplug', 'scanner']);
    await sleep(300);
    const unplugged = await lanectl(stateDir, ['selftest', 'scanner', '--json', '--timeout', '1']);
    t.equal(unplugged.code, 1, 'a disconnected device fails at once');
    t.match(json(unplugged), { ok: false, checks: [{ name: 'state', ok: false, detail: /^disconnected/ }] });
    await lanectl(stateDir, ['sim', 'replug', 'scanner']);

    const unknown = await lanectl(stateDir, ['selftest', 'nosuch']);
    t.equal(unknown.code, 65, 'no such device: EX_DATAERR');
    t.match(unknown.err, /no device nosuch on this lane \(devices: scanner, /);
    t.equal((await lanectl(stateDir, ['selftest'])).code, 64);
    t.equal((await lanectl(stateDir, ['selftest', 'scanner', '--timeout', 'soon'])).code, 64);
  });

  t.test('calibrate', async (t) => {
    // guided: empty platter, then a known mass (the fake NAU7802 carries the grams)
    const c = lanectlInteractive(stateDir, ['calibrate', 'scale', '--json']);
    await c.waitErr(/Step 1 of 2: take everything off bagscale/);
    await lanectl(stateDir, ['sim', 'weight', '0', '--device', 'bagscale']);
    c.proc.stdin!.write('\n');
    await c.waitErr(/Step 2 of 2: put a known mass on bagscale/);
    const gramsShown = async (): Promise<number> => {
      const r = await lanectl(stateDir, ['devices', '--json']);
      const scale = (JSON.parse(r.out) as Array<{ name: string; lastReading?: { grams?: number } }>).find((d) => d.name === 'bagscale');
      return scale?.lastReading?.grams ?? 0;
    };
    await lanectl(stateDir, ['sim', 'weight', '2000', '--device', 'bagscale']);
    // as a technician would: press Enter once the mass is on and the display moved
    for (let i = 0; i < 50 && (await gramsShown()) < 1000; i++) await sleep(100);
    c.proc.stdin!.write('2000\n');
    const r = await c.done;
    t.equal(r.code, 0, `guided calibration: ${r.err}`);
    const report = json<{ device: string; span: { countsPerGram: number }; check: { grams: number; ok: boolean } }>(r);
    t.equal(report.device, 'bagscale');
    t.ok(report.check.ok && Math.abs(report.check.grams - 2000) <= 20, `reads ${report.check.grams} g with 2000 g on it`);
    const read = await lanectl(stateDir, ['selftest', 'bagscale', '--json']);
    t.match(json(read), { checks: [{}, { result: { calibrated: true } }] }, 'the calibration is saved and in use');

    const aborted = await lanectl(stateDir, ['calibrate', 'scale'], { input: '' });
    t.equal(aborted.code, 1, 'input ends before a step is confirmed: aborted, exit 1');
    t.match(aborted.err, /calibration aborted/);
    const badMass = await lanectl(stateDir, ['calibrate', 'scale'], { input: '\nheavy\n' });
    t.equal(badMass.code, 65, 'a mass that is not a number: EX_DATAERR');

    // one step at a time, as the driver's own messages suggest
    await lanectl(stateDir, ['sim', 'weight', '0', '--device', 'bagscale']);
    const zero = await lanectl(stateDir, ['calibrate', 'bagscale', 'zero', '--json']);
    t.equal(zero.code, 0, 'calibrate <device> zero');
    t.match(json(zero), { device: 'bagscale', step: 'zero', result: { zeroCounts: Number } });
    await lanectl(stateDir, ['sim', 'weight', '1500', '--device', 'bagscale']);
    const span = await lanectl(stateDir, ['calibrate', 'bagscale', 'span', '1500', '--json']);
    t.equal(span.code, 0, 'calibrate <device> span <g>');
    t.match(json(span), { step: 'span', result: { countsPerGram: Number } });

    const sealed = await lanectl(stateDir, ['calibrate', 'produce-scale', 'zero']);
    t.equal(sealed.code, 1, 'a sealed trade scale is not calibrated from here');
    t.match(sealed.err, /calibrated on the scale itself/);
    t.equal((await lanectl(stateDir, ['calibrate', 'light', 'zero'])).code, 65, 'not a scale');
    t.equal((await lanectl(stateDir, ['calibrate', 'bagscale', 'span', 'x'])).code, 65, 'span needs grams');
    t.equal((await lanectl(stateDir, ['calibrate'])).code, 64);
    t.equal((await lanectl(stateDir, ['calibrate', 'bagscale', 'tilt'])).code, 64);
  });

  t.test('diag (contents in diag.test.ts)', async (t) => {
    const r = await lanectl(stateDir, ['diag', '--out', join(dir, 'bundle.tar.gz'), '--json']);
    t.equal(r.code, 0);
    t.match(json(r), { file: join(dir, 'bundle.tar.gz'), files: Array });
    const cant = await lanectl(stateDir, ['diag', '--out', join(dir, 'no', 'such', 'dir', 'b.tar.gz')]);
    t.equal(cant.code, 73, 'an output that cannot be written: EX_CANTCREAT');
    t.match(cant.err, /cannot write .*b\.tar\.gz/);
  });
});
