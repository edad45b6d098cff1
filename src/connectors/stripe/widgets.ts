// Stripe widgets for the CFO: balance, MRR from active subscriptions, and recent failed payments.
import { z } from 'zod';
import type { WidgetDefinition } from '../types.js';
import { listAll } from './list.js';
import { formatMoney, toMajor } from './money.js';
import { mainCurrency, monthlyAmount, subscription } from './mrr.js';

/**
 * Connect's read_only scope covers every widget here (the hub does not check scopes for this connector's
 * key-based auth); a restricted key needs the matching read permission, named in each description.
 */
const READ_ONLY = ['read_only'];
/** 20 pages of 100: 2,000 active subscriptions, under a second of Stripe's 25 requests a second. */
const MRR_MAX_PAGES = 20;
/** 10 pages of 100: the last 1,000 charges of the period are scanned for failures. */
const CHARGES_MAX_PAGES = 10;

// Lower case, as Stripe writes currencies (no transform: the catalog publishes params as JSON Schema).
const currency = z.string().regex(/^[a-z]{3}$/, 'a three-letter ISO currency code in lower case, such as usd').optional();
const currencyParams = z.object({ currency });
const failedParams = z.object({
  days: z.coerce.number().int().min(1).max(90).default(7),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

const funds = z.array(z.object({ amount: z.number(), currency: z.string() }));
const balance = z.object({ available: funds, pending: funds.default([]) });

const charge = z.object({
  id: z.string(),
  amount: z.number(),
  currency: z.string(),
  created: z.number(),
  status: z.string(),
  livemode: z.boolean().optional(),
  failure_code: z.string().nullish(),
  failure_message: z.string().nullish(),
  payment_intent: z.string().nullish(),
  customer: z.string().nullish(),
  receipt_email: z.string().nullish(),
  billing_details: z.object({ name: z.string().nullish(), email: z.string().nullish() }).nullish(),
});

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

export const widgets = {
  balance: {
    title: 'Stripe balance',
    description: 'Funds available for payout, with what is still pending (restricted keys: Balance read).',
    kind: 'metric',
    ttlSeconds: 300,
    scopes: READ_ONLY,
    params: currencyParams,
    // One object, not a list.
    async fetch({ api, params }) {
      const b = balance.parse(await api.get('/v1/balance'));
      // Without a currency, the one the account holds most of (in count of minor units: a single-currency
      // account is the common case, and Stripe names no default here).
      const code = params.currency ?? [...b.available].sort((x, y) => y.amount - x.amount)[0]?.currency.toLowerCase() ?? 'usd';
      const sum = (list: z.infer<typeof funds>) => list.filter((f) => f.currency.toLowerCase() === code).reduce((s, f) => s + f.amount, 0);
      const pending = toMajor(sum(b.pending), code);
      const others = new Set(b.available.map((f) => f.currency.toLowerCase()).filter((c) => c !== code)).size;
      const label = `Available balance${pending ? ` · ${formatMoney(pending, code)} pending` : ''}${others ? ` · ${plural(others, 'other currency', 'other currencies')}` : ''}`;
      return { value: toMajor(sum(b.available), code), unit: code.toUpperCase(), label, delta: null };
    },
  } satisfies WidgetDefinition<z.infer<typeof currencyParams>>,

  mrr: {
    title: 'Monthly recurring revenue',
    description: 'MRR from active subscriptions at list price, yearly and weekly plans brought to a month (restricted keys: Subscriptions read).',
    kind: 'metric',
    ttlSeconds: 3600,
    scopes: READ_ONLY,
    params: currencyParams,
    async fetch({ api, params }) {
      // The items' prices come embedded in each subscription: no expansion needed.
      const { items, complete } = await listAll(api, '/v1/subscriptions', { status: 'active' }, subscription, MRR_MAX_PAGES);
      const code = params.currency ?? mainCurrency(items) ?? 'usd';
      const inCurrency = items.filter((s) => s.currency.toLowerCase() === code);
      let amount = 0;
      let uncounted = 0;
      for (const s of inCurrency) {
        const m = monthlyAmount(s);
        amount += m.amount;
        uncounted += m.uncounted;
      }
      const notes = [
        complete ? '' : ` (first ${(MRR_MAX_PAGES * 100).toLocaleString('en-US')} subscriptions)`,
        items.length > inCurrency.length ? ` · ${plural(items.length - inCurrency.length, 'subscription')} in other currencies` : '',
        uncounted ? ` · ${plural(uncounted, 'usage-based item')} not counted` : '',
      ];
      const value = Math.round(toMajor(amount, code) * 100) / 100;
      return { value, unit: code.toUpperCase(), label: `MRR from ${plural(inCurrency.length, 'active subscription')}${notes.join('')}`, delta: null };
    },
  } satisfies WidgetDefinition<z.infer<typeof currencyParams>>,

  'failed-payments': {
    title: 'Failed payments',
    description: 'Charges that failed in the last days, newest first, with the reason the bank or Stripe gave (restricted keys: Charges read).',
    kind: 'list',
    ttlSeconds: 300,
    scopes: READ_ONLY,
    params: failedParams,
    async fetch({ api, params, now }) {
      const since = Math.floor(now.getTime() / 1000) - params.days * 86_400;
      // The list endpoint cannot filter on status: the period's charges are scanned, newest first.
      const { items } = await listAll(api, '/v1/charges', { 'created[gte]': since }, charge, CHARGES_MAX_PAGES);
      const failed = items.filter((c) => c.status === 'failed');
      return {
        items: failed.slice(0, params.limit).map((c) => {
          const who = c.billing_details?.name || c.billing_details?.email || c.receipt_email || c.customer || 'Unknown customer';
          return {
            id: c.id,
            title: `${formatMoney(toMajor(c.amount, c.currency), c.currency)} · ${who}`,
            ...(c.failure_message ? { subtitle: c.failure_message } : {}),
            status: c.failure_code ?? 'failed',
            timestamp: new Date(c.created * 1000).toISOString(),
            url: `https://dashboard.stripe.com/${c.livemode === false ? 'test/' : ''}payments/${encodeURIComponent(c.payment_intent ?? c.id)}`,
          };
        }),
        total: failed.length,
      };
    },
  } satisfies WidgetDefinition<z.infer<typeof failedParams>>,
};
