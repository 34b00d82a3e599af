import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { CliError, EXIT, request } from '../client.js';
import { print, withTechnician, type CliCommand } from '../context.js';
import { money } from '../money.js';
import type { Product } from '../../events/schemas/checkout.js';
import type { ImportReport } from '../../services/catalog/service.js';

function describe(p: Product, currency: string | undefined): string {
  const flags = [
    p.unit === 'kg' ? `${money(p.price, currency)}/kg` : money(p.price, currency),
    p.weightG !== undefined ? `${p.weightG} g` : '',
    p.ageRestricted ? `${p.ageRestricted}+` : '',
    p.skipBagging ? 'skip bagging' : '',
    p.mustWeigh ? 'weigh' : '',
  ].filter(Boolean);
  return `${p.gtin}  ${p.name.padEnd(40)} ${flags.join(', ')}`;
}

/** `lanectl catalog import|list|show`: the products the lane sells. */
export const catalog: CliCommand = {
  usage: 'import FILE [--strict] | list [SEARCH] [--count N] | show GTIN',
  help: 'import a CSV/JSON catalog file, list or show products',
  async run(ctx) {
    const [verb, arg] = ctx.args;
    if (verb === 'import') {
      if (!arg) throw new CliError('catalog import FILE: give the CSV or JSON file from store IT', EXIT.usage);
      const path = resolve(arg);
      if (!existsSync(path)) throw new CliError(`${path}: no such file`, EXIT.noInput);
      const report = (await withTechnician(ctx, (c) => request(c, 'catalog', 'Import', { path, strict: ctx.flags.strict === true }, 120_000))) as ImportReport;
      print(ctx, report, () =>
        [
          `catalog ${report.version}: ${report.imported} products imported from ${report.origin}, ${report.rejected} of ${report.rows} rows rejected`,
          ...report.rejectedRows.map((r) => `  row ${r.row}: ${r.reason}`),
          ...(report.rejected > report.rejectedRows.length ? [`  ... and ${report.rejected - report.rejectedRows.length} more`] : []),
        ].join('\n'),
      );
      return report.rejected ? EXIT.dataErr : EXIT.ok;
    }
    if (verb === 'list' || verb === undefined) {
      const limit = ctx.flags.count ? Number(ctx.flags.count) : 100;
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliError('--count must be 1..1000', EXIT.usage);
      const r = (await withTechnician(ctx, (c) => request(c, 'catalog', 'List', { limit, ...(arg ? { search: arg } : {}) }))) as {
        total: number;
        version: number;
        origin?: string;
        currency?: string;
        products: Product[];
      };
      print(ctx, r, () =>
        [
          `catalog ${r.version} (${r.origin ?? 'empty'}): ${r.total} products${arg ? ` matching "${arg}"` : ''}`,
          ...r.products.map((p) => describe(p, r.currency)),
        ].join('\n'),
      );
      return;
    }
    if (verb === 'show') {
      if (!arg) throw new CliError('catalog show GTIN', EXIT.usage);
      const p = (await withTechnician(ctx, (c) => request(c, 'catalog', 'Show', { gtin: arg }))) as Product & { currency?: string };
      print(ctx, p, () => describe(p, p.currency));
      return;
    }
    throw new CliError(`catalog ${verb}: use import, list or show`, EXIT.usage);
  },
};
