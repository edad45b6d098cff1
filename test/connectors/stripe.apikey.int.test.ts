// Stripe with a restricted key: checked against GET /v1/account, sealed, never echoed; refused keys store nothing.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connections } from '../../src/db/schema.js';
import { startFakeStripe, type FakeStripe } from '../fakes/stripe.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { startConnect } from '../support/oauth-flow.js';

let fake: FakeStripe;
let t: TestApp;

beforeAll(async () => {
  fake = await startFakeStripe();
  // No STRIPE_CLIENT_ID / _SECRET: keys only, Connect OAuth not offered.
  t = await buildTestApp({ STRIPE_API_URL: fake.url });
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

const rowsOf = (ws: string) => t.deps.database.db.select().from(connections).where(eq(connections.workspaceId, ws));

async function connectWith(ws: string, credentials: Record<string, string>) {
  return t.app.inject({
    method: 'POST',
    url: `/workspaces/${ws}/integrations/stripe/connect`,
    headers: { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` },
    payload: { credentials },
  });
}

describe('Stripe restricted key', () => {
  it('verifies the key, answers 201 with the account, and keeps the key only sealed', async () => {
    const ws = t.newWorkspace();
    const account = fake.addAccount({ displayName: 'Globex Billing', businessName: 'Globex Corp' });
    const key = fake.restrictedKey(account.id);
    const calls = fake.api.calls;
    const res = await connectWith(ws, { apiKey: key });
    expect(res.statusCode).toBe(201);
    const integration = res.json().integration;
    expect(integration).toMatchObject({ slug: 'stripe', status: 'active', account: { id: account.id, name: 'Globex Billing' }, scopes: [], expiresAt: null });
    expect(fake.api.calls).toBe(calls + 1);
    expect(res.body).not.toContain(key);

    const [row] = await rowsOf(ws);
    expect(row).toMatchObject({ id: integration.id, metadata: { accountId: account.id, livemode: 'false' }, routingKeys: [`account:${account.id}`], nextRefreshAt: null });
    expect(row!.credentials).not.toContain(key);
    expect(t.deps.sealer.open(row!.id, row!.credentials!)).toEqual({ type: 'apiKey', fields: { apiKey: key } });
    expect(t.logs.text()).not.toContain(key);
  });

  it('names the account by business name, then email, then id; a live key is marked live', async () => {
    const ws = t.newWorkspace();
    const byBusiness = fake.addAccount({ businessName: 'Initech LLC', email: 'ap@initech.example' });
    const byEmail = fake.addAccount({ email: 'owner@hooli.example' });
    const bare = fake.addAccount({});
    expect((await connectWith(ws, { apiKey: fake.restrictedKey(byBusiness.id) })).json().integration.account.name).toBe('Initech LLC');
    expect((await connectWith(ws, { apiKey: fake.restrictedKey(byEmail.id) })).json().integration.account.name).toBe('owner@hooli.example');
    const live = await connectWith(ws, { apiKey: fake.restrictedKey(bare.id, { mode: 'live' }) });
    expect(live.json().integration.account).toEqual({ id: bare.id, name: bare.id });
    const row = (await rowsOf(ws)).find((r) => r.externalAccountId === bare.id);
    expect(row!.metadata).toMatchObject({ livemode: 'true' });
  });

  it('updates the same account on a new key instead of adding a second connection', async () => {
    const ws = t.newWorkspace();
    const account = fake.addAccount({ displayName: 'Umbrella' });
    const first = (await connectWith(ws, { apiKey: fake.restrictedKey(account.id) })).json().integration;
    const newKey = fake.restrictedKey(account.id);
    const second = (await connectWith(ws, { apiKey: newKey })).json().integration;
    expect(second.id).toBe(first.id);
    const rows = await rowsOf(ws);
    expect(rows).toHaveLength(1);
    expect(t.deps.sealer.open(rows[0]!.id, rows[0]!.credentials!)).toEqual({ type: 'apiKey', fields: { apiKey: newKey } });
  });

  it('answers 400 invalid_credentials for unknown, expired or under-privileged keys, storing nothing', async () => {
    const ws = t.newWorkspace();
    const account = fake.addAccount({ displayName: 'Soylent' });
    const keys = [
      `rk_test_${'A'.repeat(99)}`,
      fake.restrictedKey(account.id, { expired: true }),
      fake.restrictedKey(account.id, { canReadAccount: false }),
    ];
    for (const apiKey of keys) {
      const res = await connectWith(ws, { apiKey });
      expect(res.statusCode, apiKey.slice(0, 12)).toBe(400);
      expect(res.json().code).toBe('invalid_credentials');
      expect(res.body).not.toContain(apiKey);
    }
    expect(await rowsOf(ws)).toHaveLength(0);
    for (const apiKey of keys) expect(t.logs.text()).not.toContain(apiKey);
  });

  it('answers 502 provider_unavailable when Stripe fails, storing nothing', async () => {
    const ws = t.newWorkspace();
    const account = fake.addAccount({ displayName: 'Vandelay' });
    fake.failNextApi(500);
    const res = await connectWith(ws, { apiKey: fake.restrictedKey(account.id) });
    expect(res.statusCode).toBe(502);
    expect(res.json().code).toBe('provider_unavailable');
    expect(await rowsOf(ws)).toHaveLength(0);
  });

  it('refuses bad fields with 400 before calling Stripe: secret or publishable keys, unknown or missing fields', async () => {
    const ws = t.newWorkspace();
    const calls = fake.api.calls;
    const cases: Record<string, string>[] = [
      { apiKey: `sk_live_${'a'.repeat(99)}` },
      { apiKey: `pk_test_${'a'.repeat(99)}` },
      { apiKey: 'rk_test_with spaces' },
      { apiKey: '' },
      {},
      { apiKey: fake.restrictedKey([...fake.accounts.keys()][0]!), site: 'datadoghq.eu' },
    ];
    for (const credentials of cases) {
      const res = await connectWith(ws, credentials);
      expect(res.statusCode, JSON.stringify(credentials).slice(0, 40)).toBe(400);
      expect(res.json().code).toBe('validation_failed');
      expect(res.json().errors[0].path).toMatch(/^body\.credentials\./);
    }
    expect(fake.api.calls).toBe(calls);
    expect(await rowsOf(ws)).toHaveLength(0);
  });

  it('does not offer Connect OAuth while it is not configured (409)', async () => {
    const res = await startConnect(t, { workspaceId: t.newWorkspace(), slug: 'stripe' });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('integration_not_configured');
  });

  it('disconnects a key connection without calling Stripe (keys are deleted in the Dashboard) and forgets the key', async () => {
    const ws = t.newWorkspace();
    const account = fake.addAccount({ displayName: 'Wonka' });
    const { id } = (await connectWith(ws, { apiKey: fake.restrictedKey(account.id) })).json().integration;
    const revokes = fake.calls.revokes;
    const res = await t.app.inject({
      method: 'POST',
      url: `/workspaces/${ws}/integrations/${id}/disconnect`,
      headers: { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().integration).toMatchObject({ status: 'disconnected', lastError: null });
    expect(fake.calls.revokes).toBe(revokes);
    expect((await rowsOf(ws))[0]).toMatchObject({ credentials: null, status: 'disconnected' });
  });
});
