import { currencyDigits } from '../services/basket/pricing.js';

/**
 * An amount in integer minor units of `currency` (ISO 4217) as a plain decimal,
 * with the currency's own minor unit as the basket and the touch UI use it:
 * EUR 129 is 1.29, JPY 129 is 129, BHD 1290 is 1.290. Without a currency the
 * amount is printed as what it is.
 */
export function money(minor: unknown, currency: string | undefined): string {
  if (typeof minor !== 'number' || !Number.isFinite(minor)) return '?';
  if (!currency) return `${minor} (minor units)`;
  const digits = currencyDigits(currency);
  return (minor / 10 ** digits).toFixed(digits);
}
