import t from 'tap';
import { join } from 'node:path';
import { Store } from '../../../daemon/store/store.js';
import { Outbox } from '../../../daemon/events/outbox.js';
import { createLogger } from '../../../daemon/core/log.js';
import { EventLogs, collectTrace, renderTree } from '../../../daemon/cli/commands/trace.js';
import { tempDir } from '../../helpers/daemon.js';

// lanectl trace reads the sources' outbox logs as files: every row is checked against
// its event's schema, and a row that is not a valid event is named and skipped.

t.test('a logged row that is not a valid event is skipped and named; the rest of the transaction is traced', async (t) => {
  const stateDir = tempDir();
  const store = await Store.open(join(stateDir, 'basket.db'));
  const clock = { epoch: 1, now: () => ({ epoch: 1, mono: process.hrtime.bigint().toString() }) };
  const log = createLogger({ level: 'error', destination: { write: () => true } as never });
  const outbox = new Outbox({ store, source: 'basket', clock, log, retention: 1000 });
  await outbox.init();
  const [started, added, broken] = await store.tx(async (tx) => {
    const s = await outbox.emit(tx, 'TransactionStarted', { txn: 'T-0001', lane: 'L1', currency: 'EUR' }, { txn: 'T-0001' });
    const meta = { txn: 'T-0001', corr: s.id, cause: s.id };
    const a = await outbox.emit(
      tx,
      'ItemAddedToBasket',
      { line: 'L1', gtin: '04006381333931', name: 'Cola', unit: 'each', quantity: 1, unitPrice: 129, price: 129, scan: s.id },
      meta,
    );
    const b = await outbox.emit(tx, 'QuantityChanged', { line: 'L1', from: 1, quantity: 2, price: 258 }, meta);
    return [s, a, b];
  });
  // a damaged row: its data no longer matches QuantityChanged
  await store.run(`UPDATE outbox SET payload = json_set(payload, '$.data.quantity', 'two') WHERE id = ?`, [broken.id]);
  await store.close();

  const logs = await EventLogs.open(stateDir);
  t.teardown(() => logs.close());
  const trace = await collectTrace(logs, 'T-0001');
  t.same(trace.events.map((e) => e.id).sort(), [started.id, added.id].sort(), 'the valid events of the transaction');
  t.equal(logs.unreadable.length, 1, 'one row skipped');
  t.match(logs.unreadable[0], `${join(stateDir, 'basket.db')}: event ${broken.id}: data/quantity`, 'named by file, event id and what is wrong');
  const lines = renderTree(trace.events);
  t.match(lines.join('\n'), /basket#\d+ TransactionStarted {2}T-0001 on L1/, 'the start, from its typed data');
  t.match(lines.join('\n'), /ItemAddedToBasket {2}L1 Cola x1 1\.29/, 'the item in the transaction currency');
});
