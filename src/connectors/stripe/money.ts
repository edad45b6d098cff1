// Stripe amounts are integers in the currency's smallest unit; executives read major units ("$1,234.50").

/** Currencies Stripe counts in whole units (no minor unit): amount 500 in JPY is ¥500. */
const ZERO_DECIMAL = new Set(['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf']);
/** Currencies Stripe counts in thousandths. */
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

export function decimalsOf(currency: string): number {
  const c = currency.toLowerCase();
  return ZERO_DECIMAL.has(c) ? 0 : THREE_DECIMAL.has(c) ? 3 : 2;
}

/** A Stripe amount (smallest unit) in major units, rounded to the currency's precision. */
export function toMajor(amount: number, currency: string): number {
  const decimals = decimalsOf(currency);
  return Math.round(amount) / 10 ** decimals;
}

/** Money as text, in major units ("$1,234.50", "¥500"). */
export function formatMoney(major: number, currency: string): string {
  const code = currency.toUpperCase();
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency: code, minimumFractionDigits: decimalsOf(currency), maximumFractionDigits: decimalsOf(currency) }).format(major);
  } catch {
    return `${code} ${major.toFixed(decimalsOf(currency))}`;
  }
}
