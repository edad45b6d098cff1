// Monthly recurring revenue from Stripe subscriptions: each licensed item's price, brought to one month.
import { z } from 'zod';

export const subscription = z.object({
  id: z.string(),
  currency: z.string(),
  items: z.object({
    data: z.array(
      z.object({
        quantity: z.number().nullish(),
        price: z.object({
          currency: z.string().optional(),
          unit_amount: z.number().nullish(),
          unit_amount_decimal: z.string().nullish(),
          recurring: z
            .object({
              interval: z.enum(['day', 'week', 'month', 'year']),
              interval_count: z.number().int().positive().default(1),
              usage_type: z.string().optional(),
            })
            .nullish(),
        }),
      }),
    ),
  }),
});
export type Subscription = z.infer<typeof subscription>;

/** How many of an interval fit in a month, on average (a year of 365 days, 52 weeks). */
const PER_MONTH = { day: 365 / 12, week: 52 / 12, month: 1, year: 1 / 12 } as const;

/**
 * A subscription's list-price MRR in the currency's smallest unit (discounts, taxes and credits left out,
 * as Stripe's own MRR leaves out taxes). Metered items bill for use after the fact and tiered prices have
 * no unit amount: neither has a fixed monthly value, so they count 0 and are reported as not counted.
 */
export function monthlyAmount(sub: Subscription): { amount: number; uncounted: number } {
  let amount = 0;
  let uncounted = 0;
  for (const item of sub.items.data) {
    const { recurring } = item.price;
    const unit = item.price.unit_amount_decimal != null ? Number(item.price.unit_amount_decimal) : item.price.unit_amount;
    if (!recurring || recurring.usage_type === 'metered' || unit == null || !Number.isFinite(unit)) {
      uncounted++;
      continue;
    }
    amount += (unit * (item.quantity ?? 1) * PER_MONTH[recurring.interval]) / recurring.interval_count;
  }
  return { amount, uncounted };
}

/** The currency most subscriptions bill in: the default when the caller names none. */
export function mainCurrency(subs: Subscription[]): string | undefined {
  const counts = new Map<string, number>();
  for (const s of subs) counts.set(s.currency.toLowerCase(), (counts.get(s.currency.toLowerCase()) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
}
