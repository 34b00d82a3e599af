/** The uplink's config keys: bad values stop laned with exit 78 naming the key; its secrets stay out of logs and `lanectl diag`. */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { validateConfig } from '../../../../daemon/core/config.js';
import { redact } from '../../../../daemon/cli/commands/diag.js';
import { eventFilter } from '../../../../daemon/services/uplink/filter.js';
import { startDaemon, tempDir, writeConfig } from '../../../helpers/daemon.js';

t.test('bad values name the key', async (t) => {
  const dir = tempDir('uplink-config-');
  const pw = join(dir, 'pw');
  writeFileSync(pw, 'secret\n');
  chmodSync(pw, 0o644);
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ url: 'http://store:1883' }, /uplink\.url: "http:\/\/store:1883" is not allowed/],
    [{ url: 'mqtts://store:8883', alarmAtPct: 120 }, /uplink\.alarmAtPct: 120 is not allowed/],
    [{ url: 'mqtts://store:8883', retentionEvents: 5 }, /uplink\.retentionEvents: 5 is not allowed/],
    [{ url: 'mqtts://store:8883', password: 'a', passwordFile: pw }, /uplink\.password: give either password or passwordFile/],
    [{ url: 'mqtts://store:8883', passwordFile: pw }, /uplink\.passwordFile: .* is readable by others \(mode 644\); chmod 600 it/],
    [{ url: 'mqtts://store:8883', ca: join(dir, 'missing.crt') }, /uplink\.ca: cannot read .*missing\.crt \(ENOENT\)/],
    [{ url: 'mqtts://store:8883', colour: 'red' }, /uplink\.colour: unknown key/],
  ];
  for (const [uplink, re] of bad) t.throws(() => validateConfig({ uplink }, 'test'), re, JSON.stringify(uplink));
  chmodSync(pw, 0o600);
  const ok = validateConfig({ uplink: { url: 'mqtts://store:8883', passwordFile: pw } }, 'test');
  t.same(ok.uplink?.events, ['*', '!WeightHasChanged'], 'default: every event but the weight readings');

  const configFile = writeConfig(dir, { uplink: { url: 'mqtts://store:8883', alarmAtPct: 0 } });
  const d = await startDaemon({ configFile, stateDir: dir, waitReady: false });
  t.equal(await d.exited, 78, 'laned exits 78');
  t.ok(
    d.lines.some((l) => l.includes('uplink.alarmAtPct')),
    'naming the key',
  );
});

t.test('secrets redacted by lanectl diag', async (t) => {
  const r = redact({
    uplink: { url: 'mqtts://store:8883', username: 'lane-1', password: 'hunter2', passwordFile: '/etc/laned/uplink.pw', key: '/etc/laned/uplink.key' },
  }) as {
    uplink: Record<string, string>;
  };
  t.equal(r.uplink.password, '[redacted]');
  t.equal(r.uplink.url, 'mqtts://store:8883');
  t.notOk(JSON.stringify(r).includes('hunter2'));
});

t.test('uplink.events', async (t) => {
  const f = eventFilter(['*', '!WeightHasChanged', '!probe/*']);
  t.ok(f('basket', 'ItemAddedToBasket'));
  t.notOk(f('bagscale', 'WeightHasChanged'));
  t.notOk(f('probe', 'ProbeTick'), 'source/type patterns');
  const only = eventFilter(['Receipt*', 'Transaction*']);
  t.ok(only('journal', 'ReceiptRecorded'));
  t.notOk(only('basket', 'ItemAddedToBasket'));
});
