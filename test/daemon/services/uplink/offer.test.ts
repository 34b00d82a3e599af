/**
 * An update offer from store IT through the store broker reaches the lane's
 * updater (cmd/updater/Offer): the reply says what the updater answered, the
 * bundle is downloaded from store IT's server and staged in the inactive slot;
 * an offer the updater refuses (the version already running) is answered with
 * the updater's reason, and both are journaled with their sender; an offer outside
 * the updater's schema is refused at the uplink already.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { sha256File } from '../../../../daemon/updater/bundle.js';
import { readUpdaterState } from '../../../../daemon/updater/state-file.js';
import { bundle, keyPair, payloadTarball, slotsRoot } from '../../../helpers/bundle.js';
import { query, tempDir } from '../../../helpers/daemon.js';
import { until } from '../../../helpers/lane.js';
import { storeBroker } from '../../../helpers/store-broker.js';
import { startLaneFor, storeConsole } from './fixture.js';

const key = keyPair('store-2026');

t.test("store IT's update offer reaches the updater", async (t) => {
  const v2 = await bundle({ key, version: '0.2.0', payloadFile: await payloadTarball('0.2.0') });
  const body = readFileSync(v2);
  const http = createServer((req, res) => {
    if (req.url !== '/laned-0.2.0-x64.bundle') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': String(body.length) }).end(body);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  t.teardown(() => http.close());
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/laned-0.2.0-x64.bundle`;

  const keys = tempDir('uplink-keys-');
  writeFileSync(join(keys, 'store-2026.pub'), key.publicPem);
  const root = slotsRoot();
  // a maintenance window twelve hours away: the staged bundle waits in its slot, never switched to here
  const h = String((new Date().getHours() + 12) % 24).padStart(2, '0');
  const window = `${h}:00-${h}:01`;

  const b = await storeBroker('store-8', ['lane-2']);
  await b.start();
  t.teardown(() => b.stop());
  const lane = await startLaneFor(b, 'lane-2', {
    probe: false,
    config: { updater: { root, window, keys: [{ id: key.id, file: join(keys, 'store-2026.pub') }] } },
  });
  t.teardown(() => lane.kill('SIGKILL'));
  const prefix = 'store/store-8/lane/lane-2';
  const { it, send: sendTo } = await storeConsole(b, lane, prefix);
  t.teardown(() => it.end(true));
  const send = (cmd: { id: string; by: string; args: unknown }): Promise<Record<string, unknown>> => sendTo('Offer', cmd);
  const stateOf = () => readUpdaterState(join(root, 'updater.json')).state;

  const offer = { url, sha256: await sha256File(v2), size: body.length, version: '0.2.0', window };
  const taken = await send({ id: 'o-take', by: 'it-bob', args: offer });
  t.same(taken, { id: 'o-take', command: 'Offer', ok: true, result: { accepted: true }, time: taken.time }, `the updater took it: ${JSON.stringify(taken)}`);
  await until(() => stateOf().staged?.version === '0.2.0' && stateOf().state === 'staged', 60_000, 'the offered bundle staged');
  t.equal(JSON.parse(readFileSync(join(root, 'slots', 'b', 'package.json'), 'utf8')).version, '0.2.0', 'slot b holds the offered version');

  const running = await send({ id: 'o-running', by: 'it-bob', args: { ...offer, version: '0.1.0' } });
  t.equal(running.ok, false);
  t.match(running.error, /the updater refused the offer: .*0\.1\.0 is already running/, `refused by the updater: ${String(running.error)}`);

  // the updater's own schema at the store's door: what it would refuse, the uplink refuses before handing on
  const nightly = await send({ id: 'o-nightly', by: 'it-bob', args: { ...offer, version: 'nightly', channel: 'beta' } });
  t.equal(nightly.ok, false);
  t.match(nightly.error, /^args\/(version|channel)/, `refused by the offer's schema: ${String(nightly.error)}`);

  const journaled = await query<{ payload: string }>(
    join(lane.stateDir, 'uplink.db'),
    "SELECT payload FROM outbox WHERE type = 'StoreCommandApplied' ORDER BY seq",
  );
  t.same(
    journaled.map((r) => (JSON.parse(r.payload) as { data: { id: string; by: string; ok: boolean } }).data).map((e) => [e.id, e.by, e.ok]),
    [
      ['o-take', 'store:it-bob', true],
      ['o-running', 'store:it-bob', false],
    ],
    'both journaled with who sent them',
  );
});
