import t from 'tap';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { healthz, startDaemon, tempDir, writeConfig, query } from '../helpers/daemon.js';
import { until } from '../helpers/wait.js';
import { listenNotify } from '../helpers/notify-socket.js';
import { lanectl } from '../helpers/lanectl.js';
import { Store, isCorruption } from '../../daemon/store/store.js';

// SD-card safety: a database damaged before start gives a degraded,
// running lane that says so (/healthz, lanectl status, STATUS=), not a crash loop.

const config = { services: { 'probe-sink': { enabled: true, sources: ['scanner'] } } };

async function position(stateDir: string): Promise<number> {
  const rows = await query<{ last_seq: number }>(join(stateDir, 'probe-sink.db'), "SELECT last_seq FROM inbox_position WHERE source = 'scanner'").catch(
    () => [],
  );
  return rows[0]?.last_seq ?? 0;
}

/** Overwrite pages 2 and 3 (SQLite's default page size is 4096) with junk: tables and indexes behind the header break. */
function damagePages(file: string): void {
  const fd = openSync(file, 'r+');
  const junk = Buffer.alloc(8192, 0x5a);
  writeSync(fd, junk, 0, junk.length, 4096);
  closeSync(fd);
}

t.test('a service database damaged before start: degraded, running, says where the file went, and scans still flow', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  const cfg = writeConfig(dir, config);

  // a lane that has worked: the sink has applied scanner events up to some seq
  const first = await startDaemon({ configFile: cfg, stateDir });
  for (const code of ['4006381333931', '5449000000996', '4000000010007'])
    t.equal((await lanectl(stateDir, ['sim', 'scan', code, '--device', 'scanner'])).code, 0);
  await until(async () => (await position(stateDir)) >= 3, 15_000, 'the sink to apply 3 scanner events');
  t.equal(await first.kill('SIGTERM'), 0);
  const before = await position(stateDir);
  t.ok(before >= 3, `the sink applied scanner events up to seq ${before}`);

  damagePages(join(stateDir, 'devices.db'));

  const notify = await listenNotify(dir);
  t.teardown(() => notify.close());
  const d = await startDaemon({ configFile: cfg, stateDir, env: { NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '1000000' } });
  t.teardown(() => d.kill('SIGKILL'));

  const ready = await notify.waitFor((m) => m.fields.READY === '1');
  t.match(
    ready.fields.STATUS,
    /^degraded \(database devices\.db corrupt, moved aside\): 9\/9 devices ok/,
    `STATUS= tells systemctl status: ${ready.fields.STATUS}`,
  );

  const { code, body: health } = await healthz<{ status: string; reasons: string[] }>(d);
  t.equal(code, 200, '/healthz answers 200: degraded is still serving');
  t.equal(health.status, 'degraded');
  t.match(
    health.reasons.join('\n'),
    /devices\.db failed its integrity check \(.*(malformed|corrupt|not a database).*\); moved aside to .*devices\.db\.corrupt-\S+ and started empty; keep that file for support \(lanectl diag\)/,
    'the reason names the file, where it went and what to do',
  );
  const moved = readdirSync(stateDir).filter((f) => /^devices\.db\.corrupt-/.test(f));
  t.equal(moved.length, 1, `the damaged file is kept: ${moved.join(', ')}`);

  const st = await lanectl(stateDir, ['status']);
  t.equal(st.code, 1, 'lanectl status exits 1 when the lane is not ready');
  t.match(st.out, /^lane: degraded \(store .*devices\.db: database .* moved aside to /m, 'and says why');
  const sj = await lanectl(stateDir, ['status', '--json']);
  t.equal(sj.code, 1);
  t.equal((JSON.parse(sj.out) as { status: string }).status, 'degraded', 'lanectl status --json');

  const metrics = await (await fetch(`${d.httpUrl}/metrics`)).text();
  t.match(metrics, /laned_store_corrupt_total\{file=".*devices\.db"\} 1/, 'counted in /metrics');
  t.match(metrics, /laned_health\{status="degraded"\} 1/, 'health in /metrics');

  // the lane still works: a new scan reaches the consumer even though the
  // scanner's log started empty (its seq continues after the broker's last head)
  t.match(d.lines.join('\n'), /source scanner lost its database: seq continues after \d+/, 'the scanner continues its seq');
  t.equal((await lanectl(stateDir, ['sim', 'scan', '4000000020006', '--device', 'scanner'])).code, 0);
  await until(async () => (await position(stateDir)) > before, 15_000, `the sink to apply a scanner event after seq ${before}`);
  const after = await position(stateDir);
  t.ok(after > before, `the sink applied the new scan (position ${after} > ${before})`);

  // not a crash loop: still the same process, still pinging the watchdog
  const pingsSinceReady = () => notify.messages.filter((m) => m.fields.WATCHDOG === '1' && m.t > ready.t);
  await notify.waitFor((m) => m.fields.WATCHDOG === '1' && pingsSinceReady().length >= 3, 10_000, 'a third watchdog ping since READY=1');
  t.equal(d.proc.exitCode, null, 'still running');
  const pings = pingsSinceReady();
  t.ok(pings.length >= 3, `${pings.length} watchdog pings while degraded: systemd has no reason to restart it`);
  t.equal(await d.kill('SIGTERM'), 0, 'stops cleanly');

  // and the next start is clean
  const again = await startDaemon({ configFile: cfg, stateDir });
  t.teardown(() => again.kill('SIGKILL'));
  const h2 = (await healthz<{ status: string; reasons: string[] }>(again)).body;
  t.equal(h2.status, 'ready', `a restart after the repair is ready (${h2.reasons.join('; ')})`);
  t.equal(await again.kill('SIGTERM'), 0);
});

t.test('a broker.db that is not a database: degraded without stored sessions, not a crash loop', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, 'broker.db'), Buffer.alloc(16384, 0x42));
  const cfg = writeConfig(dir, {});
  const d = await startDaemon({ configFile: cfg, stateDir });
  t.teardown(() => d.kill('SIGKILL'));
  const health = (await healthz<{ status: string; reasons: string[] }>(d)).body;
  t.equal(health.status, 'degraded');
  t.match(
    health.reasons.join('\n'),
    /broker\.db is corrupt .*moved aside to .*broker\.db\.corrupt-\S+ and started without stored sessions/,
    health.reasons.join('\n'),
  );
  t.ok(existsSync(join(stateDir, 'broker.db')), 'a new broker.db was created');
  const st = await lanectl(stateDir, ['devices', '--json']);
  t.equal(st.code, 0, 'the broker works: lanectl reaches the devices');
  t.equal(await d.kill('SIGTERM'), 0);
});

t.test('only corruption moves a file aside: a database that cannot be opened is an error, left in place', async (t) => {
  const dir = tempDir();
  const bad = join(dir, 'a-directory.db');
  mkdirSync(bad);
  let reported = 0;
  await t.rejects(Store.open(bad, { onCorrupt: () => reported++ }), /SQLITE_CANTOPEN|unable to open/, 'the open error is thrown');
  t.equal(reported, 0, 'not reported as corrupt');
  t.same(readdirSync(dir), ['a-directory.db'], 'nothing moved');

  const junk = join(dir, 'junk.db');
  writeFileSync(junk, Buffer.alloc(8192, 0x42));
  const s = await Store.open(junk, { onCorrupt: () => reported++ });
  await s.close();
  t.equal(reported, 1, 'a file that is not a database is reported');
  t.ok(
    readdirSync(dir).some((f) => f.startsWith('junk.db.corrupt-')),
    'and moved aside',
  );

  t.ok(isCorruption(Object.assign(new Error('SQLITE_CORRUPT: database disk image is malformed'), { code: 'SQLITE_CORRUPT' })));
  t.ok(isCorruption(new Error('wrapper', { cause: Object.assign(new Error('x'), { code: 'SQLITE_NOTADB' }) })), 'through a cause chain (broker persistence)');
  t.notOk(isCorruption(Object.assign(new Error('SQLITE_FULL: database or disk is full'), { code: 'SQLITE_FULL' })), 'a full disk is not corruption');
});
