/**
 * From a resolved scan to a basket line: price in integer minor units,
 * restricted-circulation labels (GS1 GS §2.1.11-2.1.12: the label carries the
 * price or the weight), produce priced by the weighed grams.
 */
import type { ItemAddedData, Product, ScanResolvedData } from '../../events/schemas/checkout.js';

export type LineDraft = Omit<ItemAddedData, 'line'>;

export type Priced = { ok: true; item: LineDraft } | { ok: false; needsWeight: true };

/** Digits after the decimal point of a currency's minor unit (EUR 2, JPY 0). */
export function currencyDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** A label price of `decimals` decimals to minor units of a currency with `digits` decimals. */
export function toMinor(value: number, decimals: number, digits: number): number {
  return decimals <= digits ? value * 10 ** (digits - decimals) : Math.round(value / 10 ** (decimals - digits));
}

/** Price of `grams` at `perKg` minor units per kilogram, rounded half up to a minor unit. */
export function priceByWeight(grams: number, perKg: number): number {
  return Math.round((grams * perKg) / 1000);
}

function bagging(p: Product, unitG: number | undefined): LineDraft['bagging'] {
  if (p.skipBagging || unitG === undefined || !(unitG > 0)) return undefined;
  return {
    unitG,
    ...(p.toleranceG !== undefined ? { toleranceG: p.toleranceG } : {}),
    ...(p.tolerancePct !== undefined ? { tolerancePct: p.tolerancePct } : {}),
  };
}

/**
 * Price one resolved scan. `producedGrams` is an unused stable weight from the
 * produce scale; a product sold by weight without one needs the shopper to weigh it.
 */
export function priceScan(scan: ScanResolvedData, p: Product, digits: number, producedGrams?: number): Priced {
  const base = {
    gtin: scan.gtin ?? p.gtin,
    name: p.name,
    unit: p.unit,
    unitPrice: p.price,
    scan: scan.scan,
    ...(scan.entry ? { entry: scan.entry } : {}),
    ...(p.ageRestricted ? { ageRestricted: p.ageRestricted } : {}),
  };
  const done = (item: Omit<LineDraft, keyof typeof base>): Priced => {
    const b = item.bagging;
    if (!b) delete item.bagging;
    return { ok: true, item: { ...base, ...item } };
  };
  const rcn = scan.rcn;
  if (rcn?.measure === 'price' && rcn.price) {
    const price = toMinor(rcn.price.minor, rcn.price.decimals, digits);
    const grams = p.unit === 'kg' && p.price > 0 ? Math.round((price * 1000) / p.price) : undefined;
    return done({ quantity: 1, price, label: 'price', ...(grams !== undefined ? { grams } : {}), bagging: bagging(p, grams ?? p.weightG) });
  }
  if (rcn?.measure === 'weight' && rcn.grams !== undefined) {
    const price = p.unit === 'kg' ? priceByWeight(rcn.grams, p.price) : p.price;
    return done({ quantity: 1, price, label: 'weight', grams: rcn.grams, bagging: bagging(p, rcn.grams) });
  }
  if (rcn?.measure === 'count' && rcn.count !== undefined) {
    const quantity = Math.min(999, Math.max(1, rcn.count));
    return done({ quantity, price: quantity * p.price, label: 'count', bagging: bagging(p, p.weightG) });
  }
  if (p.unit === 'kg') {
    if (producedGrams === undefined || !(producedGrams > 0)) return { ok: false, needsWeight: true };
    return done({ quantity: 1, price: priceByWeight(producedGrams, p.price), grams: producedGrams, bagging: bagging(p, producedGrams) });
  }
  return done({ quantity: 1, price: p.price, bagging: bagging(p, p.weightG) });
}
