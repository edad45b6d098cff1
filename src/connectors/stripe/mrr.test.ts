// MRR normalisation: intervals brought to a month, usage-based and tiered items left out, the main currency.
import { describe, expect, it } from 'vitest';
import { mainCurrency, monthlyAmount, type Subscription } from './mrr.js';

type Item = Subscription['items']['data'][number];
const item = (unit: number | null, interval: 'day' | 'week' | 'month' | 'year', extra: { count?: number; quantity?: number | null; usage?: string; decimal?: string } = {}): Item => ({
  quantity: extra.quantity === undefined ? 1 : extra.quantity,
  price: { unit_amount: unit, unit_amount_decimal: extra.decimal ?? null, recurring: { interval, interval_count: extra.count ?? 1, usage_type: extra.usage ?? 'licensed' } },
});
const sub = (currency: string, ...items: Item[]): Subscription => ({ id: 'sub_1', currency, items: { data: items } });

describe('monthlyAmount', () => {
  it('brings every interval to a month and multiplies by quantity', () => {
    expect(monthlyAmount(sub('usd', item(1000, 'month', { quantity: 3 }))).amount).toBe(3000);
    expect(monthlyAmount(sub('usd', item(12000, 'year'))).amount).toBe(1000);
    expect(monthlyAmount(sub('usd', item(1200, 'week'))).amount).toBeCloseTo(5200);
    expect(monthlyAmount(sub('usd', item(100, 'day'))).amount).toBeCloseTo(3041.67, 2);
    expect(monthlyAmount(sub('usd', item(9000, 'month', { count: 3 }))).amount).toBe(3000);
    expect(monthlyAmount(sub('usd', item(1000, 'month', { quantity: null }))).amount).toBe(1000);
  });

  it('prefers the decimal unit amount (sub-cent prices) and adds up the items', () => {
    expect(monthlyAmount(sub('usd', item(1, 'month', { decimal: '0.5', quantity: 1000 }), item(200, 'month'))).amount).toBe(700);
  });

  it('counts metered, tiered and non-recurring items as not counted', () => {
    const oneOff: Item = { quantity: 1, price: { unit_amount: 500, unit_amount_decimal: null, recurring: null } };
    expect(monthlyAmount(sub('usd', item(5, 'month', { usage: 'metered' }), item(null, 'month'), oneOff, item(100, 'month')))).toEqual({ amount: 100, uncounted: 3 });
  });
});

describe('mainCurrency', () => {
  it('is the currency most subscriptions use, ties broken alphabetically, none without subscriptions', () => {
    expect(mainCurrency([sub('eur'), sub('USD'), sub('usd')])).toBe('usd');
    expect(mainCurrency([sub('usd'), sub('eur')])).toBe('eur');
    expect(mainCurrency([])).toBeUndefined();
  });
});
