import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { ServiceContext } from '../../daemon/runtime/service.js';
import type { Tx } from '../../daemon/store/store.js';
import { eventTopic } from '../../daemon/events/envelope.js';
import { doc, evt } from '../../broker/topics.js';
import { ROOT } from '../helpers/daemon.js';
import { commandSpecs, type CommandHandlers } from '../../daemon/runtime/runtime.js';
import { BASKET_COMMANDS } from '../../daemon/services/basket/commands.js';
import { PROBE_COMMANDS } from '../../daemon/services/probe/commands.js';

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

/** A command's handler receives its typed args and must return its typed result (daemon/services/<name>/commands.ts). */
export function commandContracts(): void {
  commandSpecs(PROBE_COMMANDS, {
    Emit: { handle: async (args) => ({ target: args.count }) },
    Progress: { handle: async () => ({ emitted: 1, target: 2 }) },
  });
  commandSpecs(PROBE_COMMANDS, {
    // @ts-expect-error a wrong result field: `target` is a number
    Emit: { handle: async () => ({ target: 'ten' }) },
    Progress: { handle: async () => ({ emitted: 1, target: 2 }) },
  });
  commandSpecs(PROBE_COMMANDS, {
    // @ts-expect-error a result without a required field (`target`)
    Progress: { handle: async () => ({ emitted: 1 }) },
    Emit: { handle: async (args) => ({ target: args.count }) },
  });
  commandSpecs(PROBE_COMMANDS, {
    // @ts-expect-error an args field that does not exist: Emit takes `count`
    Emit: { handle: async (args) => ({ target: args.counts }) },
    Progress: { handle: async () => ({ emitted: 1, target: 2 }) },
  });
  // @ts-expect-error a command without a handler (Progress)
  commandSpecs(PROBE_COMMANDS, { Emit: { handle: async (args) => ({ target: args.count }) } });
  commandSpecs(PROBE_COMMANDS, {
    Emit: { handle: async (args) => ({ target: args.count }) },
    Progress: { handle: async () => ({ emitted: 1, target: 2 }) },
    // @ts-expect-error a handler for a command the contract does not have
    Reset: { handle: async () => ({}) },
  });
  const basket: Pick<CommandHandlers<typeof BASKET_COMMANDS>, 'Cancel'> = {
    Cancel: { handle: async (args) => ({ txn: args?.reason ?? 'T-1', status: 'cancelled' as const }) },
  };
  // @ts-expect-error a wrong literal in a result: Cancel answers status `cancelled`
  basket.Cancel = { handle: async () => ({ txn: 'T-1', status: 'paid' as const }) };
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
