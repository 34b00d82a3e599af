/**
 * A store broker the lane cannot use: a wrong password, a certificate from another
 * CA, nothing listening. Each gives one clear log line and a reason in `lanectl
 * uplink status`, reconnects wait longer each time up to uplink.maxBackoffMs, and
 * the lane keeps selling meanwhile.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { query, startDaemon, tempDir, writeConfig } from '../../../helpers/daemon.js';
import { lanectl } from '../../../helpers/lanectl.js';
import { until } from '../../../helpers/lane.js';
import { freePort, storeBroker, uplinkConfig } from '../../../helpers/store-broker.js';

t.test('refused by the store broker, the lane sells on', async (t) => {
  const b = await storeBroker('store-4', ['lane-1']);
  await b.start();
  t.teardown(() => b.stop());
  const wrongPw = join(b.pki.dir, 'wrong.password');
  writeFileSync(wrongPw, 'not-the-password\n', { mode: 0o600 });
  const cases: Array<{ name: string; uplink: Record<string, unknown>; why: RegExp }> = [
    { name: 'wrong password', uplink: uplinkConfig(b, 'lane-1', { passwordFile: wrongPw }), why: /refused (the username or password|this lane)/ },
    { name: 'wrong CA', uplink: uplinkConfig(b, 'lane-1', { ca: b.pki.otherCa }), why: /certificate is refused: .*uplink\.ca/ },
    {
      name: 'nothing listening',
      uplink: uplinkConfig(b, 'lane-1', { url: `mqtts://127.0.0.1:${await freePort()}` }),
      why: /nothing listens at mqtts:\/\/127\.0\.0\.1:\d+ \(connection refused\)/,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const stateDir = tempDir('uplink-refused-');
      const configFile = writeConfig(stateDir, { lane: { id: 'lane-1', storeId: 'store-4' }, uplink: { ...c.uplink, maxBackoffMs: 800 } });
      const d = await startDaemon({ configFile, stateDir });
      t.teardown(() => d.kill('SIGKILL'));
      type View = { connected: boolean; lastError?: string; attempts: number; nextRetryMs?: number };
      let view: View | undefined;
      let code = -1;
      await until(
        async () => {
          const r = await lanectl(stateDir, ['--json', 'uplink', 'status']);
          code = r.code;
          view = r.out ? (JSON.parse(r.out) as View) : undefined;
          return (view?.attempts ?? 0) >= 5 && view?.nextRetryMs === 800;
        },
        60_000,
        `${c.name}: retries up to the cap`,
      );
      t.equal(code, 1, 'lanectl uplink status exits 1 while not connected');
      t.equal(view?.connected, false);
      t.match(view?.lastError ?? '', c.why, `status says why: ${view?.lastError}`);
      const human = await lanectl(stateDir, ['uplink', 'status']);
      t.match(human.out, /NOT CONNECTED/, 'the human form says so');
      t.match(human.out, /last error: /);
      const logged = d.lines.filter((l) => l.includes('"component":"services/uplink"') && l.includes('"level":50') && c.why.test(l));
      t.equal(logged.length, 1, `one error line for the reason, not one per retry (${view?.attempts} attempts)`);
      t.notOk(
        d.lines.some((l) => l.includes('store-4-lane-1-secret') || l.includes('not-the-password')),
        'no password in the log',
      );
      // selling goes on: a scan ends up in the basket
      t.equal((await lanectl(stateDir, ['sim', 'scan', '5449000000996'])).code, 0);
      await until(
        async () => (await query<{ c: number }>(join(stateDir, 'basket.db'), "SELECT count(*) AS c FROM outbox WHERE type = 'ItemAddedToBasket'"))[0].c >= 1,
        30_000,
        'items added while the store is unreachable',
      );
    });
  }
});
