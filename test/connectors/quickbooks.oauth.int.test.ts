// QuickBooks Online end to end: connect → callback (realmId from the query) → refresh → disconnect against a fake Intuit.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, connections } from '../../src/db/schema.js';
import { QUICKBOOKS_PATHS, startFakeQuickBooks, type FakeQuickBooks } from '../fakes/quickbooks.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { callCallback, connectViaOAuth, consentAtProvider, openAuthorizationUrl, providerEnvFor, resultOf, startConnect } from '../support/oauth-flow.js';

let fake: FakeQuickBooks;
let t: TestApp;
const RETURN = 'https://cfo.example.com/integrations';

beforeAll(async () => {
  fake = await startFakeQuickBooks();
  t = await buildTestApp({ ...providerEnvFor('QUICKBOOKS', fake, QUICKBOOKS_PATHS), HUB_ALLOWED_RETURN_ORIGINS: 'https://cfo.example.com' });
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

const rowOf = async (id: string) => (await t.deps.database.db.select().from(connections).where(eq(connections.id, id)))[0]!;
const rowsOf = (ws: string) => t.deps.database.db.select().from(connections).where(eq(connections.workspaceId, ws));
const lastGrant = () => [...fake.grants.values()].at(-1)!;

/** A refresh call straight to the fake, as Intuit would see it from any client. */
async function presentRefreshToken(refreshToken: string) {
  const res = await fetch(fake.url + QUICKBOOKS_PATHS.token, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${fake.clientId}:${fake.clientSecret}`).toString('base64')}`, accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Runs the flow up to the provider's redirect, lets `tamper` change the callback URL, then calls back. */
async function callbackWith(ws: string, tamper: (callback: URL) => void) {
  const started = (await startConnect(t, { workspaceId: ws, slug: 'quickbooks', returnUrl: RETURN })).json();
  const visit = await openAuthorizationUrl(t, started.authorizationUrl);
  const callback = new URL(await consentAtProvider(visit.providerUrl), 'http://hub.local');
  tamper(callback);
  return callCallback(t, callback.pathname + callback.search, visit.cookie);
}

describe('QuickBooks OAuth', () => {
  it('connects without PKCE, takes the company from the callback realmId, and names it from CompanyInfo', async () => {
    const ws = t.newWorkspace();
    fake.setCompany({ realmId: '4620816365178461800', name: 'Northwind Traders' });
    const started = (await startConnect(t, { workspaceId: ws, slug: 'quickbooks', returnUrl: RETURN })).json();
    const visit = await openAuthorizationUrl(t, started.authorizationUrl);
    expect(visit.providerUrl.searchParams.get('scope')).toBe('com.intuit.quickbooks.accounting');
    expect(visit.providerUrl.searchParams.has('code_challenge')).toBe(false);
    const callbackPath = await consentAtProvider(visit.providerUrl);
    expect(callbackPath).toContain('realmId=4620816365178461800');
    const callback = await callCallback(t, callbackPath, visit.cookie);
    const { status, integrationId } = resultOf(callback);
    expect(status).toBe('connected');

    const row = await rowOf(integrationId!);
    expect(row).toMatchObject({
      externalAccountId: '4620816365178461800',
      externalAccountName: 'Northwind Traders',
      metadata: { realmId: '4620816365178461800' },
      routingKeys: ['realm:4620816365178461800'],
      // Intuit's token answer has no scope member: the requested scopes are what was granted.
      scopes: ['com.intuit.quickbooks.accounting'],
      status: 'active',
    });
    const grant = lastGrant();
    expect(row.credentials).not.toContain(grant.accessToken);
    expect(t.deps.sealer.open(row.id, row.credentials!)).toMatchObject({ type: 'oauth2', tokens: { accessToken: grant.accessToken, refreshToken: grant.refreshToken } });
    expect(row.accessExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 3500_000);
    expect(t.logs.text()).not.toContain(grant.accessToken);
  });

  it('refuses a realmId the grant does not reach, or none at all, storing nothing', async () => {
    const ws = t.newWorkspace();
    fake.setCompany({ realmId: '123145678901234', name: 'Mine Ltd' });
    const swapped = await callbackWith(ws, (u) => u.searchParams.set('realmId', '999999999999999'));
    expect(resultOf(swapped)).toMatchObject({ status: 'error', code: 'account_lookup_failed' });
    const missing = await callbackWith(ws, (u) => u.searchParams.delete('realmId'));
    expect(resultOf(missing)).toMatchObject({ status: 'error', code: 'account_lookup_failed' });
    const injected = await callbackWith(ws, (u) => u.searchParams.set('realmId', '1/../../admin'));
    expect(resultOf(injected)).toMatchObject({ status: 'error', code: 'account_lookup_failed' });
    expect(await rowsOf(ws)).toHaveLength(0);
  });

  it('refreshes with a changed refresh-token value: the new one sealed, the previous one refused by Intuit', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'quickbooks' });
    const grant = lastGrant();
    const [oldAccess, oldRefresh] = [grant.accessToken, grant.refreshToken!];
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('refreshed');
    expect(grant.refreshToken).not.toBe(oldRefresh);
    const row = await rowOf(integrationId);
    expect(t.deps.sealer.open(row.id, row.credentials!)).toMatchObject({ type: 'oauth2', tokens: { accessToken: grant.accessToken, refreshToken: grant.refreshToken } });
    expect(grant.accessToken).not.toBe(oldAccess);
    expect(row.lastRefreshedAt).not.toBeNull();
    expect(await presentRefreshToken(oldRefresh)).toEqual({ status: 400, body: { error_description: 'Token invalid', error: 'invalid_grant' } });
    // The stored value still works: the hub keeps refreshing on it.
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('refreshed');
  });

  it('refreshes when Intuit answers the same refresh-token value: it stays stored', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'quickbooks' });
    const grant = lastGrant();
    const [oldAccess, refreshToken] = [grant.accessToken, grant.refreshToken!];
    fake.setRefreshRotation(false);
    try {
      expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('refreshed');
    } finally {
      fake.setRefreshRotation(true);
    }
    expect(grant.refreshToken).toBe(refreshToken);
    const row = await rowOf(integrationId);
    const stored = t.deps.sealer.open(row.id, row.credentials!);
    expect(stored).toMatchObject({ type: 'oauth2', tokens: { refreshToken } });
    expect(stored.type === 'oauth2' && stored.tokens.accessToken).not.toBe(oldAccess);
  });

  it('marks the connection needs_reauth when Intuit answers 400 invalid_grant, and stops there', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'quickbooks' });
    lastGrant().revoked = true;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('needs_reauth');
    const row = await rowOf(integrationId);
    expect(row).toMatchObject({ status: 'needs_reauth', lastError: 'refresh_failed: invalid_grant', nextRefreshAt: null });
    const audits = await t.deps.database.db.select().from(auditEvents).where(eq(auditEvents.connectionId, integrationId));
    expect(audits.map((a) => a.action)).toContain('needs_reauth');
    const calls = fake.calls.refreshes;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('not_refreshable');
    expect(fake.calls.refreshes).toBe(calls);
  });

  it('reports a refused code exchange as token_exchange_failed and access_denied as such, storing nothing', async () => {
    const ws = t.newWorkspace();
    fake.failNextToken(400, 'invalid_grant');
    const refused = await callbackWith(ws, () => undefined);
    expect(refused.headers.location).toBe(`${RETURN}?status=error&slug=quickbooks&code=token_exchange_failed`);
    fake.denyNext('access_denied');
    const denied = await callbackWith(ws, () => undefined);
    expect(resultOf(denied)).toMatchObject({ status: 'error', code: 'access_denied' });
    expect(await rowsOf(ws)).toHaveLength(0);
  });

  it('disconnects: revokes the refresh token with Basic auth and a JSON body, forgets the credentials', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'quickbooks' });
    const grant = lastGrant();
    const headers = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
    const revokes = fake.calls.revokes;
    const res = await t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/${integrationId}/disconnect`, headers });
    expect(res.statusCode).toBe(200);
    expect(res.json().integration).toMatchObject({ status: 'disconnected', lastError: null });
    expect(fake.calls.revokes).toBe(revokes + 1);
    expect(fake.revokeRequests.at(-1)).toEqual({ basicClientId: fake.clientId, contentType: 'json', body: { token: grant.refreshToken } });
    expect(grant.revoked).toBe(true);
    expect(await rowOf(integrationId)).toMatchObject({ credentials: null, status: 'disconnected', nextRefreshAt: null });
    const again = await t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/${integrationId}/disconnect`, headers });
    expect(again.statusCode).toBe(200);
    expect(fake.calls.revokes).toBe(revokes + 1);
  });
});
