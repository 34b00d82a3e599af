import t from 'tap';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { extract } from 'tar';
import { startDaemon, tempDir, writeConfig, query } from '../../helpers/daemon.js';
import { eventually, until } from '../../helpers/wait.js';
import { lanectl, lanectlInteractive, technician, type CliResult } from '../../helpers/lanectl.js';
import { request } from '../../../daemon/cli/client.js';
import { verifyHash } from '../../../broker/credentials.js';

// lanectl as a technician at a pilot store uses it: calibration guarded against an
// open transaction and an implausible span, usage and errors that tell the truth,
// status that names open alarms. Against a running daemon, as installed (dist/).

const json = <T = Record<string, unknown>>(r: CliResult): T => JSON.parse(r.out) as T;

// one lane driven through dozens of lanectl processes, each a node start: minutes on two shared cores
t.setTimeout(600_000);

t.test('lanectl for the technician, against a running lane', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  const d = await startDaemon({ configFile: writeConfig(dir, {}), stateDir });
  t.teardown(() => d.kill('SIGKILL'));
  // three items scanned and left unbagged: an open transaction whose items wait to be bagged
  for (const code of ['4006381333931', '5449000000996', '2812347012503'])
    t.equal((await lanectl(stateDir, ['sim', 'scan', code, '--device', 'scanner'])).code, 0, `scan ${code}`);
  const count = async (db: string, sql: string) => (await query<{ c: number }>(join(stateDir, db), sql).catch(() => [{ c: 0 }]))[0].c;
  await until(
    async () =>
      (await count('devices.db', "SELECT count(*) AS c FROM outbox WHERE source = 'scanner' AND type = 'BarcodeScanned'")) >= 3 &&
      (await count('basket.db', 'SELECT count(*) AS c FROM basket_lines')) >= 3,
    30_000,
    'the scans in the basket',
  );

  t.test('calibrate', async (t) => {
    // the selftests' scans left a transaction open: calibrating now would move the
    // weights the shopper's items are checked against
    const lane = await technician(stateDir, d.brokerUrl);
    t.teardown(() => lane.end(true));
    let laneNow: { txn: string | null; interventions: Array<{ kind: string; reason: string }> } | undefined;
    lane.on('message', (topic, payload) => {
      if (topic === 'doc/lane') laneNow = JSON.parse(payload.toString()) as typeof laneNow;
    });
    await new Promise((r) => lane.subscribe('doc/lane', { qos: 1 }, r));
    const waitLane = async (pred: (l: NonNullable<typeof laneNow>) => boolean, what: string): Promise<NonNullable<typeof laneNow>> => {
      return eventually(() => (laneNow && pred(laneNow) ? laneNow : undefined), `doc/lane: ${what}`, 10_000);
    };
    const { txn } = await waitLane((l) => Boolean(l.txn), 'an open transaction');
    for (const args of [
      ['calibrate', 'bagscale', 'zero'],
      ['calibrate', 'bagscale', 'span', '1500'],
      ['devices', 'bagscale', 'calibrate-zero'],
    ]) {
      const refused = await lanectl(stateDir, args);
      t.equal(refused.code, 1, `${args.join(' ')}: refused during ${txn}`);
      t.match(refused.err, new RegExp(`transaction ${txn} is open on the lane: calibrating bagscale now .* or pass --force`));
    }
    const guidedRefused = await lanectl(stateDir, ['calibrate', 'scale'], { input: '\n' });
    t.equal(guidedRefused.code, 1, 'the guided one too, before its first step');
    t.match(guidedRefused.err, /is open on the lane/);
    const before = (await query<{ c: number }>(join(stateDir, 'devices.db'), "SELECT count(*) AS c FROM outbox WHERE type = 'ScaleCalibrated'"))[0]!.c;
    t.equal(before, 0, 'nothing calibrated by the refusals');

    // --force: done, recorded, and the attendant's screen shows it
    await lanectl(stateDir, ['sim', 'weight', '0', '--device', 'bagscale']);
    const forced = await lanectl(stateDir, ['calibrate', 'bagscale', 'zero', '--force', '--json']);
    t.equal(forced.code, 0, `--force: ${forced.err}`);
    const shown = await waitLane((l) => l.interventions.some((i) => i.kind === 'assistance'), "the attendant's call");
    t.match(
      shown.interventions.find((i) => i.kind === 'assistance'),
      { reason: new RegExp(`Technician calibrates bagscale during ${txn} \\(--force\\)`) },
      "the attendant's screen says why",
    );
    const [ev] = await query<{ payload: string }>(
      join(stateDir, 'devices.db'),
      "SELECT payload FROM outbox WHERE source = 'bagscale' AND type = 'ScaleCalibrated'",
    );
    t.match(
      JSON.parse(ev!.payload),
      {
        source: 'bagscale',
        type: 'ScaleCalibrated',
        data: { step: 'zero', by: /^technician/, forced: true, duringTxn: txn, after: { zeroCounts: Number, countsPerGram: 100 } },
      },
      'an event: who, before, after',
    );
    t.equal(d.lines.filter((l) => l.includes('bagscale calibrated (zero)')).length, 1, 'one log line');
    t.match(
      d.lines.find((l) => l.includes('bagscale calibrated (zero)')),
      new RegExp(`by technician.* with --force during ${txn}: .* -> zero -?\\d+, 100\\.000 counts/g`),
    );
    await request(lane, 'basket', 'Cancel', { reason: 'test: calibrating' });
    await waitLane((l) => l.txn === null, 'the transaction closed');

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
    await until(async () => (await gramsShown()) >= 1000, 30_000, 'lanectl devices to show the mass');
    c.proc.stdin!.write('2000\n');
    const r = await c.done;
    t.equal(r.code, 0, `guided calibration: ${r.err}`);
    const report = json<{ device: string; span: { countsPerGram: number }; check: { grams: number; ok: boolean } }>(r);
    t.equal(report.device, 'bagscale');
    t.ok(report.check.ok && Math.abs(report.check.grams - 2000) <= 20, `reads ${report.check.grams} g with 2000 g on it`);
    const read = await lanectl(stateDir, ['devices', 'bagscale', 'read', '--json']);
    t.equal(read.code, 0, 'lanectl devices <device> <command>');
    t.match(json(read), { calibrated: true }, 'the calibration is saved and in use');

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

    // a span far off the last one: 2,000 g on the platter, 1,000 typed
    await lanectl(stateDir, ['sim', 'weight', '2000', '--device', 'bagscale']);
    const gramsRead = async (): Promise<number> => json<{ grams: number }>(await lanectl(stateDir, ['devices', 'bagscale', 'read', '--json'])).grams;
    await until(async () => Math.abs((await gramsRead()) - 2000) <= 10, 30_000, 'the scale to read 2000 g');
    const off = await lanectl(stateDir, ['calibrate', 'bagscale', 'span', '1000']);
    t.equal(off.code, 1, 'refused');
    t.match(off.err, /refused: 1000 g gives 2\d\d\.\d\d counts per gram, 1\d\d % off the last calibration .* the platter weighs about 2000 g by it/);
    t.ok(Math.abs((await gramsRead()) - 2000) <= 10, 'the calibration in use is unchanged');
    const forcedSpan = await lanectl(stateDir, ['calibrate', 'bagscale', 'span', '1000', '--force', '--json']);
    t.equal(forcedSpan.code, 0, '--force takes it (a replaced load cell)');
    t.ok(Math.abs((await gramsRead()) - 1000) <= 10, 'and it is in use');
    t.equal((await lanectl(stateDir, ['calibrate', 'bagscale', 'span', '2000', '--force'])).code, 0, 'put right again');
    const spans = await query<{ payload: string }>(
      join(stateDir, 'devices.db'),
      "SELECT payload FROM outbox WHERE source = 'bagscale' AND type = 'ScaleCalibrated' AND json_extract(payload, '$.data.step') = 'span'",
    );
    t.ok(spans.length >= 4, 'every calibration is an event');
    await lanectl(stateDir, ['sim', 'weight', '0', '--device', 'bagscale']);

    const sealed = await lanectl(stateDir, ['calibrate', 'produce-scale', 'zero']);
    t.equal(sealed.code, 1, 'a sealed trade scale is not calibrated from here');
    t.match(sealed.err, /calibrated on the scale itself .* lanectl devices produce-scale zero\|tare\|clear-tare/);
    const zeroed = await lanectl(stateDir, ['devices', 'produce-scale', 'zero', '--json']);
    t.equal(zeroed.code, 0, `what the message says works: ${zeroed.err}`);
    t.match(json(zeroed), { command: 'Z', state: 'zero' }, 'Z sent to the 8217, which answers with its status');
    const wrong = await lanectl(stateDir, ['devices', 'produce-scale', 'frob']);
    t.equal(wrong.code, 1, 'an unknown device command: exit 1');
    t.match(wrong.err, /unknown command "frob"; known: zero, tare, clear-tare, read/);
    t.equal((await lanectl(stateDir, ['devices', 'produce-scale'])).code, 64, 'a device without a command');
    t.equal((await lanectl(stateDir, ['devices', 'bagscale', 'span', '1500'])).code, 64, 'arguments are key=value');
    t.equal((await lanectl(stateDir, ['calibrate', 'light', 'zero'])).code, 65, 'not a scale');
    t.equal((await lanectl(stateDir, ['calibrate', 'bagscale', 'span', 'x'])).code, 65, 'span needs grams');
    t.equal((await lanectl(stateDir, ['calibrate'])).code, 64);
    t.equal((await lanectl(stateDir, ['calibrate', 'bagscale', 'tilt'])).code, 64);
  });

  t.test('diag (contents in diag.test.ts)', async (t) => {
    const r = await lanectl(stateDir, ['diag', '--out', join(dir, 'bundle.tar.gz'), '--json']);
    t.equal(r.code, 0);
    t.match(json(r), { file: join(dir, 'bundle.tar.gz'), files: Array });
    await extract({ file: join(dir, 'bundle.tar.gz'), cwd: mkdirSync(join(dir, 'bundle'), { recursive: true })! });
    const [top] = readdirSync(join(dir, 'bundle'));
    const cal = JSON.parse(readFileSync(join(dir, 'bundle', top!, 'calibrations.json'), 'utf8')) as Record<string, { device: string; countsPerGram: number }>;
    t.match(cal['bagscale.calibration.json'], { device: 'bagscale', countsPerGram: Number }, 'the calibration file is in the bundle');
    const cant = await lanectl(stateDir, ['diag', '--out', join(dir, 'no', 'such', 'dir', 'b.tar.gz')]);
    t.equal(cant.code, 73, 'an output that cannot be written: EX_CANTCREAT');
    t.match(cant.err, /cannot write .*b\.tar\.gz/);
  });

  t.test('usage, errors and exit codes a technician can rely on', async (t) => {
    const help = await lanectl(stateDir, ['selftest', '--help']);
    t.equal(help.code, 0, 'lanectl <command> --help');
    t.match(help.out, /^usage: lanectl .*selftest <device> .*--grams/m, "that command's usage");
    t.notMatch(help.out, /hash-password/, 'not the whole list');
    const typo = await lanectl(stateDir, ['stauts']);
    t.equal(typo.code, 64);
    t.match(typo.err, /unknown command stauts; did you mean status\?/, 'the nearest command');
    t.match((await lanectl(stateDir, ['calbrate'])).err, /did you mean calibrate\?/);

    // a missing device is 65 whichever command asks
    for (const args of [
      ['devices', 'nosuch', 'read'],
      ['sim', 'unplug', 'nosuch'],
      ['sim', 'input', 'nosuch', 'on'],
      ['selftest', 'nosuch'],
      ['calibrate', 'nosuch', 'zero'],
    ]) {
      const r = await lanectl(stateDir, [...args, '--json']);
      t.equal(r.code, 65, `${args.join(' ')}: EX_DATAERR`);
      const err = JSON.parse(r.err) as { error: string; code: number; command: string };
      t.match(err, { code: 65, command: args[0], error: /nosuch/ }, `${args.join(' ')}: the error as JSON on stderr`);
      t.equal(r.out, '', 'nothing on stdout');
    }
    const usage = await lanectl(stateDir, ['events', 'tail', '--count', 'x', '--json']);
    t.match(JSON.parse(usage.err), { code: 64, command: 'events', error: /--count x/ }, 'usage errors too');
    const flag = await lanectl(stateDir, ['status', '--frob', '--json']);
    t.match(JSON.parse(flag.err), { code: 64, error: /--frob/ }, 'and unknown flags');

    const input = await lanectl(stateDir, ['sim', 'input', 'keyswitch', 'off']);
    t.equal(input.code, 0);
    t.match(input.out, /^keyswitch: switched off/, 'sim input says what it did');
    const fromStdin = await lanectl(stateDir, ['hash-password', '--json'], { input: 'a-long-enough-password\n' });
    t.equal(fromStdin.code, 0, fromStdin.err);
    t.ok(await verifyHash(json<{ hash: string }>(fromStdin).hash, 'a-long-enough-password'), 'hash-password reads the secret from stdin');
    const pinIn = await lanectl(stateDir, ['hash-password', '--pin', '--json'], { input: '4711\n' });
    t.ok(await verifyHash(json<{ hash: string }>(pinIn).hash, '4711'), 'the PIN too');
    t.equal((await lanectl(stateDir, ['hash-password'], { input: '' })).code, 64, 'nothing on stdin: EX_USAGE');
  });

  t.test('status says attention while a blocking alarm is open, and lists it', async (t) => {
    const before = await lanectl(stateDir, ['status', '--json']);
    t.equal(json<{ status: string }>(before).status, 'ready', before.err);
    // an age-restricted item raises a blocking age check at once
    await lanectl(stateDir, ['sim', 'scan', '2100000000197', '--device', 'scanner']);
    const r = await eventually(async () => {
      const x = await lanectl(stateDir, ['status', '--json']);
      return json<{ status: string }>(x).status === 'ready' ? undefined : x;
    }, 'lanectl status to leave ready');
    t.equal(r.code, 1, 'not ready: exit 1');
    const s = json<{ status: string; alarms: Array<{ kind: string; reason: string; blocking: boolean }> }>(r);
    t.equal(s.status, 'attention');
    t.match(s.alarms, [{ kind: 'age-check', blocking: true, reason: /Beer/ }], 'the open alarm');
    const text = await lanectl(stateDir, ['status']);
    t.match(text.out, /^lane: attention\n {2}alarm \S+ age-check: Age check: Beer.*\(txn T-\d+\)/m, 'and in the text form');
  });
});
