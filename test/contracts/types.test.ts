import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { ServiceContext } from '../../daemon/runtime/service.js';
import type { Tx } from '../../daemon/store/store.js';
import { eventTopic } from '../../daemon/events/envelope.js';
import { doc, evt } from '../../broker/topics.js';
import { ROOT } from '../helpers/daemon.js';

// The contracts are checked by the compiler: each `@ts-expect-error` below marks a
// line tsc must refuse (it fails the build when the line compiles). `npm run build`
// (tsc -b) compiles this file with the rest; the test runs tsc on it once more.

/** Never called: it only has to compile. */
export async function contracts(ctx: ServiceContext, tx: Tx): Promise<void> {
  await ctx.emit(tx, 'ItemRemovalRejected', { line: 'L1' });
  // @ts-expect-error a wrong event payload: `line` is a string
  await ctx.emit(tx, 'ItemRemovalRejected', { line: 1 });
  // @ts-expect-error an event type that does not exist
  await ctx.emit(tx, 'ItemRemovalRejectedd', { line: 'L1' });

  ctx.publishDoc('bagging', { txn: null, state: 'idle' });
  // @ts-expect-error a wrong document field: `state` is one of idle, ok, waiting, alarm, unavailable
  ctx.publishDoc('bagging', { txn: null, state: 'sleeping' });
  // @ts-expect-error a document field that does not exist
  ctx.publishDoc('bagging', { txn: null, state: 'idle', colour: 'red' });

  doc('basket/lines/3');
  // @ts-expect-error an unknown topic builder argument: no such document
  doc('baskets');
  eventTopic('basket', 'ItemAddedToBasket');
  // @ts-expect-error an unknown topic builder argument: no such event type
  eventTopic('basket', 'ItemAdded');
}

/** A handler receives the union of events, narrowed by `type`. */
export function narrowed(ev: Parameters<NonNullable<import('../../daemon/runtime/service.js').ServiceLogic['onEvent']>>[0]): number {
  if (ev.type === 'ItemAddedToBasket') return ev.data.quantity;
  // @ts-expect-error `quantity` is not in every event's data
  return ev.data.quantity;
}

t.test('tsc accepts the file: every @ts-expect-error line is refused', async (t) => {
  const out = await new Promise<{ code: number; text: string }>((resolve) =>
    execFile(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', join(ROOT, 'tsconfig.json')],
      { cwd: ROOT, timeout: 240_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, text: `${stdout}${stderr}` }),
    ),
  );
  t.equal(out.code, 0, out.text);
  t.equal(evt('basket', 'X'), 'evt/basket/X', 'the builders build what they name');
});
