// Stripe amounts: smallest units to major units by currency precision, and as text.
import { describe, expect, it } from 'vitest';
import { formatMoney, toMajor } from './money.js';

describe('money', () => {
  it('divides by the currency precision: cents, whole yen, thousandths of a dinar', () => {
    expect(toMajor(123_456, 'usd')).toBe(1234.56);
    expect(toMajor(500, 'JPY')).toBe(500);
    expect(toMajor(1_500, 'kwd')).toBe(1.5);
  });

  it('formats with the currency symbol and its precision, or the code when it is not one Intl takes', () => {
    expect(formatMoney(1234.5, 'usd')).toBe('$1,234.50');
    expect(formatMoney(500, 'jpy')).toBe('¥500');
    // Intl writes the code and the figure apart with a no-break space.
    expect(formatMoney(1.5, 'kwd')).toMatch(/^KWD\s1\.500$/);
    expect(formatMoney(2, 'x1')).toBe('X1 2.00');
  });
});
