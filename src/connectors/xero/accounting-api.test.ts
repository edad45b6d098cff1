// Reading Xero's report cells and Microsoft JSON dates.
import { describe, expect, it } from 'vitest';
import { cellValue, money, parseXeroDate } from './accounting-api.js';

describe('cellValue', () => {
  it('reads numbers (thousands separators too), empties as null, and keeps other text', () => {
    expect(cellValue('1234.56')).toBe(1234.56);
    expect(cellValue('-1,234.5')).toBe(-1234.5);
    expect(cellValue('34')).toBe(34);
    expect(cellValue('')).toBeNull();
    expect(cellValue(undefined)).toBeNull();
    expect(cellValue('12.5%')).toBe('12.5%');
  });
});

describe('parseXeroDate', () => {
  it('reads /Date(ms+zzzz)/, /Date(ms)/ and ISO strings; refuses anything else', () => {
    expect(parseXeroDate('/Date(1518685950940+0000)/')!.toISOString()).toBe('2018-02-15T09:12:30.940Z');
    expect(parseXeroDate('/Date(1518685950940)/')!.getTime()).toBe(1518685950940);
    expect(parseXeroDate('2018-02-15T00:00:00')).toBeInstanceOf(Date);
    expect(parseXeroDate('soon')).toBeUndefined();
  });
});

describe('money', () => {
  it('uses the currency symbol, or the bare figure without a currency', () => {
    expect(money(230.4, 'NZD')).toBe('NZ$230.40');
    expect(money(1500, undefined)).toBe('1,500.00');
  });
});
