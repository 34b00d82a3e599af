import t from 'tap';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extract } from 'tar';
import { stringify } from 'yaml';
import { startDaemon, tempDir, writeConfig } from '../../helpers/daemon.js';
import { lanectl, generatedPasswords } from '../../helpers/lanectl.js';

// `lanectl diag`: what a technician sends to support. Its contents are asserted,
// and no secret may be in it: not the generated passwords of credentials.json,
// not a scrypt hash from the config, not a password or key in a service's settings.

async function unpack(bundle: string, into: string): Promise<{ dir: string; files: Record<string, string> }> {
  mkdirSync(into, { recursive: true });
  await extract({ file: bundle, cwd: into });
  const [top] = readdirSync(into);
  const dir = join(into, top!);
  const files: Record<string, string> = {};
  for (const f of readdirSync(dir)) files[f] = readFileSync(join(dir, f), 'utf8');
  return { dir: top!, files };
}

t.test('the support bundle of a running lane', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  const hash = JSON.parse((await lanectl(stateDir, ['hash-password', 'uplink-password-in-config', '--json'])).out).hash as string;
  const pinHash = JSON.parse((await lanectl(stateDir, ['hash-password', '--pin', '4711', '--json'])).out).hash as string;
  // a private key pasted under a key whose name gives nothing away (redacted by its form)
  const pemBody = 'MC4CAQAwBQYDK2VwBCIEIKeyMaterialThatMustNotLeave0123456789abc';
  const pem = `-----BEGIN PRIVATE KEY-----\n${pemBody}\n-----END PRIVATE KEY-----\n`;
  const cfg = writeConfig(dir, {
    lane: { id: 'lane-7', storeId: 'store-42' },
    broker: { credentials: { uplink: hash } },
    services: { attendant: { pinHash } },
  });
  const d = await startDaemon({ configFile: cfg, stateDir });
  t.teardown(() => d.kill('SIGKILL'));
  const passwords = Object.values(generatedPasswords(stateDir));
  t.ok(passwords.length >= 4, 'the lane has generated passwords to leak');

  // a journal that (wrongly) logged a password: the bundle must still not carry it
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'journalctl'),
    `#!/bin/sh\necho "args: $*"\necho "Nov 22 10:00:00 lane laned[1]: ready"\necho "Nov 22 10:00:01 lane laned[1]: oops password ${passwords[0]}"\n`,
    { mode: 0o755 },
  );
  // a database moved aside earlier
  writeFileSync(join(stateDir, 'basket.db.corrupt-2026-01-01T00-00-00-000Z'), Buffer.alloc(4096, 0x42));

  const out = join(dir, 'support.tar.gz');
  const r = await lanectl(stateDir, ['diag', '--out', out, '--json'], { env: { PATH: `${bin}:${process.env.PATH}` } });
  t.equal(r.code, 0, r.err);
  const printed = JSON.parse(r.out) as { file: string; files: string[]; notes: string[] };
  t.equal(printed.file, out);
  t.same(printed.notes, [], 'nothing missing');
  t.equal((readFileSync(out)[0]! << 8) | readFileSync(out)[1]!, 0x1f8b, 'gzip');

  const { dir: top, files } = await unpack(out, join(dir, 'x'));
  t.match(top, /^laned-diag-.+-\d{8}T\d{6}$/, 'one folder named for host and time');
  t.same(Object.keys(files).sort(), [...printed.files].sort(), 'the files it says');
  for (const f of [
    'manifest.json',
    'versions.json',
    'config.yaml',
    'config.effective.json',
    'runtime.json',
    'health.json',
    'metrics.txt',
    'devices.json',
    'sqlite-integrity.json',
    'state-dir.json',
    'journal.txt',
  ]) {
    t.ok(f in files, `has ${f}`);
  }

  // no secret, anywhere
  const all = Object.values(files).join('\n');
  for (const p of passwords) t.notOk(all.includes(p), `no generated password (${p.slice(0, 3)}...)`);
  t.notOk(all.includes(hash), 'not the scrypt hash from the config');
  t.notOk(all.includes(pinHash.split('$').pop()!), "not the attendant PIN's hash");
  t.notMatch(all, /scrypt\$/, 'no scrypt hash at all');
  t.notOk(all.includes('uplink-password-in-config'), 'not the uplink password');
  t.notOk('credentials.json' in files, 'credentials.json itself is never packed');

  // what support needs is there
  const config = files['config.yaml']!;
  t.match(config, /id: lane-7/, 'the config');
  t.match(config, /uplink: "?\[redacted\]"?/, 'broker credentials redacted');
  t.match(config, /pinHash: "?\[redacted\]"?/, 'secrets are marked redacted, not dropped');

  // a hand-edited config (laned would refuse its unknown keys) given with --config: secrets in it are redacted too
  const edited = join(dir, 'edited.yaml');
  writeFileSync(
    edited,
    stringify({
      lane: { id: 'lane-7' },
      services: {
        probe: { enabled: false, password: 'Hunter2-service-secret', apiKey: 'sk-live-0123456789', token: 'tok-abcdef', note: 'visible-setting', extra: pem },
      },
    }),
  );
  const re = await lanectl(stateDir, ['diag', '--out', join(dir, 'edited.tar.gz'), '--config', edited, '--json']);
  t.equal(re.code, 0, re.err);
  t.match(
    (JSON.parse(re.out) as { notes: string[] }).notes.join('\n'),
    /edited\.yaml does not validate: .*\n {2}services\.probe\.password: unknown key/,
    'says why',
  );
  const editedFiles = (await unpack(join(dir, 'edited.tar.gz'), join(dir, 'y'))).files;
  const editedAll = Object.values(editedFiles).join('\n');
  t.notOk(editedAll.includes(pemBody), 'not a private key, whatever its key is called');
  for (const s of ['Hunter2-service-secret', 'sk-live-0123456789', 'tok-abcdef']) t.notOk(editedAll.includes(s), `not ${s}`);
  t.match(editedFiles['config.yaml'], /note: visible-setting/, 'settings that are not secrets stay');
  t.match(editedFiles['config.yaml'], /password: "?\[redacted\]"?/, 'secrets are marked redacted, not dropped');
  const effective = JSON.parse(files['config.effective.json']!) as { lane: { storeId: string }; http: { port: number } };
  t.equal(effective.lane.storeId, 'store-42', 'the effective config, defaults filled in');

  const versions = JSON.parse(files['versions.json']!) as Record<string, unknown> & { dependencies: Record<string, string> };
  t.equal(versions.node, process.versions.node);
  t.match(versions.laned, /^\d+\.\d+\.\d+/, 'the running laned version (runtime.json)');
  t.match(versions.sqlite, /^3\.\d+/);
  t.match(versions.dependencies, { aedes: /^\d/, sqlite3: /^\d/, serialport: /^\d/ }, 'dependency versions');

  t.match(files['journal.txt'], /^args: -u laned -n \d+ --no-pager/m, 'journalctl -u laned, when the tool is there');
  t.match(files['journal.txt'], /laned\[1\]: ready/, 'recent log lines');
  t.match(files['journal.txt'], /oops password \[redacted\]/, 'a password in a log line is scrubbed');

  const integrity = JSON.parse(files['sqlite-integrity.json']!) as Array<{
    file: string;
    ok?: boolean;
    result: string;
    quarantined: boolean;
    journalMode?: string;
  }>;
  const dbs = readdirSync(stateDir).filter((f) => f.endsWith('.db'));
  t.same(
    integrity
      .filter((x) => !x.quarantined)
      .map((x) => x.file)
      .sort(),
    dbs.sort(),
    'every database checked',
  );
  t.ok(
    integrity.filter((x) => !x.quarantined).every((x) => x.ok && x.result === 'ok' && x.journalMode === 'wal'),
    'all ok, in WAL mode',
  );
  const q = integrity.find((x) => x.quarantined);
  t.match(q, { file: 'basket.db.corrupt-2026-01-01T00-00-00-000Z', quarantined: true }, 'the moved-aside file is checked too');
  t.notOk(q?.ok, `and found bad: ${q?.result}`);

  const devices = JSON.parse(files['devices.json']!) as Array<{ name: string; state: string }>;
  t.equal(devices.length, 9, 'the device list');
  t.equal((JSON.parse(files['health.json']!) as { status: string }).status, 'ready', 'health');
  t.match(files['metrics.txt'], /^laned_broker_clients \d+$/m, 'metrics');
  const listing = JSON.parse(files['state-dir.json']!) as Array<{ name: string; sizeBytes: number }>;
  t.ok(
    listing.some((x) => x.name === 'credentials.json'),
    'the state directory is listed by name only',
  );

  // laned stopped: still a bundle, with what is missing noted, the config the unit
  // starts laned with (systemctl cat laned, as on a board) and the journal's lines
  t.equal(await d.kill('SIGTERM'), 0);
  writeFileSync(
    join(bin, 'systemctl'),
    `#!/bin/sh\n[ "$1 $2" = "cat laned" ] || exit 1\necho "# /etc/systemd/system/laned.service"\necho "[Service]"\necho "ExecStart=/usr/bin/node --max-semi-space-size=2 /opt/laned/dist/daemon/main.js --config ${cfg}"\n`,
    { mode: 0o755 },
  );
  const out2 = join(dir, 'stopped.tar.gz');
  const r2 = await lanectl(stateDir, ['diag', '--out', out2, '--json'], { env: { PATH: `${bin}:${process.env.PATH}` } });
  t.equal(r2.code, 0, 'a bundle even with laned stopped');
  const p2 = JSON.parse(r2.out) as { files: string[]; notes: string[] };
  t.match(p2.notes.join('\n'), /laned not running/);
  t.ok(p2.files.includes('sqlite-integrity.json') && p2.files.includes('versions.json'), 'what can be read without the daemon is there');
  t.notOk(p2.files.includes('health.json'), 'what needs it is not');
  const stopped = (await unpack(out2, join(dir, 'z'))).files;
  t.match(
    stopped['config.yaml'],
    new RegExp(`^# ${cfg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, secrets redacted`),
    "the unit's config, found from its ExecStart",
  );
  t.match(stopped['config.yaml'], /id: lane-7/);
  t.equal(JSON.parse(stopped['config.effective.json']!).lane.storeId, 'store-42', 'and checked');
  t.match(stopped['journal.txt'], /laned\[1\]: ready/, "the journal's last lines");
});
