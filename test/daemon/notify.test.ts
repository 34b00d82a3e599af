import t, { type Test } from 'tap';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, tempDir, writeConfig, query, sleep } from '../helpers/daemon.js';
import { listenNotify, type NotifyMessage } from '../helpers/notify-socket.js';
import { until } from '../helpers/wait.js';
import { lanectl, technician, unitSetting, ean13 } from '../helpers/lanectl.js';
import { newCommand } from '../../daemon/events/command.js';

// laned under a real NOTIFY_SOCKET: a python3 AF_UNIX datagram socket that reads
// what PID 1 would (sd_notify(3)), fed by the daemon's systemd-notify tool.

const ms = (ns: bigint): number => Number(ns / 1_000_000n);
const has = (key: string, value?: string | RegExp) => (m: NotifyMessage) =>
  key in m.fields && (value === undefined || (typeof value === 'string' ? m.fields[key] === value : value.test(m.fields[key]!)));

t.test('READY=1 after every component is up, STATUS= follows the lane, STOPPING=1 and exit 0 with every outbox empty', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  const notify = await listenNotify(dir);
  t.teardown(() => notify.close());
  const d = await startDaemon({ configFile: writeConfig(dir, {}), stateDir, env: { NOTIFY_SOCKET: notify.path } });
  t.teardown(() => d.kill('SIGKILL'));

  const ready = await notify.waitFor(has('READY', '1'), 20_000, 'READY=1');
  // the STATUS sent with READY=1 is computed at that moment: it proves what was up
  t.match(
    ready.fields.STATUS,
    /^ready: 9\/9 devices ok, .*\b(\d+)\/\1 services running/,
    `READY's STATUS says every device and service is up: ${ready.fields.STATUS}`,
  );
  t.equal(ready.fields.MAINPID, String(d.proc.pid), 'MAINPID is the daemon, not the systemd-notify child');
  const health = (await (await fetch(`${d.httpUrl}/healthz`)).json()) as {
    status: string;
    services: Array<{ state: string }>;
    devices: Array<{ state: string }>;
  };
  t.equal(health.status, 'ready', '/healthz agrees right after READY=1');
  t.ok(health.services.every((s) => s.state === 'running') && health.devices.every((x) => x.state === 'ok'), 'services running, devices ok');
  t.equal(notify.messages.filter(has('READY')).length, 1, 'READY=1 exactly once');
  const beforeReady = notify.messages.filter((m) => m.t < ready.t && !('BARRIER' in m.fields));
  t.same(beforeReady, [], 'nothing but READY=1 opens the conversation (no early STATUS)');

  // STATUS= follows the lane: a scanner unplugged and back
  t.equal((await lanectl(stateDir, ['sim', 'unplug', 'scanner'])).code, 0);
  const down = await notify.waitFor(has('STATUS', /^degraded \(device scanner disconnected\): 8\/9 devices ok/), 10_000, 'STATUS with the scanner down');
  t.ok(down.t > ready.t, `STATUS updated: ${down.fields.STATUS}`);
  t.equal((await lanectl(stateDir, ['sim', 'replug', 'scanner'])).code, 0);
  const up = await notify.waitFor((m) => m.t > down.t && has('STATUS', /^ready: 9\/9 devices ok/)(m), 10_000, 'STATUS with the scanner back');
  t.ok(up, `STATUS back: ${up.fields.STATUS}`);

  // STATUS= names the open transaction and counts the lane's alarms (attendant's doc/lane)
  t.equal((await lanectl(stateDir, ['sim', 'scan', '5449000000996'])).code, 0);
  const open = await notify.waitFor(
    (m) => m.t > down.t && has('STATUS', /^ready: 9\/9 devices ok, txn T-\d+ open, 0 alarms,/)(m),
    10_000,
    'STATUS with a transaction open',
  );
  t.ok(open, `STATUS with the transaction: ${open.fields.STATUS}`);
  t.equal((await lanectl(stateDir, ['sim', 'weight', '4000'])).code, 0, 'a 4 kg weight in the bagging area for one scanned can');
  const alarm = await notify.waitFor((m) => m.t > open.t && has('STATUS', /, txn T-\d+ open, 1 alarm,/)(m), 10_000, 'STATUS with an alarm');
  t.ok(alarm, `STATUS with the alarm: ${alarm.fields.STATUS}`);

  // in-flight work at SIGTERM: 30 scans committed to the scanner's outbox just before
  const c = await technician(stateDir, d.brokerUrl);
  const codes = Array.from({ length: 30 }, (_, i) => ean13(`40000000${String(1000 + i)}`));
  const replies = new Set<string>();
  await new Promise<void>((resolve) => {
    c.on('message', (topic) => {
      replies.add(topic);
      if (replies.size === codes.length) resolve();
    });
    c.subscribe(`reply/${c.options.clientId}/#`, { qos: 1 }, () => {
      for (const code of codes) {
        const cmd = newCommand({ code, device: 'scanner' });
        cmd.replyTo = `reply/${c.options.clientId}/${cmd.id}`;
        c.publish('cmd/sim/Scan', JSON.stringify(cmd), { qos: 1 });
      }
    });
  });
  await c.endAsync(true);
  const t0 = process.hrtime.bigint();
  d.proc.kill('SIGTERM');
  const stopping = await notify.waitFor(has('STOPPING', '1'), 10_000, 'STOPPING=1');
  t.match(stopping.fields.STATUS, /stopping/, 'STOPPING=1 comes with a STATUS');
  const code = await d.exited;
  const tookMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const timeoutStopMs = Number(unitSetting('TimeoutStopSec')) * 1000;
  t.equal(code, 0, 'exit 0 after SIGTERM');
  t.ok(tookMs < timeoutStopMs, `stopped in ${Math.round(tookMs)} ms, within TimeoutStopSec (${timeoutStopMs} ms)`);
  t.ok(stopping.t >= t0, 'STOPPING=1 after the signal');

  let rows = 0;
  for (const f of readdirSync(stateDir).filter((x) => x.endsWith('.db') && x !== 'broker.db')) {
    const hasOutbox = await query(join(stateDir, f), "SELECT name FROM sqlite_master WHERE name = 'outbox'");
    if (!hasOutbox.length) continue;
    const [u] = await query<{ n: number; total: number }>(join(stateDir, f), 'SELECT sum(sent = 0) AS n, count(*) AS total FROM outbox');
    t.equal(u!.n ?? 0, 0, `${f}: no unsent event after the graceful stop`);
    rows += u!.total;
  }
  t.ok(rows > 30, `the outboxes held ${rows} events`);
  const scans = await query<{ payload: string }>(
    join(stateDir, 'devices.db'),
    "SELECT payload FROM outbox WHERE source = 'scanner' AND type = 'BarcodeScanned' AND sent = 1",
  );
  const sent = new Set(scans.map((r) => (JSON.parse(r.payload) as { data: { raw: string } }).data.raw));
  t.same(
    codes.filter((x) => !sent.has(x)),
    [],
    'every scan made just before SIGTERM was published (sent = 1)',
  );
  t.notOk(
    d.lines.some((l) => /not yet acknowledged/.test(l)),
    'no event left for the next start',
  );
  t.notOk(existsSync(join(stateDir, 'laned.running')), 'the unsafe-shutdown marker is gone after a graceful stop');
});

t.test('WATCHDOG=1 every WATCHDOG_USEC/2, none while the event loop is blocked, and back after', async (t) => {
  const dir = tempDir();
  const notify = await listenNotify(dir);
  t.teardown(() => notify.close());
  const watchdogUsec = 2_000_000;
  const blockMs = 3000; // longer than WatchdogSec: systemd would kill this daemon
  const d = await startDaemon({
    configFile: writeConfig(dir, {}),
    stateDir: join(dir, 'state'),
    env: { NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: String(watchdogUsec), LANED_TEST_HOOKS: '1', LANED_TEST_BLOCK_MS: String(blockMs) },
  });
  t.teardown(() => d.kill('SIGKILL'));
  const ready = await notify.waitFor(has('READY', '1'));
  t.notOk(
    notify.messages.some((m) => 'WATCHDOG' in m.fields && m.t < ready.t),
    'no ping before READY=1 (the watchdog runs from start-up completion)',
  );

  const pings = () => notify.messages.filter(has('WATCHDOG', '1'));
  const afterReady = () => pings().filter((m) => m.t > ready.t);
  // the subject is a period: five of them elapse
  const fifth = await notify.waitFor((m) => has('WATCHDOG', '1')(m) && afterReady().length >= 5, 15_000, 'the fifth ping after READY=1');
  const early = afterReady().filter((m) => m.t <= fifth.t);
  // every 1000 ms: the fifth within 4 to 6 s. A timer never fires early, so a gap well
  // under 1000 ms is a wrong period; the contract that matters: never a gap of
  // WATCHDOG_USEC, after which systemd would kill the service
  t.ok(ms(fifth.t - ready.t) >= 4000 && ms(fifth.t - ready.t) < 6000, `the fifth ping ${ms(fifth.t - ready.t)} ms after READY=1 at WATCHDOG_USEC/2 = 1000 ms`);
  const gaps = early.slice(1).map((m, i) => ms(m.t - early[i]!.t));
  t.ok(
    gaps.every((g) => g > 800 && g < watchdogUsec / 1000),
    `gaps between pings ${gaps.join(', ')} ms: about 1000, all under WATCHDOG_USEC`,
  );

  d.proc.kill('SIGUSR2');
  const unblocked = JSON.parse((await d.waitFor(/"hook":"unblock"/, 15_000)).replace(/^<\d>/, '')) as { mono: string; from: string };
  const from = BigInt(unblocked.from);
  const to = BigInt(unblocked.mono);
  t.ok(ms(to - from) >= blockMs, `the loop was blocked ${ms(to - from)} ms`);
  await d.waitFor(/watchdog ping withheld: event loop blocked/, 5000);
  const resumed = await notify.waitFor((m) => has('WATCHDOG', '1')(m) && m.t > to, 5000, 'a ping after the block');
  const during = pings().filter((m) => m.t >= from && m.t <= to + 300_000_000n);
  t.same(
    during.map((m) => ms(m.t - from)),
    [],
    'no ping while blocked, nor from the overdue tick right after it',
  );
  const before = pings()
    .filter((m) => m.t < from)
    .pop()!;
  t.ok(ms(resumed.t - before.t) >= blockMs, `silence of ${ms(resumed.t - before.t)} ms around the block (systemd would have fired at ${watchdogUsec / 1000})`);
  t.ok(ms(resumed.t - to) < 2500, `pings resume ${ms(resumed.t - to)} ms after the loop is free`);
  const metrics = await (await fetch(`${d.httpUrl}/metrics`)).text();
  t.match(metrics, /laned_watchdog_withheld_total\{reason="lag"\} [1-9]/, 'the withheld ping is counted');
  t.match(metrics, /laned_watchdog_pings_total [1-9]/, 'pings are counted');
  t.equal(await d.kill('SIGTERM'), 0);
});

t.test('a watchdog meant for another process (WATCHDOG_PID) is not pinged', async (t) => {
  const dir = tempDir();
  const notify = await listenNotify(dir);
  t.teardown(() => notify.close());
  const d = await startDaemon({
    configFile: writeConfig(dir, {}),
    stateDir: join(dir, 'state'),
    env: { NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '400000', WATCHDOG_PID: '1' },
  });
  t.teardown(() => d.kill('SIGKILL'));
  await notify.waitFor(has('READY', '1'));
  // the subject is silence: 1.2 s is six periods of the 400 ms watchdog a wrong ping would follow
  await sleep(1200);
  t.equal(notify.messages.filter(has('WATCHDOG')).length, 0, 'sd_watchdog_enabled(3): WATCHDOG_PID names someone else');
  t.equal(await d.kill('SIGTERM'), 0);
});

/** A daemon under a notify listener whose start or stop takes 1.5 s more, extending every 200 ms. */
async function slowDaemon(t: Test, part: 'START' | 'STOP') {
  const dir = tempDir();
  const notify = await listenNotify(dir);
  t.teardown(() => notify.close());
  const d = await startDaemon({
    configFile: writeConfig(dir, {}),
    stateDir: join(dir, 'state'),
    env: { NOTIFY_SOCKET: notify.path, LANED_TEST_HOOKS: '1', [`LANED_TEST_SLOW_${part}_MS`]: '1500', LANED_TEST_EXTEND_EVERY_MS: '200' },
  });
  t.teardown(() => d.kill('SIGKILL'));
  return { d, notify };
}

t.test('EXTEND_TIMEOUT_USEC while a start part is slow, READY=1 only after it', async (t) => {
  const { d, notify } = await slowDaemon(t, 'START');
  const ready = await notify.waitFor(has('READY', '1'));
  const extends_ = notify.messages.filter(has('EXTEND_TIMEOUT_USEC'));
  t.ok(extends_.length >= 4, `${extends_.length} extensions during a 1.5 s part with a 200 ms period`);
  t.ok(
    extends_.every((m) => m.t < ready.t && m.fields.EXTEND_TIMEOUT_USEC === '600000'),
    'each asks for 3 periods more, all before READY=1',
  );
  // on a loaded machine another part may be slow enough for an extension of its own before it
  t.ok(
    extends_.some((m) => /^starting: services \(\d+ s\)$/.test(m.fields.STATUS ?? '')),
    `with a STATUS naming the slow part: ${extends_.map((m) => m.fields.STATUS).join('; ')}`,
  );
  t.equal(await d.kill('SIGTERM'), 0);
});

t.test('EXTEND_TIMEOUT_USEC while a stop part is slow, after STOPPING=1, and exit 0', async (t) => {
  const { d, notify } = await slowDaemon(t, 'STOP');
  const ready = await notify.waitFor(has('READY', '1'));
  t.equal(await d.kill('SIGTERM'), 0, 'exit 0 after the slow stop');
  const stopping = await notify.waitFor(has('STOPPING', '1'), 5000, 'STOPPING=1');
  t.ok(stopping.t > ready.t, 'STOPPING=1 after READY=1');
  await notify.flush();
  const extends_ = notify.messages.filter((m) => m.t > ready.t && has('EXTEND_TIMEOUT_USEC')(m));
  t.ok(extends_.length >= 4, `${extends_.length} extensions during a 1.5 s stop part with a 200 ms period`);
  t.ok(
    extends_.every((m) => m.t > stopping.t && m.fields.EXTEND_TIMEOUT_USEC === '600000'),
    'each after STOPPING=1, asking for 3 periods more',
  );
  // on a loaded machine another part may be slow enough for an extension of its own before it
  t.ok(
    extends_.some((m) => /^stopping: services \(\d+ s\)$/.test(m.fields.STATUS ?? '')),
    `with a STATUS naming the slow part: ${extends_.map((m) => m.fields.STATUS).join('; ')}`,
  );
});

t.test('nothing is sent when NOTIFY_SOCKET is unset', async (t) => {
  const dir = tempDir();
  // a stand-in for systemd-notify that records every call
  const { writeFileSync, readFileSync } = await import('node:fs');
  const tool = join(dir, 'fake-notify');
  const log = join(dir, 'calls.log');
  writeFileSync(tool, `#!/bin/sh\necho "$*" >> '${log}'\n`, { mode: 0o755 });

  const quiet = await startDaemon({
    configFile: writeConfig(dir, {}),
    stateDir: join(dir, 'a'),
    env: { NOTIFY_SOCKET: '', WATCHDOG_USEC: '400000', LANED_SYSTEMD_NOTIFY: tool },
  });
  // the subject is silence: 1 s is READY and two and a half watchdog periods of 400 ms
  await sleep(1000);
  t.equal(await quiet.kill('SIGTERM'), 0);
  t.notOk(existsSync(log), 'the tool never ran: no READY, STATUS, WATCHDOG or STOPPING');

  // control: the same stand-in does run when a socket is named
  const loud = await startDaemon({
    configFile: writeConfig(dir, {}),
    stateDir: join(dir, 'b'),
    env: { NOTIFY_SOCKET: join(dir, 'nowhere.sock'), WATCHDOG_USEC: '400000', LANED_SYSTEMD_NOTIFY: tool },
  });
  await until(() => existsSync(log) && /^WATCHDOG=1$/m.test(readFileSync(log, 'utf8')), 10_000, 'a WATCHDOG=1 through the tool');
  t.equal(await loud.kill('SIGTERM'), 0);
  const calls = readFileSync(log, 'utf8');
  t.match(calls, /^READY=1 STATUS=ready: .* MAINPID=\d+$/m, 'READY through the tool');
  t.match(calls, /^WATCHDOG=1$/m, 'WATCHDOG through the tool');
  t.match(calls, /^STOPPING=1 STATUS=stopping/m, 'STOPPING through the tool');
});
