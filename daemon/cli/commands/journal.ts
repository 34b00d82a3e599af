import { CliError, EXIT, request } from '../client.js';
import { print, withTechnician, type CliCommand } from '../context.js';
import { money } from '../money.js';
import { wholeReceipt, type Receipt, type ReceiptPage } from '../../services/journal/service.js';

export function formatReceipt(r: Receipt): string {
  const out = [`${r.txn}  ${r.status}  ${r.started ?? ''} .. ${r.closed ?? ''}  lane ${r.lane ?? '?'}`];
  for (const l of r.lines) {
    const qty = l.unit === 'kg' && l.grams !== undefined ? `${(l.grams / 1000).toFixed(3)} kg` : `${l.quantity} x`;
    out.push(
      `  ${l.line.padEnd(5)} ${l.name.padEnd(40)} ${qty.padStart(10)} ${money(l.price, r.currency).padStart(9)}${l.label ? `  (${l.label} label)` : ''}`,
    );
  }
  for (const x of r.removed) out.push(`  ${x.line.padEnd(5)} ${x.name.padEnd(40)} removed (${x.reason}${x.by ? `, ${x.by}` : ''})`);
  out.push(`  ${'TOTAL'.padEnd(57)} ${money(r.total, r.currency).padStart(9)} ${r.currency ?? ''}`);
  for (const p of r.payments)
    out.push(
      `  payment ${p.payment}: ${p.outcome}${p.reason ? ` (${p.reason})` : ''}${p.authCode ? ` auth ${p.authCode}` : ''}${p.method ? ` ${p.method}` : ''}`,
    );
  for (const i of r.interventions) out.push(`  intervention ${i.intervention} ${i.kind}: ${i.reason} -> ${i.resolution ?? 'open'}${i.by ? ` by ${i.by}` : ''}`);
  for (const o of r.overrides) out.push(`  override ${o.intervention} ${o.action} by ${o.by} (${o.method}) at ${o.time}${o.reason ? `: ${o.reason}` : ''}`);
  if (r.cancelReason) out.push(`  cancelled: ${r.cancelReason}`);
  return out.join('\n');
}

/** `lanectl journal [TXN]`: recent receipts, one receipt, or the override journal. */
export const journal: CliCommand = {
  usage: '[TXN | overrides] [--count N]',
  help: 'receipts of completed/cancelled transactions; overrides with who, when, why',
  async run(ctx) {
    const [arg] = ctx.args;
    const limit = ctx.flags.count ? Number(ctx.flags.count) : 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliError('--count must be 1..1000', EXIT.usage);
    if (arg === 'overrides') {
      const rows = (await withTechnician(ctx, (c) => request(c, 'journal', 'Overrides', { limit }))) as Array<
        Record<string, string | number | boolean | null | undefined>
      >;
      print(ctx, rows, () =>
        rows.length
          ? rows
              .map(
                (o) =>
                  `${String(o.time)}  ${String(o.type).padEnd(20)} ${String(o.txn ?? '-').padEnd(8)} ${String(o.by ?? (o.on === undefined ? '' : `key ${o.on ? 'on' : 'off'}`))}  ${String(o.action ?? o.reason ?? '')} ${o.intervention ? String(o.intervention) : ''}`,
              )
              .join('\n')
          : 'no overrides',
      );
      return;
    }
    if (arg) {
      const r = await withTechnician(ctx, (c) => wholeReceipt(async (from) => (await request(c, 'journal', 'Show', { txn: arg, from })) as ReceiptPage));
      print(ctx, r, () => formatReceipt(r));
      return;
    }
    const rows = (await withTechnician(ctx, (c) => request(c, 'journal', 'List', { limit }))) as Array<{
      txn: string;
      status: string;
      total: number;
      currency?: string;
      closed: string;
    }>;
    print(ctx, rows, () =>
      rows.length
        ? rows.map((r) => `${r.txn.padEnd(10)} ${r.status.padEnd(10)} ${money(r.total, r.currency).padStart(9)} ${r.currency ?? ''}  ${r.closed}`).join('\n')
        : 'no receipts yet',
    );
  },
};
