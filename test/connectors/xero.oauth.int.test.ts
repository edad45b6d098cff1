// Xero end to end: connect → callback (tenant from /connections by auth event) → refresh → disconnect against a fake Xero.
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditEvents, connections } from '../../src/db/schema.js';
import { REFRESH_GRACE_MS, XERO_PATHS, connectionRow, startFakeXero, tenant, type FakeXero } from '../fakes/xero.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { callCallback, connectViaOAuth, consentAtProvider, openAuthorizationUrl, providerEnvFor, resultOf, startConnect } from '../support/oauth-flow.js';

let fake: FakeXero;
let t: TestApp;
const RETURN = 'https://cfo.example.com/integrations';

beforeAll(async () => {
  fake = await startFakeXero();
  t = await buildTestApp({ ...providerEnvFor('XERO', fake, XERO_PATHS), HUB_ALLOWED_RETURN_ORIGINS: 'https://cfo.example.com' });
  await t.app.ready();
});
afterEach(() => {
  vi.useRealTimers();
  fake.setConsentTenants([tenant('Demo Company (Global)')]);
  fake.earlierConnections.length = 0;
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

const rowOf = async (id: string) => (await t.deps.database.db.select().from(connections).where(eq(connections.id, id)))[0]!;
const rowsOf = (ws: string) => t.deps.database.db.select().from(connections).where(eq(connections.workspaceId, ws));
const lastGrant = () => [...fake.grants.values()].at(-1)!;

async function presentRefreshToken(refreshToken: string) {
  const res = await fetch(fake.url + XERO_PATHS.token, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${fake.clientId}:${fake.clientSecret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function callbackOnce(ws: string) {
  const started = (await startConnect(t, { workspaceId: ws, slug: 'xero', returnUrl: RETURN })).json();
  const visit = await openAuthorizationUrl(t, started.authorizationUrl);
  return callCallback(t, await consentAtProvider(visit.providerUrl), visit.cookie);
}

describe('Xero OAuth', () => {
  it('connects with PKCE and picks, among the user\'s tenants, the one this consent authorised', async () => {
    const ws = t.newWorkspace();
    // The same user connected two other organisations to the app before, in other consents.
    fake.earlierConnections.push(connectionRow(tenant('Old Books Ltd')), connectionRow(tenant('Sister Co')));
    const chosen = tenant('Acme Holdings');
    fake.setConsentTenants([chosen]);
    const started = (await startConnect(t, { workspaceId: ws, slug: 'xero', returnUrl: RETURN })).json();
    const visit = await openAuthorizationUrl(t, started.authorizationUrl);
    expect(visit.providerUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(visit.providerUrl.searchParams.get('scope')!.split(' ')).toContain('offline_access');
    const callback = await callCallback(t, await consentAtProvider(visit.providerUrl), visit.cookie);
    const { status, integrationId } = resultOf(callback);
    expect(status).toBe('connected');

    const grant = lastGrant();
    const connection = (grant.extra.connections as { id: string }[])[0]!;
    const row = await rowOf(integrationId!);
    expect(row).toMatchObject({
      externalAccountId: chosen.tenantId,
      externalAccountName: 'Acme Holdings',
      metadata: { tenantId: chosen.tenantId, tenantType: 'ORGANISATION', xeroConnectionId: connection.id },
      routingKeys: [`tenant:${chosen.tenantId}`],
      status: 'active',
    });
    expect(row.scopes).toEqual(expect.arrayContaining(['offline_access', 'accounting.invoices.read']));
    expect(row.accessExpiresAt!.getTime() - Date.now()).toBeGreaterThan(1700_000);
    expect(t.deps.sealer.open(row.id, row.credentials!)).toMatchObject({ type: 'oauth2', tokens: { accessToken: grant.accessToken, refreshToken: grant.refreshToken } });
    expect(row.credentials).not.toContain(grant.refreshToken);
  });

  it('prefers the organisation when one consent authorised a practice and an organisation', async () => {
    const ws = t.newWorkspace();
    const org = tenant('Client Org');
    fake.earlierConnections.push(connectionRow(tenant('Someone Else')));
    fake.setConsentTenants([tenant('Our Practice', 'PRACTICE'), org]);
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'xero' });
    expect((await rowOf(integrationId)).externalAccountId).toBe(org.tenantId);
  });

  it('stores nothing when the consent authorised no tenant', async () => {
    const ws = t.newWorkspace();
    fake.setConsentTenants([]);
    expect(resultOf(await callbackOnce(ws))).toMatchObject({ status: 'error', code: 'account_lookup_failed' });
    expect(await rowsOf(ws)).toHaveLength(0);
  });

  it('refreshes with rotation: the new refresh token sealed, the old one dead once the 30-minute grace is over', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'xero' });
    const grant = lastGrant();
    const oldRefresh = grant.refreshToken!;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('refreshed');
    expect(grant.refreshToken).not.toBe(oldRefresh);
    const row = await rowOf(integrationId);
    expect(t.deps.sealer.open(row.id, row.credentials!)).toMatchObject({ type: 'oauth2', tokens: { accessToken: grant.accessToken, refreshToken: grant.refreshToken } });

    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + REFRESH_GRACE_MS + 60_000 });
    expect(await presentRefreshToken(oldRefresh)).toEqual({ status: 400, body: { error: 'invalid_grant' } });
    // The sealed one is the live one.
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('refreshed');
    expect(grant.revoked).toBe(false);
  });

  it('marks the connection needs_reauth on invalid_grant (revoked or expired grant), with an audit event', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'xero' });
    lastGrant().revoked = true;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('needs_reauth');
    expect(await rowOf(integrationId)).toMatchObject({ status: 'needs_reauth', lastError: 'refresh_failed: invalid_grant', nextRefreshAt: null });
    const audits = await t.deps.database.db.select().from(auditEvents).where(eq(auditEvents.connectionId, integrationId));
    expect(audits.map((a) => a.action)).toContain('needs_reauth');
  });

  it('reports a refused code exchange as token_exchange_failed and access_denied as such, storing nothing', async () => {
    const ws = t.newWorkspace();
    fake.failNextToken(400, 'invalid_grant');
    expect((await callbackOnce(ws)).headers.location).toBe(`${RETURN}?status=error&slug=xero&code=token_exchange_failed`);
    fake.denyNext('access_denied');
    expect(resultOf(await callbackOnce(ws))).toMatchObject({ status: 'error', code: 'access_denied' });
    expect(await rowsOf(ws)).toHaveLength(0);
  });

  it('disconnects: revokes the refresh token (form, Basic), which also ends the tenant connection', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'xero' });
    const grant = lastGrant();
    const accessToken = grant.accessToken;
    const headers = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
    const revokes = fake.calls.revokes;
    const res = await t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/${integrationId}/disconnect`, headers });
    expect(res.statusCode).toBe(200);
    expect(res.json().integration).toMatchObject({ status: 'disconnected', lastError: null });
    expect(fake.calls.revokes).toBe(revokes + 1);
    expect(fake.revokeRequests.at(-1)).toEqual({ basicClientId: fake.clientId, contentType: 'form', body: { token: grant.refreshToken } });
    expect(grant.revoked).toBe(true);
    const after = await fetch(`${fake.url}/connections`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(after.status).toBe(401);
    expect(await rowOf(integrationId)).toMatchObject({ credentials: null, status: 'disconnected' });
    expect((await t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/${integrationId}/disconnect`, headers })).statusCode).toBe(200);
    expect(fake.calls.revokes).toBe(revokes + 1);
  });
});
