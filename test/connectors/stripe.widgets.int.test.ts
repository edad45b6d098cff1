// Stripe widgets end to end against a fake Stripe: a restricted key or a Connect token as the bearer, list paging
// with starting_after/has_more, zero-decimal currencies, Stripe's error envelope, 429, 5xx, dead keys and tokens.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { STRIPE_PATHS, chargeObject, startFakeStripe, subscriptionObject, type FakeStripe, type FakeStripeData } from '../fakes/stripe.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';

let fake: FakeStripe;
let t: TestApp;
let ws: string;
let id: string;
let key: string;
let accountId: string;
let data: FakeStripeData;
let auth: { authorization: string };

beforeAll(async () => {
  fake = await startFakeStripe();
  // Connect configured too: the same hub takes restricted keys and Connect OAuth.
  t = await buildTestApp(providerEnvFor('STRIPE', fake, STRIPE_PATHS));
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

async function connectWithKey(options: Parameters<FakeStripe['restrictedKey']>[1] = {}) {
  ws = t.newWorkspace();
  accountId = fake.addAccount({ displayName: 'Globex Billing' }).id;
  data = fake.data(accountId);
  key = fake.restrictedKey(accountId, options);
  auth = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
  const res = await t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/stripe/connect`, headers: auth, payload: { credentials: { apiKey: key } } });
  if (res.statusCode !== 201) throw new Error(`connect answered ${res.statusCode}: ${res.body}`);
  id = res.json().integration.id;
}

beforeEach(async () => {
  fake.api.failures.length = 0;
  fake.api.delayMs = 0;
  await connectWithKey();
});

const statusOf = async () =>
  (await t.app.inject({ url: `/workspaces/${ws}/integrations/${id}`, headers: auth })).json().integration as { status: string };
const read = (widget: string, query = '') => t.app.inject({ url: `/workspaces/${ws}/integrations/${id}/widgets/${widget}/data${query}`, headers: auth });
const requests = (path: string) => fake.api.requests.filter((r) => r.path === path);
const now = () => Math.floor(Date.now() / 1000);
const monthly = (unitAmount: number, quantity = 1) => ({ unitAmount, interval: 'month' as const, quantity });

describe('balance', () => {
  it('answers the available funds in major units, with what is pending and how many other currencies', async () => {
    data.balance = { available: [{ amount: 123_456, currency: 'usd' }, { amount: 5_000, currency: 'eur' }], pending: [{ amount: 7_890, currency: 'usd' }] };
    const res = await read('balance');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ kind: 'metric', source: 'provider' });
    expect(res.json().data).toEqual({ value: 1234.56, unit: 'USD', label: 'Available balance · $78.90 pending · 1 other currency', delta: null });
    expect((await read('balance', '?currency=eur')).json().data).toEqual({ value: 50, unit: 'EUR', label: 'Available balance · 1 other currency', delta: null });
  });

  it('counts zero-decimal currencies in whole units, and a currency the account lacks as 0', async () => {
    data.balance = { available: [{ amount: 5_000, currency: 'jpy' }], pending: [{ amount: 120, currency: 'jpy' }] };
    expect((await read('balance')).json().data).toEqual({ value: 5000, unit: 'JPY', label: 'Available balance · ¥120 pending', delta: null });
    expect((await read('balance', '?currency=gbp')).json().data).toMatchObject({ value: 0, unit: 'GBP' });
  });

  it('answers 0 for a new account, and 400 for a currency that is not a lower-case ISO code', async () => {
    expect((await read('balance')).json().data).toEqual({ value: 0, unit: 'USD', label: 'Available balance', delta: null });
    for (const q of ['?currency=USD', '?currency=dollars']) expect((await read('balance', q)).statusCode).toBe(400);
  });
});

describe('mrr', () => {
  it('brings yearly, weekly and quarterly plans to a month, leaving out usage-based items and other currencies', async () => {
    data.subscriptions.push(
      subscriptionObject({ prices: [monthly(5_000, 2)] }), // 100.00
      subscriptionObject({ prices: [{ unitAmount: 120_000, interval: 'year' }] }), // 100.00
      subscriptionObject({ prices: [{ unitAmount: 1_000, interval: 'week' }] }), // 43.33
      subscriptionObject({ prices: [{ unitAmount: 30_000, interval: 'month', intervalCount: 3 }] }), // 100.00
      subscriptionObject({ prices: [{ unitAmount: 5, interval: 'month', usageType: 'metered' }, { unitAmount: null, interval: 'month' }] }),
      subscriptionObject({ currency: 'eur', prices: [monthly(9_900)] }),
      subscriptionObject({ status: 'past_due', prices: [monthly(9_900)] }),
      subscriptionObject({ status: 'canceled', prices: [monthly(9_900)] }),
    );
    const res = await read('mrr');
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({
      value: 343.33,
      unit: 'USD',
      label: 'MRR from 5 active subscriptions · 1 subscription in other currencies · 2 usage-based items not counted',
      delta: null,
    });
    expect(requests('/v1/subscriptions').at(-1)!.query).toEqual({ status: 'active', limit: '100' });
    expect((await read('mrr', '?currency=eur')).json().data).toMatchObject({ value: 99, unit: 'EUR', label: 'MRR from 1 active subscription · 5 subscriptions in other currencies' });
  });

  it('follows has_more with starting_after, and says when its bound of 2,000 subscriptions cut the count', async () => {
    for (let i = 0; i < 250; i++) data.subscriptions.push(subscriptionObject({ created: now() - i, prices: [monthly(1_000)] }));
    let before = requests('/v1/subscriptions').length;
    expect((await read('mrr')).json().data).toMatchObject({ value: 2500, label: 'MRR from 250 active subscriptions' });
    const pages = requests('/v1/subscriptions').slice(before);
    expect(pages.map((p) => p.query.starting_after ?? null)).toEqual([null, expect.stringMatching(/^sub_/), expect.stringMatching(/^sub_/)]);

    for (let i = 250; i < 2_050; i++) data.subscriptions.push(subscriptionObject({ created: now() - i, prices: [monthly(1_000)] }));
    before = requests('/v1/subscriptions').length;
    const bounded = (await read('mrr', '?currency=usd')).json().data;
    expect(bounded).toMatchObject({ value: 20_000, label: 'MRR from 2,000 active subscriptions (first 2,000 subscriptions)' });
    expect(requests('/v1/subscriptions').length - before).toBe(20);
  });

  it('answers 0 without subscriptions, and 400 for a bad currency', async () => {
    expect((await read('mrr')).json().data).toEqual({ value: 0, unit: 'USD', label: 'MRR from 0 active subscriptions', delta: null });
    expect((await read('mrr', '?currency=usdollar')).statusCode).toBe(400);
  });
});

describe('failed-payments', () => {
  it('lists the period\'s failed charges, newest first, with who paid and why it failed', async () => {
    const declined = { code: 'card_declined', message: 'Your card was declined.' };
    data.charges.push(
      chargeObject({ amount: 4_900, created: now() - 3_600, failure: declined, name: 'Jenny Rosen' }),
      chargeObject({ amount: 120_000, created: now() - 86_400, failure: { code: 'insufficient_funds', message: 'Your card has insufficient funds.' }, email: 'ap@initech.example' }),
      chargeObject({ amount: 500, currency: 'jpy', created: now() - 2 * 86_400, failure: declined, customer: 'cus_Q1' }),
      chargeObject({ amount: 4_900, created: now() - 600 }),
      chargeObject({ amount: 4_900, created: now() - 10 * 86_400, failure: declined }), // before the period
    );
    const [jenny, initech, yen] = data.charges;
    const res = await read('failed-payments');
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({
      items: [
        {
          id: jenny!.id,
          title: '$49.00 · Jenny Rosen',
          subtitle: 'Your card was declined.',
          status: 'card_declined',
          timestamp: new Date(jenny!.created * 1000).toISOString(),
          url: `https://dashboard.stripe.com/test/payments/${String(jenny!.payment_intent)}`,
        },
        expect.objectContaining({ id: initech!.id, title: '$1,200.00 · ap@initech.example', status: 'insufficient_funds' }),
        expect.objectContaining({ id: yen!.id, title: '¥500 · cus_Q1' }),
      ],
      total: 3,
    });
    const since = Number(requests('/v1/charges').at(-1)!.query['created[gte]']);
    expect(Math.abs(since - (now() - 7 * 86_400))).toBeLessThan(5);
    expect((await read('failed-payments', '?days=30')).json().data.total).toBe(4);
  });

  it('scans every page of the period and keeps the newest `limit` failures', async () => {
    for (let i = 0; i < 250; i++) {
      data.charges.push(chargeObject({ amount: 1_000 + i, created: now() - 60 * i, ...(i % 5 === 0 ? { failure: { code: 'card_declined', message: 'Declined' } } : {}) }));
    }
    const before = requests('/v1/charges').length;
    const list = (await read('failed-payments', '?limit=20')).json().data;
    expect(list.total).toBe(50);
    expect(list.items).toHaveLength(20);
    expect(list.items[0].title).toBe('$10.00 · Unknown customer');
    expect(requests('/v1/charges').length - before).toBe(3);
  });

  it('answers an empty list when nothing failed, and 400 for bad params', async () => {
    data.charges.push(chargeObject({ amount: 100, created: now() - 60 }));
    expect((await read('failed-payments')).json().data).toEqual({ items: [], total: 0 });
    for (const q of ['?days=0', '?days=91', '?limit=101', '?days=week']) expect((await read('failed-payments', q)).statusCode, q).toBe(400);
  });
});

describe.each(['balance', 'mrr', 'failed-payments'])('%s against a failing Stripe', (widget) => {
  const path = { balance: '/v1/balance', mrr: '/v1/subscriptions', 'failed-payments': '/v1/charges' }[widget]!;

  it('answers 429 provider_rate_limited with Retry-After when Stripe limits beyond the hub\'s wait', async () => {
    fake.api.failures.push({ status: 429, headers: { 'retry-after': '30' } });
    const before = requests(path).length;
    const res = await read(widget);
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('provider_rate_limited');
    expect(res.headers['retry-after']).toBe('30');
    expect(requests(path).length - before).toBe(1);
  });

  it('retries a 5xx and answers', async () => {
    fake.api.failures.push({ status: 500 });
    const before = requests(path).length;
    expect((await read(widget)).statusCode).toBe(200);
    expect(requests(path).length - before).toBe(2);
  });

  it('answers 409 reauth_required once a dead key has been tried again (keys cannot be refreshed)', async () => {
    fake.expireKey(key);
    const before = requests(path).length;
    const res = await read(widget);
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('reauth_required');
    expect(requests(path).length - before).toBe(2);
    expect(res.body).not.toContain(key);
    // Stripe's own key check refuses it too: the connection now asks for a new key, and says so.
    expect((await statusOf()).status).toBe('needs_reauth');
  });
});

describe('restricted key permissions and Connect', () => {
  it('answers 403 insufficient_scope for a key without the endpoint\'s read permission, the others still work', async () => {
    await connectWithKey({ denied: ['rak_charge_read'] });
    const res = await read('failed-payments');
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('insufficient_scope');
    expect((await read('balance')).statusCode).toBe(200);
    // The key itself is good (the check accepts it): a missing permission leaves the connection active.
    expect((await statusOf()).status).toBe('active');
  });

  it('reads through a Connect access token, and asks for a reconnect once the account deauthorizes the platform', async () => {
    ws = t.newWorkspace();
    accountId = fake.addAccount({ displayName: 'Acme EU' }).id;
    fake.setConnectAccount(accountId);
    fake.data(accountId).balance = { available: [{ amount: 99_00, currency: 'eur' }], pending: [] };
    id = (await connectViaOAuth(t, { workspaceId: ws, slug: 'stripe' })).integrationId;
    auth = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
    expect((await read('balance')).json().data).toMatchObject({ value: 99, unit: 'EUR' });
    [...fake.grants.values()].at(-1)!.revoked = true;
    const res = await read('mrr');
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('reauth_required');
  });
});
