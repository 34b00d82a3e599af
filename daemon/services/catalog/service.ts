import { readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { CommandError, commandSpecs, type ServiceDefinition, type ServiceLogic } from '../../runtime/runtime.js';
import { CATALOG_COMMANDS, type ImportReport } from './commands.js';
import type { Tx } from '../../store/store.js';
import { deviceConfigs, devicesWith } from '../../runtime/devices.js';
import type { BarcodeScannedData } from '../../events/schemas/devices.js';
import type { Product, ScanResolvedData } from '../../events/schemas/checkout.js';
import { decodeBarcode, type BarcodeOptions } from '../../../drivers/barcode/barcode.js';
import { isDigits } from '../../../drivers/barcode/gtin.js';
import { barcodeOptions, scannedData } from '../../../drivers/barcode-publisher.js';
import { CatalogFileError, guessFormat, normalizeGtin, parseCatalog, type ParsedCatalog } from './import.js';
import demoCatalog from './demo-catalog.json' with { type: 'json' };
import type { CatalogSettings } from './settings.js';

const DDL = `
CREATE TABLE IF NOT EXISTS catalog_products (
  gtin TEXT PRIMARY KEY, name TEXT NOT NULL, price INTEGER NOT NULL, unit TEXT NOT NULL,
  weight_g REAL, tolerance_g REAL, tolerance_pct REAL, age INTEGER, skip_bagging INTEGER NOT NULL DEFAULT 0, must_weigh INTEGER NOT NULL DEFAULT 0,
  plu TEXT, image TEXT
) WITHOUT ROWID;
-- how often each product was sold by weight or keyed: the touch UI lists the most used first
CREATE TABLE IF NOT EXISTS catalog_usage (gtin TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS catalog_meta (k INTEGER PRIMARY KEY CHECK (k = 1), version INTEGER NOT NULL, origin TEXT NOT NULL, sha256 TEXT NOT NULL, products INTEGER NOT NULL, imported_at TEXT NOT NULL);`;

interface ProductRow {
  gtin: string;
  name: string;
  price: number;
  unit: 'each' | 'kg';
  weight_g: number | null;
  tolerance_g: number | null;
  tolerance_pct: number | null;
  age: number | null;
  skip_bagging: number;
  must_weigh: number;
  plu: string | null;
  image: string | null;
}

const COLUMNS = 'gtin, name, price, unit, weight_g, tolerance_g, tolerance_pct, age, skip_bagging, must_weigh, plu, image';
/** Columns added since the first catalog_products: a board's older database gets them at start. */
const ADDED_COLUMNS = ['plu', 'image'];

function toProduct(r: ProductRow): Product {
  return {
    gtin: r.gtin,
    name: r.name,
    price: r.price,
    unit: r.unit,
    ...(r.weight_g !== null ? { weightG: r.weight_g } : {}),
    ...(r.tolerance_g !== null ? { toleranceG: r.tolerance_g } : {}),
    ...(r.tolerance_pct !== null ? { tolerancePct: r.tolerance_pct } : {}),
    ...(r.age !== null ? { ageRestricted: r.age } : {}),
    ...(r.skip_bagging ? { skipBagging: true } : {}),
    ...(r.must_weigh ? { mustWeigh: true } : {}),
    ...(r.plu !== null ? { plu: r.plu } : {}),
    ...(r.image !== null ? { image: r.image } : {}),
  };
}

const rowValues = (p: Product): unknown[] => [
  p.gtin,
  p.name,
  p.price,
  p.unit,
  p.weightG ?? null,
  p.toleranceG ?? null,
  p.tolerancePct ?? null,
  p.ageRestricted ?? null,
  p.skipBagging ? 1 : 0,
  p.mustWeigh ? 1 : 0,
  p.plu ?? null,
  p.image ?? null,
];

export type { ImportReport } from './commands.js';

/**
 * catalog: the lane's products, imported from store IT's CSV/JSON files and
 * swapped in one SQLite transaction. It resolves every scan to a product
 * (restricted-circulation labels by their lookup GTIN) and publishes
 * ScanResolved for the basket; no other service reads its database.
 */
export const catalog: ServiceDefinition<CatalogSettings> = {
  name: 'catalog',
  /** Sent by the touch UI: the produce picker and the item lookup (code keyed, name searched). */
  ui: ['Produce', 'Pick', 'Key', 'Search'],
  create(ctx): ServiceLogic {
    const scanners = ctx.settings.scanners ?? devicesWith(ctx.config, 'scanner');
    const demo = ctx.settings.demo ?? Object.values(deviceConfigs(ctx.config)).every((d) => d.simulate === true);
    const maxBytes = ctx.settings.maxFileBytes ?? 64 * 1024 * 1024;
    // a keyed code decodes as the lane's first scanner decodes what it reads (RCN layout, 8 digits)
    const firstScanner = scanners.map((n) => deviceConfigs(ctx.config)[n]).find(Boolean);
    const keyOptions: BarcodeOptions = {
      ...barcodeOptions({ eightDigits: 'ean8', rcnLayout: 'none', ...(firstScanner ?? {}) } as Parameters<typeof barcodeOptions>[0]),
      aimIds: false,
    };

    const lookup = async (tx: Tx, gtin: string): Promise<Product | undefined> => {
      const r = await tx.get<ProductRow>(`SELECT ${COLUMNS} FROM catalog_products WHERE gtin = ?`, [gtin]);
      return r ? toProduct(r) : undefined;
    };

    /** Replace the whole catalog in the open transaction. */
    const swap = async (tx: Tx, parsed: ParsedCatalog, origin: string, sha256: string): Promise<ImportReport> => {
      await tx.run('DELETE FROM catalog_products');
      const per = 80; // 12 columns: under SQLite's 999 variables per statement
      for (let i = 0; i < parsed.products.length; i += per) {
        const chunk = parsed.products.slice(i, i + per);
        await tx.run(`INSERT INTO catalog_products (${COLUMNS}) VALUES ${chunk.map(() => '(?,?,?,?,?,?,?,?,?,?,?,?)').join(',')}`, chunk.flatMap(rowValues));
      }
      const prev = await tx.get<{ version: number }>('SELECT version FROM catalog_meta WHERE k = 1');
      const version = (prev?.version ?? 0) + 1;
      await tx.run(
        'INSERT INTO catalog_meta (k, version, origin, sha256, products, imported_at) VALUES (1,?,?,?,?,?) ON CONFLICT(k) DO UPDATE SET version = excluded.version, origin = excluded.origin, sha256 = excluded.sha256, products = excluded.products, imported_at = excluded.imported_at',
        [version, origin, sha256, parsed.products.length, new Date().toISOString()],
      );
      await ctx.emit(tx, 'CatalogImported', {
        version,
        products: parsed.products.length,
        rejected: parsed.rejected.length,
        origin: origin.slice(0, 300),
        sha256,
      });
      return {
        version,
        origin,
        rows: parsed.rows,
        imported: parsed.products.length,
        rejected: parsed.rejected.length,
        rejectedRows: parsed.rejected.slice(0, 50),
      };
    };

    const importText = async (tx: Tx, text: string, format: 'csv' | 'json', origin: string, strict: boolean): Promise<ImportReport> => {
      let parsed: ParsedCatalog;
      try {
        parsed = parseCatalog(text, format);
      } catch (err) {
        if (err instanceof CatalogFileError) throw new CommandError(`${origin}: ${err.message}; the catalog is unchanged`);
        throw err;
      }
      const sample = parsed.rejected
        .slice(0, 5)
        .map((r) => `row ${r.row}: ${r.reason}`)
        .join('; ');
      if (parsed.products.length === 0)
        throw new CommandError(`${origin}: no valid product in ${parsed.rows} rows (${sample || 'no rows'}); the catalog is unchanged`);
      if (strict && parsed.rejected.length) {
        throw new CommandError(`${origin}: ${parsed.rejected.length} of ${parsed.rows} rows rejected and strict is set (${sample}); the catalog is unchanged`);
      }
      const sha256 = createHash('sha256').update(text).digest('hex');
      const report = await swap(tx, parsed, origin, sha256);
      tx.afterCommit(() =>
        ctx.log.info(
          { origin, version: report.version, imported: report.imported, rejected: report.rejected },
          `catalog ${report.version} from ${origin}: ${report.imported} products, ${report.rejected} rows rejected`,
        ),
      );
      return report;
    };

    const resolve = async (tx: Tx, scan: BarcodeScannedData): Promise<Omit<ScanResolvedData, 'scan' | 'device'>> => {
      const gtin = scan.gtin ?? (scan.ais?.['01'] && normalizeGtin(scan.ais['01']));
      const base = { code: scan.raw.slice(0, 200), ...(gtin ? { gtin } : {}), ...(scan.rcn ? { rcn: scan.rcn } : {}) };
      if (!gtin) return { ...base, reason: `${scan.symbology} code is not a GTIN` };
      if (scan.rcn) {
        const product = await lookup(tx, scan.rcn.lookupGtin);
        if (product) return { ...base, product };
      }
      const product = await lookup(tx, gtin);
      if (product) return { ...base, product };
      return { ...base, reason: scan.rcn ? `no product ${scan.rcn.lookupGtin} for the ${scan.rcn.measure} label ${gtin}` : `no product ${gtin}` };
    };

    /** Produce sold by weight and every keyed item count toward "most used first". */
    const used = (tx: Tx, p: Product): Promise<unknown> =>
      tx.run('INSERT INTO catalog_usage (gtin, n) VALUES (?, 1) ON CONFLICT(gtin) DO UPDATE SET n = n + 1', [p.gtin]);

    /** A product chosen or a code keyed on the touch UI: resolved as a scan from device `ui`, marked keyed. */
    const keyed = async (tx: Tx, id: string, code: string, resolved: Omit<ScanResolvedData, 'scan' | 'device' | 'code'>) => {
      if (resolved.product) await used(tx, resolved.product);
      const ev = await ctx.emit(tx, 'ScanResolved', { scan: id, device: 'ui', code: code.slice(0, 200), ...resolved, entry: 'keyed' as const });
      return ev;
    };

    /** Products for the touch UI, most used first, then by name; `search` matches words of the name, a GTIN or a PLU. */
    const listed = async (tx: Tx, where: string, params: unknown[], search: string | undefined, limit: number): Promise<Product[]> => {
      const words = (search ?? '').trim().toLowerCase().split(/\s+/).filter(Boolean).slice(0, 5);
      const like = (w: string): string => `%${w.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const conds = words.map(() => "(lower(p.name) LIKE ? ESCAPE '\\' OR p.gtin LIKE ? ESCAPE '\\' OR p.plu = ?)");
      const all = [where, ...conds].filter(Boolean);
      const rows = await tx.all<ProductRow>(
        `SELECT ${COLUMNS.split(', ')
          .map((c) => `p.${c}`)
          .join(
            ', ',
          )} FROM catalog_products p LEFT JOIN catalog_usage u ON u.gtin = p.gtin ${all.length ? `WHERE ${all.join(' AND ')}` : ''} ORDER BY coalesce(u.n, 0) DESC, p.name LIMIT ?`,
        [...params, ...words.flatMap((w) => [like(w), like(w), w]), limit],
      );
      return rows.map(toProduct);
    };

    return {
      sources: scanners,
      async migrate(store) {
        await store.exec(DDL);
        const columns = await store.all<{ name: string }>('PRAGMA table_info(catalog_products)');
        for (const c of ADDED_COLUMNS) if (!columns.some((x) => x.name === c)) await store.exec(`ALTER TABLE catalog_products ADD COLUMN ${c} TEXT`);
      },
      async start() {
        if (!demo) return;
        await ctx.tx(async (tx) => {
          const n = await tx.get<{ c: number }>('SELECT count(*) AS c FROM catalog_products');
          if ((n?.c ?? 0) > 0) return;
          await importText(tx, JSON.stringify(demoCatalog), 'json', 'demo catalog', true);
        });
      },
      async onEvent(ev, tx) {
        if (ev.type !== 'BarcodeScanned') return;
        const resolved = await resolve(tx, ev.data);
        if (resolved.product?.mustWeigh) await used(tx, resolved.product);
        await ctx.emit(tx, 'ScanResolved', { scan: ev.id, device: ev.source, ...resolved }, { corr: ev.corr ?? ev.id, cause: ev.id });
      },
      commands: commandSpecs(CATALOG_COMMANDS, {
        /** Replace the catalog from a file on the board (`path`) or inline `content`. */
        Import: {
          async handle(args, tx) {
            let text: string;
            let origin: string;
            if (args.path) {
              origin = args.path;
              try {
                const st = await stat(args.path);
                if (st.size > maxBytes)
                  throw new CommandError(`${args.path} is ${st.size} bytes, over the limit of ${maxBytes} (services.catalog.maxFileBytes)`);
                text = await readFile(args.path, 'utf8');
              } catch (err) {
                if (err instanceof CommandError) throw err;
                const code = (err as NodeJS.ErrnoException).code;
                throw new CommandError(
                  `cannot read ${args.path} (${code ?? (err as Error).message}); the daemon reads the file itself, so give a path it can read`,
                );
              }
            } else if (args.content !== undefined) {
              text = args.content;
              origin = 'inline';
            } else throw new CommandError('give the file as path or content');
            return importText(tx, text, args.format ?? guessFormat(text, args.path), origin, args.strict ?? false);
          },
        },
        Show: {
          async handle(args, tx) {
            const gtin = normalizeGtin(args.gtin);
            if (!gtin) throw new CommandError(`${args.gtin} is not a GTIN (8, 12, 13 or 14 digits)`);
            const p = await lookup(tx, gtin);
            if (!p) throw new CommandError(`no product ${gtin} in the catalog`);
            return { ...p, currency: ctx.config.lane.currency };
          },
        },
        /** Products sold by weight, for the touch UI's produce picker: most used first, optionally searched. */
        Produce: {
          async handle(args, tx) {
            return { products: await listed(tx, 'p.must_weigh = 1', [], args?.search, 500) };
          },
        },
        /** The item lookup's name search: products whose name has every word typed (or whose GTIN/PLU it is), most used first. */
        Search: {
          async handle(args, tx) {
            return { products: await listed(tx, '', [], args.search, args.limit ?? 24) };
          },
        },
        /**
         * A code keyed on the touch UI's number pad: a PLU (4 or 5 digits) or a GTIN-8/12/13/14
         * whose check digit must hold (GS1 GS §7.9.1); restricted-circulation numbers decode as
         * the scanners' do. Added to the basket as a keyed entry.
         */
        Key: {
          async handle(args, tx, m) {
            const code = args.code.trim();
            if (!isDigits(code)) throw new CommandError(`code ${JSON.stringify(code)}: only digits can be keyed`);
            if (code.length === 4 || code.length === 5) {
              const r = await tx.get<ProductRow>(`SELECT ${COLUMNS} FROM catalog_products WHERE plu = ? ORDER BY must_weigh DESC, gtin LIMIT 1`, [code]);
              if (!r) throw new CommandError(`no product with PLU ${code} in the catalog`);
              const product = toProduct(r);
              await keyed(tx, m.id, code, { gtin: product.gtin, product });
              return { scan: m.id, gtin: product.gtin, name: product.name };
            }
            const decoded = decodeBarcode(code, keyOptions);
            if (!decoded.ok) throw new CommandError(`code ${code}: ${decoded.reason}`);
            if (!decoded.reading.gtin) throw new CommandError(`code ${code} is neither a PLU (4 or 5 digits) nor a GTIN (8, 12, 13 or 14 digits)`);
            const resolved = await resolve(tx, scannedData(decoded.reading) as BarcodeScannedData);
            if (!resolved.product) throw new CommandError(`code ${code}: ${resolved.reason ?? 'not in the catalog'}`);
            await keyed(tx, m.id, code, resolved);
            return { scan: m.id, gtin: resolved.product.gtin, name: resolved.product.name };
          },
        },
        /** The shopper picked a product on the touch UI (produce, the item lookup): resolved as a keyed scan from device `ui`. */
        Pick: {
          async handle(args, tx, m) {
            const gtin = normalizeGtin(args.gtin);
            if (!gtin) throw new CommandError(`${args.gtin} is not a GTIN (8, 12, 13 or 14 digits)`);
            const product = await lookup(tx, gtin);
            if (!product) throw new CommandError(`no product ${gtin} in the catalog`);
            const ev = await keyed(tx, m.id, gtin, { gtin, product });
            return { scan: m.id, gtin, name: product.name, event: ev.id };
          },
        },
        List: {
          async handle(args, tx) {
            const where = args.search ? 'WHERE name LIKE ? OR gtin LIKE ?' : '';
            const params = args.search ? [`%${args.search}%`, `%${args.search}%`] : [];
            const rows = await tx.all<ProductRow>(`SELECT ${COLUMNS} FROM catalog_products ${where} ORDER BY name LIMIT ? OFFSET ?`, [
              ...params,
              args.limit ?? 100,
              args.offset ?? 0,
            ]);
            const total = await tx.get<{ c: number }>(`SELECT count(*) AS c FROM catalog_products ${where}`, params);
            const meta = await tx.get<{ version: number; origin: string; imported_at: string }>(
              'SELECT version, origin, imported_at FROM catalog_meta WHERE k = 1',
            );
            return {
              total: total?.c ?? 0,
              version: meta?.version ?? 0,
              origin: meta?.origin,
              importedAt: meta?.imported_at,
              currency: ctx.config.lane.currency,
              products: rows.map(toProduct),
            };
          },
        },
      }),
    };
  },
};
