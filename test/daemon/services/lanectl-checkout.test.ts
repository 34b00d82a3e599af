import t from 'tap';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LANECTL, tempDir } from '../../helpers/daemon.js';
import { LaneSession } from '../../helpers/session.js';

// lanectl catalog / journal / trace against a lane in this process (the daemon
// writes runtime.json, lanectl finds its broker there), run as the real binary.

function lanectl(stateDir: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [LANECTL, '--state-dir', stateDir, ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr }),
    );
  });
}

t.test('lanectl catalog, journal and trace', async (t) => {
  const s = await LaneSession.open({ services: { payment: { enabled: true, terminal: { kind: 'simulated', delayMs: 50 } } } });
  t.teardown(() => s.close());
  const dir = tempDir();

  const l1 = await s.scanItem('5449000000996');
  const txn = l1.txn!;
  await s.bag(350);
  await s.pay();

  await t.test('journal: the list and one receipt', async (t) => {
    const list = await lanectl(s.stateDir, '--json', 'journal');
    t.equal(list.code, 0, list.err);
    t.same(
      (JSON.parse(list.out) as Array<{ txn: string; status: string; total: number }>).map((r) => [r.txn, r.status, r.total]),
      [[txn, 'completed', 99]],
    );
    const one = await lanectl(s.stateDir, 'journal', txn);
    t.equal(one.code, 0, one.err);
    t.match(one.out, new RegExp(`${txn}  completed`));
    t.match(one.out, /L1 +Cola, 0\.33 l can +1 x +0\.99/);
    t.match(one.out, /TOTAL +0\.99 EUR/);
    t.match(one.out, new RegExp(`payment ${txn}-P1: authorized auth [0-9]{6} card \\(simulated\\)`));
    const none = await lanectl(s.stateDir, 'journal', 'T-9999');
    t.equal(none.code, 65, 'no such transaction: EX_DATAERR, as for no such device');
    t.match(none.err, /no transaction T-9999 in the journal/);
  });

  await t.test('trace: from the scan to the receipt, by transaction and by event', async (t) => {
    const r = await lanectl(s.stateDir, 'trace', txn);
    t.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    t.match(lines[0], new RegExp(`^transaction ${txn}: \\d+ events`));
    const shape = lines.slice(1).map((l) => l.replace(/^([│├└─ ]*)(\S+)#\d+ (\S+).*$/, '$1$2 $3'));
    t.same(
      shape.slice(0, 4),
      ['scanner BarcodeScanned', '└─ catalog ScanResolved', '   ├─ basket TransactionStarted', '   └─ basket ItemAddedToBasket'],
      'the scan is the root, the item hangs from its resolution',
    );
    t.ok(
      shape.some((l) => /bagscale WeightHasChanged/.test(l)) && shape.some((l) => /└─ weightcheck WeightVerified/.test(l)),
      'the verdict hangs from the weight that caused it',
    );
    t.ok(shape.some((l) => /journal ReceiptRecorded/.test(l)));
    const byEvent = await lanectl(s.stateDir, '--json', 'trace', l1.id);
    t.equal(byEvent.code, 0, `trace by event id: ${byEvent.err}`);
    const parsed = JSON.parse(byEvent.out) as { focus: string; txn: string; events: unknown[] };
    t.same([parsed.focus, parsed.txn], [l1.id, txn]);
    const missing = await lanectl(s.stateDir, 'trace', 'T-nothing');
    t.equal(missing.code, 66, `no such transaction: ${missing.err}`);
  });

  await t.test('catalog: import with rejected rows, list, show, a bad file changes nothing', async (t) => {
    const csv = join(dir, 'products.csv');
    writeFileSync(
      csv,
      [
        'gtin;name;price;unit;weight_g;age_restricted;skip_bagging',
        '5449000000996;Cola can;105;each;350;;',
        '4006381333931;"Pen; yellow";129;each;12;;',
        '4006381333932;Bad check digit;100;each;;;',
        '2100000000258;Bananas;1.89;kg;;;',
        '2100000000197;Beer;89;each;850;16;',
      ].join('\r\n'),
    );
    const imp = await lanectl(s.stateDir, 'catalog', 'import', csv);
    t.equal(imp.code, 65, 'rejected rows: exit 65 (data error)');
    t.match(imp.out, /catalog 2: 3 products imported from .*products\.csv, 2 of 5 rows rejected/);
    t.match(imp.out, /row 4: gtin 4006381333932: check digit is wrong/);
    t.match(imp.out, /row 5: price must be a whole number \(minor units: 1\.29 is 129\), got "1\.89"/);
    const again = await lanectl(s.stateDir, '--json', 'catalog', 'import', csv);
    t.equal(again.code, 65, '--json: the same exit code');
    t.match(JSON.parse(again.out), { version: 3, imported: 3, rows: 5, rejected: 2, rejectedRows: [{ row: 4 }, { row: 5 }] }, 'and one JSON document');
    const list = await lanectl(s.stateDir, '--json', 'catalog', 'list');
    t.same(
      (JSON.parse(list.out) as { total: number; products: Array<{ name: string }> }).products.map((p) => p.name),
      ['Beer', 'Cola can', 'Pen; yellow'],
      'the new catalog replaced the demo one',
    );
    const show = await lanectl(s.stateDir, '--json', 'catalog', 'show', '5449000000996');
    t.same(JSON.parse(show.out), { gtin: '05449000000996', name: 'Cola can', price: 105, unit: 'each', weightG: 350, currency: 'EUR' });
    const strict = await lanectl(s.stateDir, 'catalog', 'import', csv, '--strict');
    t.equal(strict.code, 1, 'strict refuses a file with rejected rows');
    t.match(strict.err, /2 of 5 rows rejected and strict is set .*the catalog is unchanged/);
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'code,title\n123,x\n');
    const refused = await lanectl(s.stateDir, 'catalog', 'import', bad);
    t.equal(refused.code, 1);
    t.match(refused.err, /the header line has no "gtin" column .*the catalog is unchanged/);
    const after = await lanectl(s.stateDir, '--json', 'catalog', 'list');
    t.equal((JSON.parse(after.out) as { version: number; total: number }).total, 3, 'still the catalog of the good import');
    const gone = await lanectl(s.stateDir, 'catalog', 'import', join(dir, 'nope.csv'));
    t.equal(gone.code, 66);
    // The lane sells from the new catalog at once.
    const l = await s.scanItem('5449000000996');
    t.equal(l.data.price, 105, 'scanned at the imported price');
    await s.ok('basket', 'Cancel');
  });
});

t.test('amounts in the currency of the lane: a JPY lane has no minor unit, a BHD lane three digits', async (t) => {
  for (const [currency, printed] of [
    ['JPY', '99'],
    ['BHD', '0.099'],
  ] as const) {
    await t.test(currency, async (t) => {
      const s = await LaneSession.open({ lane: { currency }, services: { payment: { enabled: true, terminal: { kind: 'simulated', delayMs: 50 } } } });
      t.teardown(() => s.close());
      const l1 = await s.scanItem('5449000000996');
      const txn = l1.txn!;
      await s.bag(350);
      await s.pay();
      const amount = printed.replace('.', '\\.');
      const show = await lanectl(s.stateDir, 'catalog', 'show', '5449000000996');
      t.equal(show.code, 0, show.err);
      t.match(show.out, new RegExp(`Cola, 0\\.33 l can +${amount},`), 'catalog show');
      const list = await lanectl(s.stateDir, 'journal');
      t.match(list.out, new RegExp(`${txn} +completed +${amount} ${currency}`), 'journal list');
      const one = await lanectl(s.stateDir, 'journal', txn);
      t.match(one.out, new RegExp(`L1 +Cola, 0\\.33 l can +1 x +${amount}\\n`), 'receipt line');
      t.match(one.out, new RegExp(`TOTAL +${amount} ${currency}`), 'receipt total');
      const tr = await lanectl(s.stateDir, 'trace', txn);
      t.match(tr.out, new RegExp(`basket#\\d+ ItemAddedToBasket  L1 Cola, 0\\.33 l can x1 ${amount}  \\[`), 'trace: the item');
      t.match(tr.out, new RegExp(`basket#\\d+ TransactionCompleted  total ${amount}  \\[`), 'trace: the total');
    });
  }
});

t.test('a declined payment logs one line', async (t) => {
  const s = await LaneSession.open({ services: { payment: { enabled: true, terminal: { kind: 'simulated', delayMs: 50 } } } });
  t.teardown(() => s.close());
  await s.scanItem('5449000000996');
  await s.bag(350);
  await s.ok('payment', 'SimQueue', { outcomes: ['decline'] }, { as: 'technician' });
  const { payment, outcome } = await s.pay();
  t.equal(outcome.type, 'PaymentDeclined');
  const lines = s.lane!.logs.filter((l) => l.payment === payment && /declined/.test(String(l.msg)));
  t.equal(lines.length, 1, 'one line');
  t.match(lines[0], { level: 40, reason: 'declined', currency: 'EUR', amount: 99, msg: new RegExp(`^payment ${payment} of T-\\d+ declined`) });
});
