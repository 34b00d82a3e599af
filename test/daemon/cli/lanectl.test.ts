import t from 'tap';
import { join } from 'node:path';
import { startDaemon, tempDir, writeConfig, query } from '../../helpers/daemon.js';
import { eventually, until } from '../../helpers/wait.js';
import { lanectl, lanectlInteractive, generatedPasswords, technician, type CliResult } from '../../helpers/lanectl.js';
import { request } from '../../../daemon/cli/client.js';
import { verifyHash } from '../../../broker/credentials.js';

// Every lanectl command of this engineer's part and of the foundation, against a
// running daemon, with --json and the sysexits.h codes the usage text promises.

const json = <T = Record<string, unknown>>(r: CliResult): T => JSON.parse(r.out) as T;

// one lane driven through dozens of lanectl processes, each a node start: minutes on two shared cores
t.setTimeout(600_000);

t.test('lanectl against a running lane', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  // items not bagged raise their alarm after a second, the shortest the weight check allows
  const d = await startDaemon({ configFile: writeConfig(dir, { services: { weightcheck: { enabled: true, notBaggedTimeoutMs: 1000 } } }), stateDir });
  t.teardown(() => d.kill('SIGKILL'));

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
    // items scanned and never bagged: the weight alarm is open and blocks the shopper
    for (const code of ['4006381333931', '5449000000996']) t.equal((await lanectl(stateDir, ['sim', 'scan', code, '--device', 'scanner'])).code, 0);
    const busy = await eventually(async () => {
      const r = await lanectl(stateDir, ['status', '--json']);
      return json<{ alarms: Array<{ reason: string }> }>(r).alarms.some((a) => /not put in the bagging area/.test(a.reason)) ? r : undefined;
    }, 'the alarm of the unbagged items');
    t.equal(busy.code, 1, 'not ready while blocking alarms are open: exit 1');
    const b = json<{ status: string; alarms: Array<{ kind: string; reason: string; txn: string }> }>(busy);
    t.equal(b.status, 'attention', 'attention, not ready');
    t.ok(b.alarms.length >= 1 && b.alarms.every((a) => a.kind === 'weight' && /not put in the bagging area/.test(a.reason)), 'listing the alarms');
    t.match(
      (await lanectl(stateDir, ['status'])).out,
      /^lane: attention\n {2}alarm I-\d+ weight: Item L\d was not put in the bagging area \(txn T-\d+\) since /m,
    );
    const c = await technician(stateDir, d.brokerUrl);
    await request(c, 'basket', 'Cancel', { reason: 'test: the unbagged items' });
    c.end(true);
    const r = await eventually(async () => {
      const x = await lanectl(stateDir, ['status', '--json']);
      return x.code === 0 ? x : undefined;
    }, 'lanectl status to exit 0 after the cancel');
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
    const pin = await lanectl(stateDir, ['hash-password', '--pin', '4711', '--json']);
    t.equal(pin.code, 0, 'an attendant PIN is shorter than a password');
    t.ok(await verifyHash(json<{ hash: string }>(pin).hash, '4711'), 'and its hash checks the PIN');
    t.equal((await lanectl(stateDir, ['hash-password', '--pin', '47a1'])).code, 64, 'a PIN is digits');
  });

  t.test('devices and sim', async (t) => {
    const r = await lanectl(stateDir, ['devices', '--json']);
    t.equal(r.code, 0, 'all ok: exit 0');
    t.equal(json<unknown[]>(r).length, 9);
    t.match(json(await lanectl(stateDir, ['sim', 'unplug', 'produce-scale', '--json'])), { device: 'produce-scale', action: 'unplug' });
    const down = await eventually(async () => {
      const x = await lanectl(stateDir, ['devices', '--json']);
      return x.code === 0 ? undefined : x;
    }, 'lanectl devices to see the produce scale gone');
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
    // --count N: the last N events from the sources' logs at once (the scans of
    // the status test are there), then new ones as they come
    const tail = lanectlInteractive(stateDir, ['events', 'tail', '--source', 'scanner', '--type', 'BarcodeScanned', '--count', '2', '--json']);
    t.teardown(() => tail.proc.kill('SIGKILL'));
    await tail.waitOut(/^(.*\n){2}/);
    const history = tail
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { source: string; type: string; seq: number; data: { gtin: string } });
    t.equal(history.length, 2, 'the last two, without waiting for new ones');
    t.ok(
      history.every((e) => e.source === 'scanner' && e.type === 'BarcodeScanned'),
      'one envelope per line, filtered',
    );
    t.ok(history[0]!.seq < history[1]!.seq, 'oldest first');
    await lanectl(stateDir, ['sim', 'scan', '4006381333931', '--device', 'scanner']);
    await tail.waitOut(/^(.*\n){3}/);
    t.match(JSON.parse(tail.out().trim().split('\n')[2]!), { source: 'scanner', type: 'BarcodeScanned', data: { gtin: '04006381333931' } }, 'then it follows');
    tail.proc.kill('SIGTERM');
    t.equal((await tail.done).code, 0, 'ends cleanly on SIGTERM');
    t.equal((await lanectl(stateDir, ['events'])).code, 64, 'events without tail');

    // --txn: only that transaction's events, in the text form
    const first = lanectlInteractive(stateDir, ['events', 'tail', '--type', 'ItemAddedToBasket', '--count', '1', '--json']);
    t.teardown(() => first.proc.kill('SIGKILL'));
    await lanectl(stateDir, ['sim', 'scan', '5449000000996', '--device', 'scanner']);
    await first.waitOut(/"gtin":"05449000000996".*\n/);
    first.proc.kill('SIGTERM');
    const added = (await first.done).out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { txn: string; data: { gtin: string } });
    const txn = added.find((e) => e.data.gtin === '05449000000996')!.txn;
    t.match(txn, /^T-\d+$/, 'a transaction is open');
    const byTxn = lanectlInteractive(stateDir, ['events', 'tail', '--txn', txn, '--count', '1']);
    t.teardown(() => byTxn.proc.kill('SIGKILL'));
    await byTxn.waitOut(/\n/);
    await lanectl(stateDir, ['sim', 'scan', '4006381333931', '--device', 'scanner']);
    // the scan's BarcodeScanned (no txn) comes first on the lane: the filter drops it
    await byTxn.waitOut(/"gtin":"04006381333931"/);
    byTxn.proc.kill('SIGTERM');
    const line = (await byTxn.done).out
      .trim()
      .split('\n')
      .find((l) => l.includes('04006381333931'))!;
    t.match(line, /^\S+Z {2}basket#\d+ {2}ItemAddedToBasket {2}txn T-\d+ {2}\{.*"gtin":"04006381333931"/, 'time, source#seq, type, txn, data');
    t.ok(line.includes(`  txn ${txn}  `), `the transaction asked for: ${line}`);
    for (const bad of [
      ['--count', 'many'],
      ['--count', '0'],
      ['--source', 'evt/#'],
      ['--type', '+'],
    ]) {
      t.equal((await lanectl(stateDir, ['events', 'tail', ...bad])).code, 64, `events tail ${bad.join(' ')}: EX_USAGE`);
    }
  });

  t.test('dlq', async (t) => {
    const r = await lanectl(stateDir, ['dlq', 'list', '--json']);
    t.equal(r.code, 0);
    t.same(json(r), [], 'no dead letters');
    const retry = await lanectl(stateDir, ['dlq', 'retry', 'devices', '7']);
    t.equal(retry.code, 65, 'retry of a dead letter that does not exist: no such thing, EX_DATAERR');
    t.match(retry.err, /devices has no dead letter 7/);
    t.equal((await lanectl(stateDir, ['dlq', 'drop', 'devices'])).code, 64, 'drop without n');
    t.equal((await lanectl(stateDir, ['dlq', 'frob'])).code, 64);
  });

  t.test('selftest', async (t) => {
    // scanners: the next scan within the timeout
    // a scanner: every code read until the timeout, accepted or why not
    const s = lanectlInteractive(stateDir, ['selftest', 'scanner', '--timeout', '8', '--json']);
    await s.waitErr(/scan barcodes on scanner; every read is shown for 8 s/);
    t.equal((await lanectl(stateDir, ['sim', 'scan', '5449000000996', '--device', 'scanner'])).code, 0);
    await s.waitErr(/ read +5449000000996 +ean13/);
    await lanectl(stateDir, ['sim', 'scan', '4006381333932', '--device', 'scanner']);
    await s.waitErr(/REJECTED 4006381333932 .*check digit 2 is wrong/);
    // both reads shown: Enter ends the window instead of its 8 s
    s.proc.stdin!.write('\n');
    const r = await s.done;
    t.equal(r.code, 0, 'a code read: PASS');
    t.match(json(r), {
      device: 'scanner',
      kind: 'serial-scanner',
      ok: true,
      checks: [
        { name: 'state', ok: true },
        {
          name: 'scan',
          ok: true,
          detail: /1 code read, 1 rejected/,
          result: [
            { accepted: true, gtin: '05449000000996', symbology: 'ean13' },
            { accepted: false, raw: '4006381333932', reason: /check digit/ },
          ],
        },
      ],
    });

    const none = await lanectl(stateDir, ['selftest', 'wedge', '--timeout', '1']);
    t.equal(none.code, 1, 'no scan in time: FAIL, exit 1');
    t.match(none.out, /^wedge \(hid-wedge, simulated\): FAIL$/m);
    t.match(none.out, /FAIL scan: no scan from wedge within 1 s/);

    // scanner-scale: the scale answers, then the scans, then the test mass
    const mg = lanectlInteractive(stateDir, ['selftest', 'scanscale', '--timeout', '8', '--grams', '640', '--json']);
    await mg.waitErr(/scan barcodes on scanscale/);
    await lanectl(stateDir, ['sim', 'scan', '4006381333931', '--device', 'scanscale']);
    await mg.waitErr(/ read +4006381333931 +ean13/);
    mg.proc.stdin!.write('\n');
    await mg.waitErr(/put the 640 g test mass on the empty scanscale within 8 s/);
    t.equal((await lanectl(stateDir, ['sim', 'produce', '640', '--device', 'scanscale'])).code, 0, 'lanectl sim produce');
    const mr = await mg.done;
    t.equal(mr.code, 0, `magellan: ${mr.out}`);
    t.match(json(mr), {
      checks: [
        { name: 'state' },
        { name: 'read', ok: true, result: { answering: true } },
        { name: 'scan', ok: true },
        { name: 'weigh', ok: true, result: { grams: 640, expectedGrams: 640 } },
      ],
    });
    await lanectl(stateDir, ['sim', 'produce', '0', '--device', 'scanscale']);

    // scales: they answer, then weigh a test mass whose grams are asked for
    for (const [device, sim, check] of [
      ['bagscale', 'weight', { name: 'read', ok: true, result: { up: true } }],
      ['produce-scale', 'produce', { name: 'read', ok: true, result: { answering: true } }],
    ] as const) {
      const x = lanectlInteractive(stateDir, ['selftest', device, '--timeout', '15', '--json']);
      await x.waitErr(new RegExp(`test mass for ${device}: type its mass in grams`));
      x.proc.stdin!.write('810\n');
      await x.waitErr(new RegExp(`put the 810 g test mass on the empty ${device} within 15 s`));
      t.equal((await lanectl(stateDir, ['sim', sim, '810', '--device', device])).code, 0);
      const r = await x.done;
      t.equal(r.code, 0, `${device}: PASS`);
      t.match(json<{ checks: unknown[] }>(r).checks, [
        { name: 'state' },
        check,
        { name: 'weigh', ok: true, result: { expectedGrams: 810, toleranceGrams: 5 } },
      ]);
      t.ok(Math.abs(json<{ checks: Array<{ result?: { grams: number } }> }>(r).checks[2]!.result!.grams - 810) <= 5, `${device} weighed the 810 g put on it`);
      await lanectl(stateDir, ['sim', sim, '0', '--device', device]);
    }
    // a scale that reads wrong fails, with the measured weight and the error
    const wrong = lanectlInteractive(stateDir, ['selftest', 'produce-scale', '--timeout', '15', '--grams', '1000']);
    await wrong.waitErr(/put the 1000 g test mass on the empty produce-scale/);
    await lanectl(stateDir, ['sim', 'produce', '900', '--device', 'produce-scale']);
    const wr = await wrong.done;
    t.equal(wr.code, 1, 'off by more than the tolerance: FAIL, exit 1');
    t.match(wr.out, /FAIL weigh: produce-scale weighed 900 g with 1000 g on it: error -100 g \(-10\.00 %\), tolerance ±5 g: OUTSIDE TOLERANCE/);
    await lanectl(stateDir, ['sim', 'produce', '0', '--device', 'produce-scale']);
    const idle = await lanectl(stateDir, ['selftest', 'produce-scale', '--timeout', '1', '--grams', '500', '--json']);
    t.equal(idle.code, 1, 'nothing put on the scale in time: FAIL');
    t.match(json(idle), {
      ok: false,
      checks: [{ ok: true }, { ok: true }, { name: 'weigh', ok: false, detail: /no stable weight from produce-scale within 1 s/ }],
    });
    t.equal((await lanectl(stateDir, ['selftest', 'produce-scale', '--grams', 'heavy'])).code, 65, 'a test mass that is not a number');
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
    await until(async () => (await lanectl(stateDir, ['devices', '--json'])).code !== 0, 10_000, 'the scanner to be disconnected');
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
});

t.test('lanectl dlq: list, retry and drop real dead letters', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  // probe-sink refuses ticks 2 and 4 until told otherwise: after maxAttempts each is a dead letter
  const config = { events: { maxAttempts: 2 }, services: { probe: { enabled: true, count: 5 }, 'probe-sink': { enabled: true, failTicks: [2, 4] } } };
  const d = await startDaemon({ configFile: writeConfig(dir, config), stateDir });
  t.teardown(() => d.kill('SIGKILL'));
  const tally = async () => (await query<{ n: number }>(join(stateDir, 'probe-sink.db'), 'SELECT n FROM probe_tally ORDER BY n')).map((r) => r.n);

  type Listed = Array<{ service: string; n: number; event_id: string; reason: string; topic: string }>;
  const listed = await eventually(async () => {
    const r = await lanectl(stateDir, ['dlq', 'list', '--json']);
    return r.code === 0 && json<Listed>(r).length >= 2 ? json<Listed>(r) : undefined;
  }, 'two dead letters in lanectl dlq list');
  t.equal(listed.length, 2, 'two dead letters');
  t.ok(
    listed.every((x) => x.service === 'probe-sink' && x.topic === 'evt/probe/ProbeTick' && /refuse tick [24] \(failTicks\)/.test(x.reason)),
    'each names its service, topic and reason',
  );
  t.same(await tally(), [1, 3, 5], 'the others were applied');
  const text = await lanectl(stateDir, ['dlq', 'list']);
  t.match(text.out, /^probe-sink #\d+ .* evt\/probe\/ProbeTick /m, 'the text list');
  const health = (await (await fetch(`${d.httpUrl}/healthz`)).json()) as { statusLine: string };
  t.match(health.statusLine, /, 2 dead letters/, 'STATUS= counts them');

  const [first, second] = listed.sort((a, b) => a.n - b.n);
  const still = await lanectl(stateDir, ['dlq', 'retry', 'probe-sink', String(first!.n)]);
  t.equal(still.code, 1, 'a retry that fails again: exit 1');
  t.match(still.err, /refuse tick/, 'with the reason');

  const c = await technician(stateDir, d.brokerUrl);
  t.teardown(() => c.end(true));
  await request(c, 'probe-sink', 'Refuse', { ticks: [] });
  const retried = await lanectl(stateDir, ['dlq', 'retry', 'probe-sink', String(first!.n), '--json']);
  t.equal(retried.code, 0, 'retry after the cause is mended');
  t.same(json(retried), { retried: first!.n, eventId: first!.event_id });
  t.same(await tally(), [1, 2, 3, 5], 'tick 2 applied by the retry');
  const dropped = await lanectl(stateDir, ['dlq', 'drop', 'probe-sink', String(second!.n)]);
  t.equal(dropped.code, 0);
  t.match(dropped.out, new RegExp(`dropped probe-sink #${second!.n}`));
  t.same(json(await lanectl(stateDir, ['dlq', 'list', '--json'])), [], 'none left');
  t.same(await tally(), [1, 2, 3, 5], 'the dropped tick was not applied');
  t.equal((await lanectl(stateDir, ['dlq', 'drop', 'probe-sink', String(second!.n)])).code, 65, 'dropping it twice: no such dead letter, EX_DATAERR');
  t.equal(await d.kill('SIGTERM'), 0);
});
