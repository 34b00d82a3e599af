/**
 * Scan -> doc/basket in a long basket against a short one, numbers only:
 * `npm run build && node dist/test/bench/basket-size.js` (part of `npm run bench`).
 *
 *  - 10-line baskets: 50 baskets of 10 scans, every scan measured (500)
 *  - a 1,000-line basket: scans 501 to 1,000 of one basket measured (500)
 *
 * Measured up to the moment a reader has the whole basket with the new line (the
 * summary doc/basket and its page, put together by BasketView). Target: the long
 * basket's p99 within 2x of the short one's. The lane runs in its own process.
 */
import { benchLane, fmt, pct } from './lane.js';
import { openBoardClock } from '../../daemon/events/clock.js';
import { newEventId, type Envelope } from '../../daemon/events/envelope.js';
import { BasketView, type Basket } from '../../daemon/services/basket/doc.js';

async function main(): Promise<void> {
  const { stateDir, daemon, connect } = await benchLane({
    catalog: { enabled: true, scanners: ['benchscan'], demo: true },
    basket: { enabled: true, produceScales: [] },
    weightcheck: { enabled: false },
  });
  const scanner = await connect('service', 'laned-benchscan');
  const docs = await connect('technician', 'bench-basket-docs');
  const tech = await connect('technician', 'bench-basket-tech');
  const view = new BasketView();
  let waiting: ((b: Basket) => void) | undefined;
  docs.on('message', (topic, payload) => {
    const b = view.take(topic.slice(4), payload.length ? JSON.parse(payload.toString()) : undefined);
    if (b) waiting?.(b);
  });
  await docs.subscribeAsync(['doc/basket', 'doc/basket/lines/+'], { qos: 1 });
  const clock = openBoardClock(stateDir);
  let seq = 0;
  const scan = async (): Promise<number> => {
    const ev: Envelope = {
      id: newEventId(),
      type: 'BarcodeScanned',
      v: 1,
      source: 'benchscan',
      seq: ++seq,
      at: clock.now(),
      time: new Date().toISOString(),
      data: { raw: '5449000000996', symbology: 'ean13', gtin: '05449000000996' },
    };
    const t0 = performance.now();
    const shown = new Promise<void>((resolve) => {
      waiting = (b) => {
        if (b.lines.at(-1)?.scan !== ev.id) return;
        waiting = undefined;
        resolve();
      };
    });
    scanner.publish('evt/benchscan/BarcodeScanned', JSON.stringify(ev), { qos: 1 });
    await shown;
    return performance.now() - t0;
  };
  const cancel = async (): Promise<void> => {
    const id = newEventId();
    const closed = new Promise<void>((resolve) => (waiting = (b) => b.status === 'idle' && resolve()));
    tech.publish('cmd/basket/Cancel', JSON.stringify({ id, args: { reason: 'bench' } }), { qos: 1 });
    await closed;
  };
  for (let i = 0; i < 20; i++) await scan(); // warm up
  await cancel();
  const short: number[] = [];
  for (let b = 0; b < 50; b++) {
    for (let i = 0; i < 10; i++) short.push(await scan());
    await cancel();
  }
  const long: number[] = [];
  for (let i = 1; i <= 1000; i++) {
    const ms = await scan();
    if (i > 500) long.push(ms);
  }
  await cancel();
  console.log(`scan -> whole doc/basket, 10-line baskets:           ${fmt(short)}`);
  console.log(`scan -> whole doc/basket, lines 501-1,000 of one basket: ${fmt(long)}`);
  console.log(`ratio of the p99s (long / short): ${(pct(long, 99) / pct(short, 99)).toFixed(2)}   target <= 2`);
  for (const c of [scanner, docs, tech]) c.end(true);
  await daemon.kill('SIGTERM');
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
