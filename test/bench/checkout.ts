/**
 * Checkout benchmark, numbers only: `npm run build && node dist/test/bench/checkout.js`.
 *
 *  - catalog: import of 100,000 products, then a GTIN lookup as the catalog does it (targets: < 1 ms)
 *  - scan -> ItemAddedToBasket -> doc/basket through the broker, p50/p99 over 1,000 scans in baskets of 50 (target p99 < 15 ms)
 *  - stable weight -> verdict through the broker, p50/p99 (target p99 < 15 ms)
 *
 * Scans and weights come from sources the bench publishes for (like the drivers do),
 * so the numbers are the services' and the broker's, not the simulated serial line's.
 * The lane runs as its own process with the bin's settings; this one only publishes and listens.
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { Store } from '../../daemon/store/store.js';
import { benchEvents, benchLane, fmt } from './lane.js';
import { newEventId, type Envelope } from '../../daemon/events/envelope.js';
import { gs1CheckDigit } from '../../drivers/barcode/gtin.js';
import { BasketView, type Basket } from '../../daemon/services/basket/doc.js';
import type { MqttClient } from 'mqtt';
import type { Json } from '../helpers/json.js';

/** Resolves at the first message on `client` that `match`es, recording ms since `start` into `into`. */
function firstMatch(client: MqttClient, match: (payload: Buffer) => boolean, start: number, into: number[]): Promise<void> {
  return new Promise((resolve) => {
    const on = (_t: string, p: Buffer): void => {
      if (!match(p)) return;
      client.off('message', on);
      into.push(performance.now() - start);
      resolve();
    };
    client.on('message', on);
  });
}

/** Scans (and weights) measured: 1,000 make a p99 of the 10 slowest, not of 3. */
const N = Number(process.env.BENCH_N ?? 1000);

const gtin = (i: number): string => {
  const body = `20${String(i).padStart(10, '0')}`;
  return body + gs1CheckDigit(body);
};

async function main(): Promise<void> {
  // The daemon as the bin runs it (its own process, the bin's node flags); this process only talks to it.
  const { dir, stateDir, daemon, connect } = await benchLane({
    catalog: { enabled: true, scanners: ['benchscan'], demo: false },
    basket: { enabled: true, produceScales: [] },
    weightcheck: { enabled: true, baggingScales: ['benchbag'], notBaggedTimeoutMs: 600_000 },
    payment: { enabled: true, terminal: { kind: 'simulated', delayMs: 1 } },
  });
  const tech = await connect('technician', 'bench-tech');
  const request = (target: string, cmd: string, args: unknown) =>
    new Promise<Json>((resolve) => {
      const id = newEventId();
      const replyTo = `reply/bench-tech/${id}`;
      const on = (t: string, p: Buffer): void => {
        if (t !== replyTo) return;
        tech.off('message', on);
        resolve(JSON.parse(p.toString()));
      };
      tech.on('message', on);
      tech.subscribe(replyTo, { qos: 1 }, () => tech.publish(`cmd/${target}/${cmd}`, JSON.stringify({ id, args, replyTo }), { qos: 1 }));
    });

  // Catalog: 100,000 products.
  const csv = join(dir, 'catalog.csv');
  const rows = ['gtin,name,price,weight_g'];
  for (let i = 1; i <= 100_000; i++) rows.push(`${gtin(i)},Product ${i},${100 + (i % 900)},${2 * (50 + (i % 500))}`);
  writeFileSync(csv, rows.join('\n'));
  let t0 = performance.now();
  const imported = await request('catalog', 'Import', { path: csv });
  console.log(`catalog import: ${imported.result?.imported} products in ${(performance.now() - t0).toFixed(0)} ms`);
  const store = await Store.open(join(stateDir, 'catalog.db'));
  const lookups: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const g = `0${gtin(1 + Math.floor(Math.random() * 100_000))}`;
    t0 = performance.now();
    await store.get('SELECT gtin, name, price, unit, weight_g FROM catalog_products WHERE gtin = ?', [g]);
    lookups.push(performance.now() - t0);
  }
  await store.close();
  console.log(`catalog lookup (SQLite primary key, 100,000 products): ${fmt(lookups)}`);

  // Scan -> ItemAddedToBasket -> doc/basket; weight -> verdict. One filter per client.
  const scanner = await connect('service', 'laned-benchscan');
  const bag = await connect('service', 'laned-benchbag');
  const items = await connect('technician', 'bench-items');
  const docs = await connect('technician', 'bench-docs');
  const verdicts = await connect('technician', 'bench-verdicts');
  const resolved = await connect('technician', 'bench-resolved');
  await new Promise((r) => resolved.subscribe('evt/catalog/ScanResolved', { qos: 1 }, r));
  await new Promise((r) => items.subscribe('evt/basket/ItemAddedToBasket', { qos: 1 }, r));
  // doc/basket and its pages of lines, put together as a reader does
  const view = new BasketView();
  let onBasket: ((b: Basket) => void) | undefined;
  docs.on('message', (topic, payload) => {
    const b = view.take(topic.slice(4), payload.length ? JSON.parse(payload.toString()) : undefined);
    if (b) onBasket?.(b);
  });
  await new Promise((r) => docs.subscribe(['doc/basket', 'doc/basket/lines/+'], { qos: 1 }, r));
  await new Promise((r) => verdicts.subscribe('evt/weightcheck/+', { qos: 1 }, r));
  const event = benchEvents(stateDir);
  let grams = 0;
  const toItem: number[] = [];
  const toDoc: number[] = [];
  const toVerdict: number[] = [];
  const toResolved: number[] = [];
  for (let i = 0; i < N; i++) {
    const code = gtin(1 + (i % 100_000));
    const scan = event('benchscan', 'BarcodeScanned', { raw: code, symbology: 'ean13', gtin: `0${code}` });
    const start = performance.now();
    const gotItem = firstMatch(items, (p) => (JSON.parse(p.toString()) as Envelope<{ scan: string }>).data.scan === scan.id, start, toItem);
    const gotDoc = new Promise<void>((resolve) => {
      onBasket = (b) => {
        if (!b.lines.some((l) => l.scan === scan.id)) return;
        onBasket = undefined;
        toDoc.push(performance.now() - start);
        resolve();
      };
    });
    const gotResolved = firstMatch(resolved, (p) => (JSON.parse(p.toString()) as Envelope<{ scan: string }>).data.scan === scan.id, start, toResolved);
    scanner.publish('evt/benchscan/BarcodeScanned', JSON.stringify(scan), { qos: 1 });
    await Promise.all([gotItem, gotDoc, gotResolved]);
    // Bag it: the stable weight of the item's catalog weight.
    const g = 2 * (50 + ((1 + (i % 100_000)) % 500));
    grams += g;
    const w = event('benchbag', 'WeightHasChanged', { grams, delta: g, stable: true, division: 2 });
    const gotVerdict = firstMatch(
      verdicts,
      (p) => (JSON.parse(p.toString()) as Envelope<{ key?: string }>).data.key === `w:${w.id}`,
      performance.now(),
      toVerdict,
    );
    bag.publish('evt/benchbag/WeightHasChanged', JSON.stringify(w), { qos: 1 });
    await gotVerdict;
    if ((i + 1) % 50 === 0) {
      await request('basket', 'Cancel', { reason: 'bench' });
      grams = 0;
      const reset = event('benchbag', 'WeightHasChanged', { grams: 0, delta: 0, stable: true, division: 2 });
      bag.publish('evt/benchbag/WeightHasChanged', JSON.stringify(reset), { qos: 1 });
    }
  }
  console.log(`scan -> ScanResolved:      ${fmt(toResolved)}`);
  console.log(`scan -> ItemAddedToBasket: ${fmt(toItem)}`);
  console.log(`scan -> doc/basket:         ${fmt(toDoc)}`);
  console.log(`stable weight -> verdict:   ${fmt(toVerdict)}`);
  for (const c of [tech, scanner, bag, items, docs, verdicts, resolved]) c.end(true);
  await daemon.kill('SIGTERM');
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
