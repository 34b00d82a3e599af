/**
 * Catalog files from store IT, CSV or JSON, checked row by row. Field names
 * (CSV header or JSON keys, snake_case or camelCase alike):
 *
 *   gtin            GTIN-8/12/13/14 with a valid check digit (GS1 GS §7.9.1);
 *                   for variable-measure labels the GTIN with the variable digits zeroed
 *   name            1..120 characters
 *   price           integer minor units (cents): per piece, or per kg when unit is kg
 *   unit            each (default) | kg
 *   weight_g        expected weight of one piece in the bagging area
 *   tolerance_g     absolute tolerance of that weight (default: the lane's)
 *   tolerance_pct   relative tolerance in % (default: the lane's)
 *   age_restricted  minimum age, e.g. 18 (empty: none)
 *   skip_bagging    heavy or bulky, not put in the bagging area (true/false, 1/0, yes/no)
 *   must_weigh      sold by weight from the produce scale (default: true for unit kg)
 *
 * JSON is an array of such objects or `{ "products": [...] }`.
 */
import { hasValidCheckDigit, isDigits, toGtin14 } from '../../../drivers/barcode/gtin.js';
import type { Product } from '../../events/schemas/checkout.js';
import { parseCsv } from './csv.js';

export interface Rejected {
  /** CSV line number, or 1-based index in the JSON array. */
  row: number;
  reason: string;
}

export interface ParsedCatalog {
  products: Product[];
  rejected: Rejected[];
  rows: number;
}

/** The whole file is unusable (not the format, no header, no gtin column...). */
export class CatalogFileError extends Error {
  override name = 'CatalogFileError';
}

const FIELDS = ['gtin', 'name', 'price', 'unit', 'weightg', 'toleranceg', 'tolerancepct', 'agerestricted', 'skipbagging', 'mustweigh'] as const;
type Field = (typeof FIELDS)[number];
const norm = (k: string): string =>
  k
    .trim()
    .toLowerCase()
    .replace(/[_\s-]/g, '');

function bool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'boolean') return v;
  const s = text(v).trim().toLowerCase();
  if (['1', 'true', 'yes', 'y', 'x'].includes(s)) return true;
  if (['0', 'false', 'no', 'n'].includes(s)) return false;
  throw new Error(`${field} must be true/false (or 1/0, yes/no), got ${JSON.stringify(v)}`);
}

function num(v: unknown, field: string, min: number, max: number, integer = false): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(text(v).trim());
  if (!Number.isFinite(n) || (typeof v === 'string' && !/^-?[0-9]+(\.[0-9]+)?$/.test(v.trim())))
    throw new Error(`${field} must be a number, got ${JSON.stringify(v)}`);
  if (integer && !Number.isInteger(n)) {
    const hint = field === 'price' ? ` (minor units: 1.29 is 129)` : '';
    throw new Error(`${field} must be a whole number${hint}, got ${JSON.stringify(v)}`);
  }
  if (n < min || n > max) throw new Error(`${field} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** A cell as text: CSV cells are strings, JSON ones may be numbers or booleans. */
function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}

/** One row to a product, or an Error saying which field is wrong and why. */
export function productFromRow(raw: Partial<Record<Field, unknown>>): Product {
  const gtinText = text(raw.gtin).trim();
  if (!gtinText) throw new Error('gtin is empty');
  if (!isDigits(gtinText) || ![8, 12, 13, 14].includes(gtinText.length)) throw new Error(`gtin ${JSON.stringify(gtinText)} must be 8, 12, 13 or 14 digits`);
  if (!hasValidCheckDigit(gtinText)) throw new Error(`gtin ${gtinText}: check digit is wrong (GS1 GS §7.9.1)`);
  const name = text(raw.name).trim();
  if (!name) throw new Error('name is empty');
  if (name.length > 120) throw new Error(`name is ${name.length} characters, at most 120`);
  const price = num(raw.price, 'price', 0, 1_000_000_000, true);
  if (price === undefined) throw new Error('price is empty');
  const unitText =
    text(raw.unit ?? 'each')
      .trim()
      .toLowerCase() || 'each';
  if (unitText !== 'each' && unitText !== 'kg') throw new Error(`unit must be each or kg, got ${JSON.stringify(raw.unit)}`);
  const weightG = num(raw.weightg, 'weight_g', 0, 100_000);
  if (weightG === 0) throw new Error('weight_g must be above 0 (leave it empty when unknown)');
  const toleranceG = num(raw.toleranceg, 'tolerance_g', 0, 10_000);
  const tolerancePct = num(raw.tolerancepct, 'tolerance_pct', 0, 100);
  const age = num(raw.agerestricted, 'age_restricted', 0, 99, true);
  const skipBagging = bool(raw.skipbagging, 'skip_bagging');
  const mustWeigh = bool(raw.mustweigh, 'must_weigh') ?? (unitText === 'kg' ? true : undefined);
  if (mustWeigh && unitText !== 'kg') throw new Error('must_weigh needs unit kg (the price is per kg)');
  return {
    gtin: toGtin14(gtinText),
    name,
    price,
    unit: unitText,
    ...(weightG !== undefined ? { weightG } : {}),
    ...(toleranceG !== undefined ? { toleranceG } : {}),
    ...(tolerancePct !== undefined ? { tolerancePct } : {}),
    ...(age ? { ageRestricted: age } : {}),
    ...(skipBagging ? { skipBagging } : {}),
    ...(mustWeigh ? { mustWeigh } : {}),
  };
}

function collect(rows: Array<{ row: number; raw: Partial<Record<Field, unknown>> }>): ParsedCatalog {
  const products: Product[] = [];
  const rejected: Rejected[] = [];
  const seen = new Map<string, number>();
  for (const { row, raw } of rows) {
    try {
      const p = productFromRow(raw);
      const first = seen.get(p.gtin);
      if (first !== undefined) throw new Error(`gtin ${p.gtin} already in row ${first}`);
      seen.set(p.gtin, row);
      products.push(p);
    } catch (err) {
      rejected.push({ row, reason: (err as Error).message });
    }
  }
  return { products, rejected, rows: rows.length };
}

export function parseCatalogCsv(text: string): ParsedCatalog {
  const rows = parseCsv(text);
  if (rows.length === 0) throw new CatalogFileError('the file is empty');
  const header = rows[0].cells.map(norm);
  const index = new Map<Field, number>();
  header.forEach((h, i) => {
    if ((FIELDS as readonly string[]).includes(h)) index.set(h as Field, i);
  });
  for (const needed of ['gtin', 'name', 'price'] as const) {
    if (!index.has(needed)) throw new CatalogFileError(`the header line has no "${needed}" column (found: ${rows[0].cells.join(', ')})`);
  }
  return collect(
    rows.slice(1).map((r) => {
      const raw: Partial<Record<Field, unknown>> = {};
      for (const [f, i] of index) raw[f] = r.cells[i];
      return { row: r.line, raw };
    }),
  );
}

export function parseCatalogJson(text: string): ParsedCatalog {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CatalogFileError(`not valid JSON: ${(err as Error).message}`);
  }
  const list = Array.isArray(doc)
    ? doc
    : doc && typeof doc === 'object' && Array.isArray((doc as { products?: unknown }).products)
      ? (doc as { products: unknown[] }).products
      : undefined;
  if (!list) throw new CatalogFileError('expected an array of products or {"products": [...]}');
  return collect(
    list.map((item, i) => {
      const raw: Partial<Record<Field, unknown>> = {};
      if (item && typeof item === 'object' && !Array.isArray(item)) {
        for (const [k, v] of Object.entries(item as Record<string, unknown>)) {
          const f = norm(k);
          if ((FIELDS as readonly string[]).includes(f)) raw[f as Field] = v;
        }
      }
      return { row: i + 1, raw };
    }),
  );
}

export function parseCatalog(text: string, format: 'csv' | 'json'): ParsedCatalog {
  return format === 'json' ? parseCatalogJson(text) : parseCatalogCsv(text);
}

/** Format from a file name, else from the first non-blank character. */
export function guessFormat(text: string, file?: string): 'csv' | 'json' {
  if (file?.toLowerCase().endsWith('.json')) return 'json';
  if (file?.toLowerCase().endsWith('.csv')) return 'csv';
  return /^\s*[[{]/.test(text) ? 'json' : 'csv';
}

/** Any GTIN length to the GTIN-14 the catalog is keyed by; undefined when it is not digits of a GTIN length. */
export function normalizeGtin(code: string): string | undefined {
  const c = code.trim();
  if (!isDigits(c) || ![8, 12, 13, 14].includes(c.length)) return undefined;
  return toGtin14(c);
}
