/**
 * store IT's commands over the store broker: a catalog update as a claim check
 * (downloaded, hash-checked, imported in one swap), refused with the old catalog
 * intact for a wrong sha256, a cut-short download and an oversized file; an update
 * offer refused while the lane runs no updater; the lane closed to a new shopper
 * and opened again, a message on the staff screen; a repeated id answered again,
 * not applied again; a malformed command answered with what is wrong.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import t from 'tap';
import { request } from '../../../../daemon/cli/client.js';
import { retainedDoc } from '../../../../daemon/cli/lane-doc.js';
import { query } from '../../../helpers/daemon.js';
import { ean13 } from '../../../helpers/lanectl.js';
import { until } from '../../../helpers/lane.js';
import { storeBroker } from '../../../helpers/store-broker.js';
import { startLaneFor, storeConsole } from './fixture.js';

const PEN = '04006381333931';
const COLA = '05449000000996';

function catalogFile(penPrice: number, colaPrice: number, filler: number): string {
  const products = [
    { gtin: PEN.slice(1), name: 'Highlighter pen, yellow', price: penPrice, weight_g: 12 },
    { gtin: COLA.slice(1), name: 'Cola, 0.33 l can', price: colaPrice, weight_g: 350 },
  ];
  for (let i = 0; i < filler; i++) products.push({ gtin: ean13(`40000${String(i).padStart(7, '0')}`), name: `Filler ${i}`, price: 100 + i, weight_g: 100 });
  return JSON.stringify({ products });
}

t.test('store IT commands', async (t) => {
  const good = catalogFile(555, 777, 3000);
  const big = catalogFile(1, 1, 6000);
  const files: Record<string, string> = { '/good.json': good, '/big.json': big };
  const http: Server = createServer((req, res) => {
    if (req.url === '/cut.json') {
      // promises the whole file, sends half of it and hangs up
      res.writeHead(200, { 'content-length': String(good.length) });
      res.write(good.slice(0, good.length / 2));
      setImmediate(() => res.destroy());
      return;
    }
    const body = files[req.url ?? ''];
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': String(Buffer.byteLength(body)) }).end(body);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  t.teardown(() => http.close());
  const base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

  const b = await storeBroker('store-6', ['lane-3']);
  await b.start();
  t.teardown(() => b.stop());
  const lane = await startLaneFor(b, 'lane-3', {
    probe: false,
    uplink: { maxCatalogBytes: Buffer.byteLength(good) + 1000 },
    services: { updater: { enabled: false } },
  });
  t.teardown(() => lane.kill('SIGKILL'));
  const prefix = 'store/store-6/lane/lane-3';
  const { it, send } = await storeConsole(b, lane, prefix);
  t.teardown(() => it.end(true));
  const price = async (gtin: string): Promise<number> => ((await request(lane.tech, 'catalog', 'Show', { gtin })) as { price: number }).price;

  t.equal(await price(PEN), 129, 'the demo catalog’s price to begin with');
  const claim = { url: `${base}/good.json`, sha256: sha(good), size: Buffer.byteLength(good), version: '2026-12-03.1' };

  const wrongHash = await send('Catalog', { id: 'c-hash', by: 'it-alice', args: { ...claim, sha256: sha('something else') } });
  t.equal(wrongHash.ok, false);
  t.match(wrongHash.error, /refused \(hash\).*catalog is unchanged/, `wrong sha256: ${String(wrongHash.error)}`);
  const cut = await send('Catalog', { id: 'c-cut', by: 'it-alice', args: { ...claim, url: `${base}/cut.json` } });
  t.equal(cut.ok, false);
  t.match(cut.error, /refused.*catalog is unchanged/, `cut short: ${String(cut.error)}`);
  const tooBig = await send('Catalog', {
    id: 'c-big',
    by: 'it-alice',
    args: { url: `${base}/big.json`, sha256: sha(big), size: Buffer.byteLength(big), version: 'big' },
  });
  t.match(tooBig.error, /over uplink\.maxCatalogBytes/, `claimed too big: ${String(tooBig.error)}`);
  const lies = await send('Catalog', { id: 'c-lies', by: 'it-alice', args: { url: `${base}/big.json`, sha256: sha(big), size: 5000, version: 'lies' } });
  t.equal(lies.ok, false);
  t.match(lies.error, /refused \(too-large\)/, `a server sending more than claimed: ${String(lies.error)}`);
  t.equal(await price(PEN), 129, 'after the refusals the old catalog is intact');

  // the good one, with scans going on while it imports
  const scans: Array<Promise<unknown>> = [];
  let importing = true;
  const scanning = (async () => {
    while (importing) {
      for (const code of [PEN.slice(1), COLA.slice(1)]) scans.push(request(lane.tech, 'sim', 'Scan', { code }).catch(() => undefined));
      await new Promise((r) => setImmediate(r));
      await scans[scans.length - 1];
    }
  })();
  const applied = await send('Catalog', { id: 'c-good', by: 'it-alice', args: claim });
  importing = false;
  await scanning;
  t.equal(applied.ok, true, `applied: ${JSON.stringify(applied)}`);
  t.equal(await price(PEN), 555, 'the new price');
  t.equal(await price(COLA), 777);
  await until(
    async () =>
      (await query<{ c: number }>(join(lane.stateDir, 'catalog.db'), "SELECT count(*) AS c FROM outbox WHERE type = 'ScanResolved'"))[0].c >= scans.length,
    30_000,
    'every scan resolved',
  );
  const resolved = await query<{ payload: string }>(join(lane.stateDir, 'catalog.db'), "SELECT payload FROM outbox WHERE type = 'ScanResolved' ORDER BY seq");
  const prices = resolved
    .map((r) => (JSON.parse(r.payload) as { data: { product?: { gtin: string; price: number } } }).data.product)
    .filter((p) => p && (p.gtin === PEN || p.gtin === COLA));
  const isNew = prices.map((p) => p!.price === 555 || p!.price === 777);
  const firstNew = isNew.indexOf(true);
  t.ok(firstNew >= 0, 'scans after the import see the new prices');
  t.notOk(isNew.slice(firstNew).includes(false), `no old price after the first new one (${prices.length} scans resolved, ${firstNew} with old prices)`);

  const importsNow = async (): Promise<number> =>
    (await query<{ c: number }>(join(lane.stateDir, 'catalog.db'), "SELECT count(*) AS c FROM outbox WHERE type = 'CatalogImported'"))[0].c;
  const before = await importsNow();
  const again = await send('Catalog', { id: 'c-good', by: 'it-alice', args: claim }, 2);
  t.same(again, applied, 'the same id gets the same answer');
  t.equal(await importsNow(), before, 'and is not imported twice');

  const offer = await send('Offer', { id: 'o-1', by: 'it-bob', args: { url: `${base}/bundle`, sha256: sha('b'), size: 10, version: '9.9.9' } });
  t.equal(offer.ok, false);
  t.match(offer.error, /runs no updater service/, `offer refused: ${String(offer.error)}`);

  // Close: a new shopper's scan is refused; Open: selling again; Message: on the staff screen (doc/lane)
  const basketEvents = async (type: string): Promise<number> =>
    (await query<{ c: number }>(join(lane.stateDir, 'basket.db'), 'SELECT count(*) AS c FROM outbox WHERE type = ?', [type]))[0].c;
  await request(lane.tech, 'basket', 'Cancel', {}).catch(() => undefined);
  const closed = await send('Close', { id: 'l-close', by: 'it-carol', args: { reason: 'inventory count' } });
  t.equal(closed.ok, true, `closed: ${JSON.stringify(closed)}`);
  const refusedBefore = await basketEvents('ScanRefused');
  await request(lane.tech, 'sim', 'Scan', { code: PEN.slice(1) });
  await until(async () => (await basketEvents('ScanRefused')) > refusedBefore, 30_000, 'the scan refused');
  const refusal = await query<{ payload: string }>(
    join(lane.stateDir, 'basket.db'),
    "SELECT payload FROM outbox WHERE type = 'ScanRefused' ORDER BY seq DESC LIMIT 1",
  );
  t.match(JSON.parse(refusal[0].payload), { data: { reason: 'lane-closed', detail: /store:it-carol: inventory count/ } }, 'a new shopper is refused');
  const opened = await send('Open', { id: 'l-open', by: 'it-carol', args: {} });
  t.match(opened, { ok: true, result: { open: true } });
  const startedBefore = await basketEvents('TransactionStarted');
  await request(lane.tech, 'sim', 'Scan', { code: PEN.slice(1) });
  await until(async () => (await basketEvents('TransactionStarted')) > startedBefore, 30_000, 'selling again');
  const message = await send('Message', { id: 'l-msg', by: 'it-carol', args: { text: 'Please restock the bags' } });
  t.equal(message.ok, true);
  let shown: { storeMessages?: Array<{ text: string; by: string }> } | undefined;
  for (let i = 0; i < 50 && !shown?.storeMessages; i++) shown = await retainedDoc(lane.tech, 'lane', 2000);
  t.match(shown?.storeMessages, [{ text: 'Please restock the bags', by: 'store:it-carol' }], 'the message in doc/lane');

  const bad = await send('Catalog', { id: 'c-bad', by: 'it-alice', args: { url: 'ftp://x', sha256: 'nope' } });
  t.equal(bad.ok, false);
  t.match(bad.error, /^args\//, `schema-checked: ${String(bad.error)}`);
  const unknown = await send('Reboot', { id: 'r-1', by: 'it-mallory' });
  t.match(unknown.error, /unknown command Reboot/);

  const journaled = await query<{ payload: string }>(
    join(lane.stateDir, 'uplink.db'),
    "SELECT payload FROM outbox WHERE type = 'StoreCommandApplied' ORDER BY seq",
  );
  const entries = journaled.map((r) => (JSON.parse(r.payload) as { data: { id: string; by: string; ok: boolean } }).data);
  t.same(
    entries.map((e) => [e.id, e.by, e.ok]),
    [
      ['c-hash', 'store:it-alice', false],
      ['c-cut', 'store:it-alice', false],
      ['c-big', 'store:it-alice', false],
      ['c-lies', 'store:it-alice', false],
      ['c-good', 'store:it-alice', true],
      ['o-1', 'store:it-bob', false],
      ['l-close', 'store:it-carol', true],
      ['l-open', 'store:it-carol', true],
      ['l-msg', 'store:it-carol', true],
    ],
    'each applied or refused command is journaled with who sent it',
  );
});
