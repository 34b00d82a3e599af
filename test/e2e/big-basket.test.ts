import t from 'tap';
import { spawn, execFile } from 'node:child_process';
import { join } from 'node:path';
import { startKiosk } from './helpers/kiosk.js';
import { query } from '../helpers/daemon.js';
import { lanectl } from '../helpers/lanectl.js';
import { Credentials } from '../../broker/credentials.js';

// A shopper buying for a restaurant: 1,000 scans into one basket through the
// simulated lane (scanner twin -> scanner driver -> catalog -> basket), with the
// touch UI open. Every document stays within events.maxPayloadBytes, the basket
// service keeps its broker connection, the screen shows the last line and the
// total, and the payment completes.

const SCANS = 1000;
const BATCH = 50;
const MAX_PAYLOAD = 65_536; // events.maxPayloadBytes, the default
const PRODUCTS = [
  { code: '5449000000996', price: 99 },
  { code: '4006381333931', price: 129 },
  { code: '2100000000029', price: 229 },
  { code: '2100000000036', price: 149 },
  { code: '2100000000067', price: 119 },
];

t.test('a basket of 1,000 lines', async (t) => {
  // Bagging 1,000 items is not under test here: the lane runs without its weight check.
  const k = await startKiosk({ services: { weightcheck: { enabled: false } } });
  t.teardown(() => k.close());
  const { page, tech, daemon } = k;
  page.setDefaultTimeout(60_000);
  const password = Credentials.readGenerated(k.stateDir).technician!;
  const sub = (args: string[]) => {
    const p = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(daemon.brokerPort), '-u', 'technician', '-P', password, ...args]);
    t.teardown(() => p.kill('SIGKILL'));
    let out = '';
    p.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    return { out: () => out };
  };
  // every document's topic and size; the basket service's birth and will
  const docs = sub(['-t', 'doc/#', '-F', '%t %l']);
  const state = sub(['-t', 'svc/basket/state', '-F', '%t %p']);
  await tech.until(() => tech.basket?.status === 'idle', 'an idle basket');
  await page.locator('[data-testid="start"]').tap();
  await page.locator('main[data-screen="scan"]').waitFor();

  let total = 0;
  for (let sent = 0; sent < SCANS;) {
    const batch = Math.min(BATCH, SCANS - sent);
    for (let i = 0; i < batch; i++) {
      const p = PRODUCTS[(sent + i) % PRODUCTS.length]!;
      total += p.price;
      await tech.sim('Scan', { code: p.code });
    }
    sent += batch;
    await tech.until(() => (tech.basket?.lines.length ?? 0) >= sent, `${sent} lines in doc/basket`, 60_000);
  }
  const basket = await tech.until(() => tech.basket?.lines.length === SCANS && tech.basket, 'the whole basket');
  t.equal(basket.lineCount, SCANS, 'doc/basket counts 1,000 lines');
  t.equal(basket.lines.at(-1)!.line, `L${SCANS}`, 'the last line is L1000');
  t.equal(basket.total, total, `doc/basket totals ${total}`);
  t.same(
    basket.lines.map((l) => l.line),
    Array.from({ length: SCANS }, (_, i) => `L${i + 1}`),
    'every line once, in order, across the pages',
  );

  const [added] = await query<{ c: number; unsent: number }>(
    join(k.stateDir, 'basket.db'),
    "SELECT count(*) AS c, sum(sent = 0) AS unsent FROM outbox WHERE type = 'ItemAddedToBasket'",
  );
  t.equal(added!.c, SCANS, 'one ItemAddedToBasket per scan');
  const [lines] = await query<{ c: number }>(join(k.stateDir, 'basket.db'), 'SELECT count(*) AS c FROM basket_lines WHERE txn = ? AND removed = 0', [
    basket.txn,
  ]);
  t.equal(lines!.c, SCANS, 'the basket service applied every one');

  // the screen: the last line and the total
  await page.locator(`[data-testid="basket-line"][data-line="L${SCANS}"]`).waitFor();
  t.equal(await page.locator('[data-testid="basket-line"]').count(), SCANS, 'the screen lists 1,000 lines');
  t.equal(await page.locator('[data-testid="total"]').getAttribute('data-total'), String(total), 'the screen shows the total');

  // pay on the screen
  await page.locator('[data-testid="pay"]').tap();
  await page.locator('main[data-screen="receipt"]').waitFor();
  const done = await tech.until(() => tech.basket?.status === 'idle' && tech.basket.last?.txn === basket.txn && tech.basket, 'the transaction closed');
  t.same(done.last, { txn: basket.txn, status: 'completed', total }, 'paid in full');
  const [journal] = await query<{ status: string; total: number }>(join(k.stateDir, 'journal.db'), 'SELECT status, total FROM journal_receipts WHERE txn = ?', [
    basket.txn,
  ]);
  t.same(journal, { status: 'completed', total }, 'the journal has the receipt');
  // the receipt screen's card line comes from journal/Show, whose reply is one page of the receipt
  await page.locator('[data-testid="receipt-auth"]').waitFor();
  // lanectl reads the whole receipt, page by page
  const shown = await lanectl(k.stateDir, ['journal', String(basket.txn), '--json']);
  t.equal(shown.code, 0, `lanectl journal ${basket.txn}: ${shown.err}`);
  const receipt = JSON.parse(shown.out) as { lines: Array<{ line: string }>; total: number };
  t.same(
    receipt.lines.map((l) => l.line),
    Array.from({ length: SCANS }, (_, i) => `L${i + 1}`),
    'lanectl journal shows all 1,000 lines',
  );
  t.equal(receipt.total, total, 'and the total');

  // every document the broker delivered was within the limit, and none was refused
  const sizes = docs
    .out()
    .trim()
    .split('\n')
    .map((l) => l.split(' '))
    .map(([topic, size]) => ({ topic: topic!, size: Number(size) }));
  const pagesSeen = new Set(sizes.filter((s) => s.topic.startsWith('doc/basket/lines/')).map((s) => s.topic));
  t.ok(sizes.filter((s) => s.topic === 'doc/basket').length > SCANS, `doc/basket went out after every scan (${sizes.length} documents seen)`);
  t.ok(pagesSeen.size >= 2, `the lines went out in ${pagesSeen.size} pages`);
  const biggest = sizes.reduce((a, s) => (s.size > a.size ? s : a));
  t.ok(biggest.size <= MAX_PAYLOAD, `the biggest document, ${biggest.topic}, has ${biggest.size} bytes (limit ${MAX_PAYLOAD})`);
  const metrics = await (await fetch(`${daemon.httpUrl}/metrics`)).text();
  t.notMatch(
    metrics,
    /laned_broker_refused_total\{reason="payload-size"\} [1-9]/,
    `the broker refused no publish for its size ${daemon.lines.filter((l) => /refused publish/.test(l)).join('\n')}`,
  );
  t.notMatch(metrics, /laned_docs_refused_total\{[^}]*\} [1-9]/, 'no service held back a document over the limit');

  // the basket service was connected throughout: one birth, no will
  const states = state.out().trim().split('\n');
  t.notOk(
    states.some((l) => /"state":"offline"/.test(l)),
    `svc/basket/state never said offline: ${states.join(' | ')}`,
  );
  t.notOk(
    daemon.lines.some((l) => /services\/basket/.test(l) && /broker connection lost/.test(l)),
    'the basket service never lost its broker connection',
  );
  const health = (await (await fetch(`${daemon.httpUrl}/healthz`)).json()) as { services: Array<{ name: string; connected: boolean }> };
  t.equal(health.services.find((s) => s.name === 'basket')?.connected, true, 'and is connected now');

  // the closed transaction's pages are removed from the broker
  const left = await new Promise<string>((resolve) =>
    execFile(
      'mosquitto_sub',
      ['-h', '127.0.0.1', '-p', String(daemon.brokerPort), '-u', 'technician', '-P', password, '-t', 'doc/basket/lines/+', '-v', '-W', '2'],
      (_err, stdout) => resolve(stdout),
    ),
  );
  t.equal(left, '', 'no retained page of lines is left after the payment');
});
