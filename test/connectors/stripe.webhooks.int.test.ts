// Stripe webhooks end to end: deliveries signed by Stripe's own library (generateTestHeaderString) and checked
// against its reference verifier (constructEvent) are stored once and processed; tampered bodies, wrong secrets,
// stale timestamps and missing or v0-only signatures are refused and counted; thin event notifications are read
// too, their destination ping acknowledged; events route by connected account (Connect and restricted keys) or by
// the connection the URL names, refresh the widgets they change, and a deauthorization disconnects.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhooks } from '../../src/connectors/stripe/webhooks.js';
import { auditEvents, connections } from '../../src/db/schema.js';
import { STRIPE_PATHS, startFakeStripe, type FakeStripe } from '../fakes/stripe.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';
import { deliver, inboxEvents, metricValue, openEventStream, processNow, readsRecorded } from '../support/webhooks.js';

// The platform's account endpoint and its Connect endpoint sign with secrets of their own.
const SECRET = 'whsec_test_account_endpoint_0123456789abcdef';
const CONNECT_SECRET = 'whsec_test_connect_endpoint_fedcba9876543210';
const stripe = new Stripe('sk_test_x');

let fake: FakeStripe;
let t: TestApp;
let baseUrl: string;

beforeAll(async () => {
  fake = await startFakeStripe();
  t = await buildTestApp({ ...providerEnvFor('STRIPE', fake, STRIPE_PATHS), STRIPE_WEBHOOK_SECRET: `${SECRET}, ${CONNECT_SECRET}` });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

const now = () => Math.floor(Date.now() / 1000);
const evtId = () => `evt_${randomBytes(12).toString('hex')}`;
const accountId = () => `acct_${randomBytes(8).toString('hex')}`;

/** A snapshot event as a Connect endpoint delivers it (`account` set), or as the account endpoint does (none). */
function event(type: string, options: { account?: string; id?: string; object?: Record<string, unknown> } = {}) {
  return {
    id: options.id ?? evtId(),
    object: 'event',
    api_version: '2025-03-31.basil',
    created: now(),
    data: { object: options.object ?? { id: 'bal_1', object: 'balance' } },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    ...(options.account ? { account: options.account } : {}),
  };
}

/** A thin event notification (`v2.core.event`): no snapshot, the account in `context`. */
function thinEvent(type: string, options: { context?: string; id?: string } = {}) {
  return {
    id: options.id ?? evtId(),
    object: 'v2.core.event',
    type,
    livemode: false,
    created: new Date().toISOString(),
    ...(options.context ? { context: options.context } : {}),
    related_object: { id: 'sub_1', type: 'subscription', url: '/v1/subscriptions/sub_1' },
  };
}

/** A delivery as Stripe sends it: JSON body and the Stripe-Signature Stripe's own library builds. */
function signed(payload: unknown, options: { secret?: string; timestamp?: number; path?: string } = {}) {
  const body = JSON.stringify(payload);
  const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret: options.secret ?? CONNECT_SECRET, timestamp: options.timestamp ?? now() });
  return { body, path: options.path, headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': header, 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' } };
}

/** What Stripe's reference verifier makes of a delivery (the default 300 s tolerance). */
function referenceAccepts(d: { body: string; headers: Record<string, string> }, secret: string): boolean {
  try {
    stripe.webhooks.constructEvent(d.body, d.headers['stripe-signature']!, secret);
    return true;
  } catch {
    return false;
  }
}

async function post(payload: { id: string }, options: { secret?: string; timestamp?: number; path?: string } = {}) {
  const res = await deliver(t, 'stripe', signed(payload, options));
  return { res, delivery: options.path ? `${payload.id}@${options.path.slice(1)}` : payload.id };
}

describe('verification', () => {
  it('stores a delivery signed by Stripe\'s library once, without its signature, and answers 200', async () => {
    const account = accountId();
    const payload = event('balance.available', { account });
    const d = signed(payload);
    expect(referenceAccepts(d, CONNECT_SECRET)).toBe(true);
    const res = await deliver(t, 'stripe', d);
    expect(res.statusCode).toBe(200);
    const [stored] = await inboxEvents(t, 'stripe', payload.id);
    expect(stored).toMatchObject({ eventType: 'balance.available', status: 'received', routingKeys: [`account:${account}`], connectionId: null });
    expect(stored!.headers).not.toHaveProperty('stripe-signature');
    expect(stored!.payload).toMatchObject({ id: payload.id, account, type: 'balance.available' });
  });

  it('accepts either configured endpoint secret, and any v1 of a rolling secret, ignoring v0', async () => {
    const own = event('payout.paid');
    expect((await post(own, { secret: SECRET })).res.statusCode).toBe(200);
    expect(await inboxEvents(t, 'stripe', own.id)).toHaveLength(1);

    const rolled = event('payout.paid', { account: accountId() });
    const genuine = signed(rolled);
    const old = stripe.webhooks.generateTestHeaderString({ payload: genuine.body, secret: 'whsec_the_old_secret', timestamp: now() });
    const [t0, v1] = genuine.headers['stripe-signature'].split(',');
    const header = `${t0},v1=${old.split('v1=')[1]},${v1},v0=${'0'.repeat(64)},v9=future`;
    const d = { ...genuine, headers: { ...genuine.headers, 'stripe-signature': header } };
    expect(referenceAccepts(d, CONNECT_SECRET)).toBe(true);
    expect((await deliver(t, 'stripe', d)).statusCode).toBe(200);
    expect(await inboxEvents(t, 'stripe', rolled.id)).toHaveLength(1);
  });

  it('acknowledges a redelivery of the same event without storing or processing it again', async () => {
    const payload = event('charge.succeeded', { account: accountId() });
    expect((await post(payload)).res.statusCode).toBe(200);
    // Stripe signs each attempt afresh: a new timestamp, the same event.
    const again = await post(payload, { timestamp: now() - 60 });
    expect(again.res.statusCode).toBe(200);
    expect(await inboxEvents(t, 'stripe', payload.id)).toHaveLength(1);
    expect(await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'stripe', outcome: 'duplicate' })).toBeGreaterThanOrEqual(1);
  });

  it('refuses a tampered body, a wrong secret, a stale timestamp, a missing, v0-only or garbled signature', async () => {
    const before = await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'stripe', outcome: 'rejected' });
    const staleBefore = await metricValue(t, 'hub_webhook_rejections_total', { connector: 'stripe', reason: 'stale_timestamp' });
    const payload = event('balance.available', { account: accountId() });
    const genuine = signed(payload);
    const cases = {
      tampered: { ...genuine, body: genuine.body.replace('balance.available', 'balance.availablE') },
      wrongSecret: signed(payload, { secret: 'whsec_not_the_secret' }),
      stale: signed(payload, { timestamp: now() - 301 - 60 }),
      noSignature: { ...genuine, headers: { ...genuine.headers, 'stripe-signature': '' } },
      v0Only: { ...genuine, headers: { ...genuine.headers, 'stripe-signature': genuine.headers['stripe-signature'].replace('v1=', 'v0=') } },
      noTimestamp: { ...genuine, headers: { ...genuine.headers, 'stripe-signature': genuine.headers['stripe-signature'].replace(/^t=\d+,/, '') } },
      garbage: { ...genuine, headers: { ...genuine.headers, 'stripe-signature': 't=abc,v1=zz' } },
    };
    for (const [name, d] of Object.entries(cases)) {
      // Stripe's own verifier refuses each of them too.
      expect(referenceAccepts(d, CONNECT_SECRET), name).toBe(false);
      const res = await deliver(t, 'stripe', d);
      expect(res.statusCode, name).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ code: 'webhook_signature_invalid', status: 401 });
      expect(res.body).not.toContain(CONNECT_SECRET);
    }
    expect(await inboxEvents(t, 'stripe', payload.id)).toEqual([]);
    expect(await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'stripe', outcome: 'rejected' })).toBe(before + 7);
    expect(await metricValue(t, 'hub_webhook_rejections_total', { connector: 'stripe', reason: 'stale_timestamp' })).toBe(staleBefore + 1);
    expect(await metricValue(t, 'hub_webhook_rejections_total', { connector: 'stripe', reason: 'bad_signature' })).toBeGreaterThanOrEqual(2);
    expect(await metricValue(t, 'hub_webhook_rejections_total', { connector: 'stripe', reason: 'missing_signature' })).toBeGreaterThanOrEqual(4);
    expect(t.logs.text()).not.toContain(CONNECT_SECRET);
  });

  it('refuses a genuinely signed body that is not a Stripe event', async () => {
    for (const body of ['not json', '{"object":"event"}', '[]']) {
      const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret: CONNECT_SECRET, timestamp: now() });
      const res = await deliver(t, 'stripe', { body, headers: { 'content-type': 'application/json', 'stripe-signature': header } });
      expect(res.statusCode, body).toBe(401);
    }
    expect(await metricValue(t, 'hub_webhook_rejections_total', { connector: 'stripe', reason: 'malformed' })).toBeGreaterThanOrEqual(3);
  });

  it('reads thin event notifications, routed by their context, and acknowledges an event destination ping', async () => {
    const account = accountId();
    const thin = thinEvent('v1.customer.subscription.updated', { context: account });
    expect((await post(thin)).res.statusCode).toBe(200);
    expect((await inboxEvents(t, 'stripe', thin.id))[0]).toMatchObject({ eventType: 'v1.customer.subscription.updated', routingKeys: [`account:${account}`] });

    const nested = thinEvent('v1.invoice.payment_failed', { context: `acct_parent000/${account}` });
    await post(nested);
    expect((await inboxEvents(t, 'stripe', nested.id))[0]).toMatchObject({ routingKeys: [`account:${account}`] });

    const ping = thinEvent('v2.core.event_destination.ping');
    const res = (await post(ping)).res;
    expect(res.statusCode).toBe(200);
    expect(await inboxEvents(t, 'stripe', ping.id)).toEqual([]);
  });

  it('answers 503 webhook_not_configured, storing nothing, when STRIPE_WEBHOOK_SECRET is not set', async () => {
    const bare = await buildTestApp(providerEnvFor('STRIPE', fake, STRIPE_PATHS));
    try {
      const payload = event('balance.available', { account: accountId() });
      const res = await deliver(bare, 'stripe', signed(payload));
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'webhook_not_configured' });
      expect(await inboxEvents(bare, 'stripe', payload.id)).toEqual([]);
    } finally {
      await bare.close();
    }
  });
});

describe('processing', () => {
  async function connectAccount(name: string) {
    const ws = t.newWorkspace();
    const account = fake.addAccount({ displayName: name }).id;
    fake.setConnectAccount(account);
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'stripe' });
    return { ws, account, integrationId, token: await t.token({ workspaces: [ws] }) };
  }

  async function connectKey(account: string) {
    const ws = t.newWorkspace();
    const token = await t.token({ workspaces: [ws] });
    const res = await t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/stripe/connect`, headers: { authorization: `Bearer ${token}` }, payload: { credentials: { apiKey: fake.restrictedKey(account) } } });
    if (res.statusCode !== 201) throw new Error(`connect answered ${res.statusCode}: ${res.body}`);
    return { ws, integrationId: res.json().integration.id as string, token };
  }

  const readBalance = (ws: string, id: string, token: string) =>
    t.app.inject({ url: `/workspaces/${ws}/integrations/${id}/widgets/balance/data`, headers: { authorization: `Bearer ${token}` } });
  const balanceCalls = () => fake.api.requests.filter((r) => r.path === '/v1/balance').length;

  it('routes a Connect event by its account, refetches the balance it changes, and announces it live', async () => {
    const { ws, account, integrationId, token } = await connectAccount('Initech Payments');
    fake.data(account).balance = { available: [{ amount: 10_000, currency: 'usd' }], pending: [] };
    const read = await readBalance(ws, integrationId, token);
    expect(read.statusCode).toBe(200);
    expect(read.json().data.value).toBe(100);
    // The read is recorded for syncs and webhooks a moment later (never on the read's own path).
    await readsRecorded(t);

    const stream = await openEventStream(baseUrl, ws, token);
    try {
      fake.data(account).balance = { available: [{ amount: 25_050, currency: 'usd' }], pending: [] };
      const callsBefore = balanceCalls();
      const { delivery } = await post(event('balance.available', { account }));
      expect(await processNow(t, 'stripe', delivery)).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId], attempts: 1, error: null });
      expect(balanceCalls()).toBe(callsBefore + 1);

      const live = await stream.next((e) => e.event === 'widget.updated');
      expect(JSON.parse(live.data!)).toEqual({ integrationId, slug: 'stripe', widgetId: 'balance', params: {} });
      const after = await readBalance(ws, integrationId, token);
      expect(after.json()).toMatchObject({ source: 'cache', stale: false, data: { value: 250.5 } });
    } finally {
      await stream.close();
    }
  });

  it('reaches a restricted-key connection of the account too, and keeps events of other accounts unmatched', async () => {
    const { account, integrationId: connect } = await connectAccount('Hooli Billing');
    const { integrationId: keyed } = await connectKey(account);
    const { delivery } = await post(thinEvent('v1.customer.subscription.created', { context: account }));
    const processed = await processNow(t, 'stripe', delivery);
    expect(processed).toMatchObject({ status: 'processed' });
    expect([...processed.matchedConnectionIds].sort()).toEqual([connect, keyed].sort());

    const other = await post(event('charge.succeeded', { account: accountId() }));
    expect(await processNow(t, 'stripe', other.delivery)).toMatchObject({ status: 'unmatched', matchedConnectionIds: [] });
  });

  it('sends the platform\'s own events (no account) to the connection the URL names, and nowhere without one', async () => {
    const account = fake.addAccount({ displayName: 'Platform Inc.' }).id;
    const { integrationId } = await connectKey(account);
    const named = await post(event('payout.paid'), { secret: SECRET, path: `/${integrationId}` });
    expect(named.res.statusCode).toBe(200);
    expect(await processNow(t, 'stripe', named.delivery)).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId] });

    const bare = await post(event('payout.paid'), { secret: SECRET });
    expect(await processNow(t, 'stripe', bare.delivery)).toMatchObject({ status: 'unmatched', matchedConnectionIds: [] });
  });

  it('disconnects the Connect connection when the account deauthorizes the platform, with an audit event; a restricted key of the account lives on', async () => {
    const { ws, account, integrationId, token } = await connectAccount('Umbrella Corp');
    const { integrationId: keyed } = await connectKey(account);
    const stream = await openEventStream(baseUrl, ws, token);
    try {
      const { delivery } = await post(event('account.application.deauthorized', { account, object: { id: fake.clientId, object: 'application', name: 'Integration Hub' } }));
      const processed = await processNow(t, 'stripe', delivery);
      expect(processed).toMatchObject({ status: 'processed' });
      expect([...processed.matchedConnectionIds].sort()).toEqual([integrationId, keyed].sort());
      const [key] = await t.deps.database.db.select().from(connections).where(eq(connections.id, keyed));
      expect(key).toMatchObject({ status: 'active', lastError: null });
      expect(key!.credentials).not.toBeNull();
      const [row] = await t.deps.database.db.select().from(connections).where(eq(connections.id, integrationId));
      expect(row).toMatchObject({ status: 'disconnected', credentials: null, dataKey: null, lastError: 'provider: account.application.deauthorized' });
      const audit = await t.deps.database.db.select().from(auditEvents).where(eq(auditEvents.connectionId, integrationId));
      expect(audit.map((a) => [a.action, a.actor])).toContainEqual(['disconnected', 'provider:stripe']);
      const live = await stream.next((e) => e.event === 'connection.updated');
      expect(JSON.parse(live.data!)).toEqual({ integrationId, slug: 'stripe', status: 'disconnected' });
    } finally {
      await stream.close();
    }
  });
});

describe('effects', () => {
  it.each([
    ['balance.available', ['balance']],
    ['charge.refunded', ['balance']],
    ['charge.dispute.created', ['balance']],
    ['payout.failed', ['balance']],
    ['customer.subscription.deleted', ['mrr']],
    ['v1.customer.subscription.updated', ['mrr']],
    ['charge.failed', ['failed-payments']],
    ['payment_intent.payment_failed', ['failed-payments']],
    ['v1.invoice.payment_failed', ['failed-payments']],
    ['invoice.paid', []],
    ['customer.created', []],
  ])('%s refreshes %j', (eventType, widgets) => {
    expect(webhooks.effects({ eventType, payload: {} })).toEqual({ widgets });
  });
});
