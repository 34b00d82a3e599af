import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFileSync, existsSync, readdirSync, readFileSync, readlinkSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectTechnician, request } from '../../daemon/cli/client.js';
import { readUpdaterState } from '../../daemon/updater/state-file.js';
import { sha256File } from '../../daemon/updater/bundle.js';
import { bundle, keyPair, payloadTarball, slotsRoot } from '../helpers/bundle.js';
import { startDaemon, tempDir, writeConfig } from '../helpers/daemon.js';
import { until } from '../helpers/lane.js';
import { lanectl } from '../helpers/lanectl.js';

// The three ways a bundle reaches a running laned, each checked by the same code:
// `lanectl update apply FILE`, a file dropped into <state>/updates/inbox/, and an
// offer on cmd/updater/Offer downloaded (with resume) from a server on 127.0.0.1.

const key = keyPair('store-2026');

t.test('apply, inbox and offer on a running lane', async (t) => {
  const dir = tempDir();
  const state = join(dir, 'state');
  const root = slotsRoot();
  writeFileSync(join(dir, 'store-2026.pub'), key.publicPem);
  // a maintenance window twelve hours away: what is staged here stays staged, never switched to mid-test
  const h = String((new Date().getHours() + 12) % 24).padStart(2, '0');
  const window = `${h}:00-${h}:01`;
  const config = writeConfig(dir, { updater: { root, window, keys: [{ id: key.id, file: 'store-2026.pub' }] } });
  const d = await startDaemon({ configFile: config, stateDir: state });
  t.teardown(() => d.kill());
  const stateOf = () => readUpdaterState(join(root, 'updater.json')).state;

  // --- lanectl update apply ---
  const v2 = await bundle({ key, version: '0.2.0', payloadFile: await payloadTarball('0.2.0') });
  const applied = await lanectl(state, ['update', 'apply', v2], { timeoutMs: 60_000 });
  t.equal(applied.code, 0, applied.err);
  t.match(applied.out, /0\.2\.0 staged in slot b/);
  t.equal(JSON.parse(readFileSync(join(root, 'slots', 'b', 'package.json'), 'utf8')).version, '0.2.0');
  t.equal(readlinkSync(join(root, 'current')), 'slots/a', 'not switched: that waits for the maintenance window');
  t.equal(stateOf().state, 'staged');

  const stranger = keyPair('stranger');
  const bad = await bundle({ key: stranger, version: '0.2.1', payloadFile: await payloadTarball('0.2.1') });
  const refused = await lanectl(state, ['update', 'apply', bad], { timeoutMs: 60_000 });
  t.equal(refused.code, 1, 'refused');
  t.match(refused.err, /refused \(unknown-key\): signed with key "stranger", which this lane does not trust/);
  t.match(stateOf().reason, /stranger/, 'the state names the reason');

  const missing = await lanectl(state, ['update', 'apply', join(dir, 'nope.bundle')]);
  t.equal(missing.code, 66, 'no such file: EX_NOINPUT');

  // --- the inbox ---
  const inbox = join(state, 'updates', 'inbox');
  await until(() => existsSync(inbox), 10_000, 'the inbox folder');
  const v3 = await bundle({ key, version: '0.3.0', payloadFile: await payloadTarball('0.3.0') });
  // copied under a dot name, then renamed: the way scp -p or a careful technician drops it
  copyFileSync(v3, join(inbox, '.laned-0.3.0-x64.bundle.part'));
  renameSync(join(inbox, '.laned-0.3.0-x64.bundle.part'), join(inbox, 'laned-0.3.0-x64.bundle'));
  await until(() => stateOf().staged?.version === '0.3.0', 30_000, 'the inbox bundle staged');
  t.equal(JSON.parse(readFileSync(join(root, 'slots', 'b', 'package.json'), 'utf8')).version, '0.3.0');
  await until(() => readdirSync(inbox).length === 0, 10_000, 'the inbox emptied');
  const done = readdirSync(join(state, 'updates', 'done'));
  t.match(done, [/laned-0\.3\.0-x64\.bundle$/], 'moved to updates/done');

  writeFileSync(join(inbox, 'garbage.bundle'), randomBytes(3000));
  await until(
    () => existsSync(join(state, 'updates', 'refused')) && readdirSync(join(state, 'updates', 'refused')).length === 2,
    30_000,
    'the garbage refused',
  );
  const refusedFiles = readdirSync(join(state, 'updates', 'refused')).sort();
  t.match(refusedFiles, [/garbage\.bundle$/, /garbage\.bundle\.reason$/]);
  t.match(readFileSync(join(state, 'updates', 'refused', refusedFiles[1]!), 'utf8'), /not a valid tar|truncated|bad-bundle|manifest/i, 'the reason beside it');
  t.equal(JSON.parse(readFileSync(join(root, 'slots', 'b', 'package.json'), 'utf8')).version, '0.3.0', 'slot b still holds the staged 0.3.0');

  // --- an offer from store IT, downloaded with a cut midway ---
  const files: Record<string, string> = {};
  for (let i = 0; i < 4; i++) files[`node_modules/m${i}/index.js`] = randomBytes(64 * 1024).toString('base64');
  const v4 = await bundle({ key, version: '0.4.0', payloadFile: await payloadTarball('0.4.0', files) });
  const body = readFileSync(v4);
  const ranges: Array<string | undefined> = [];
  const part = join(state, 'updates', 'download', `${await sha256File(v4)}.bundle.part`);
  const server = createServer((req, res) => {
    ranges.push(req.headers.range);
    const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
    const headers = { etag: '"b4"', 'content-length': String(body.length - from) };
    if (from > 0) res.writeHead(206, { ...headers, 'content-range': `bytes ${from}-${body.length - 1}/${body.length}` });
    else res.writeHead(200, headers);
    if (ranges.length > 1) return res.end(body.subarray(from));
    // the first answer stops after 100 kB, once the lane has them on disk
    res.write(body.subarray(0, 100_000));
    void until(() => existsSync(part) && statSync(part).size >= 100_000, 20_000, 'the first 100 kB on disk').then(() => res.socket?.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/laned-0.4.0-x64.bundle`;
  const client = await connectTechnician(state);
  t.teardown(() => client.end(true));
  const offer = { url, sha256: await sha256File(v4), size: body.length, version: '0.4.0', window };
  t.same(await request(client, 'updater', 'Offer', offer), { accepted: true });
  await until(() => stateOf().staged?.version === '0.4.0' && stateOf().state === 'staged', 60_000, 'the offered bundle staged');
  t.same(ranges, [undefined, 'bytes=100000-'], 'the second request resumed from the byte the lane had');
  t.equal(JSON.parse(readFileSync(join(root, 'slots', 'b', 'package.json'), 'utf8')).version, '0.4.0');
  await until(() => readdirSync(join(state, 'updates', 'download')).length === 0, 10_000, 'the download removed once staged');
  t.same(readdirSync(join(state, 'updates', 'download')), [], 'the download is removed once staged');

  await t.rejects(request(client, 'updater', 'Offer', { ...offer, sha256: 'nothex' }), /sha256/, 'a malformed offer is refused, naming the field');
  await t.rejects(request(client, 'updater', 'Offer', { ...offer, version: '0.1.0' }), /0\.1\.0 is already running/);
});
