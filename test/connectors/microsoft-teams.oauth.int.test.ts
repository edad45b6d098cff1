// Microsoft Teams end to end against a fake Entra + Graph: the tenant placeholder, the `tid` claim (or the ID
// token for opaque tokens), Graph scopes read back, refresh-token replacement, AADSTS dead grants, no revocation.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connections } from '../../src/db/schema.js';
import { CONSUMER_TENANT, MICROSOFT_PATHS, startFakeMicrosoft, type FakeMicrosoft } from '../fakes/microsoft.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { callCallback, connectViaOAuth, consentAtProvider, openAuthorizationUrl, providerEnvFor, resultOf, startConnect } from '../support/oauth-flow.js';

let fake: FakeMicrosoft;
let t: TestApp;

beforeAll(async () => {
  fake = await startFakeMicrosoft();
  t = await buildTestApp({
    ...providerEnvFor('MICROSOFT', fake, { api: MICROSOFT_PATHS.api }),
    // The overrides keep the {tenant} placeholder, so MICROSOFT_TENANT still picks the tenant path.
    MICROSOFT_AUTHORIZE_URL: `${fake.url}/{tenant}/oauth2/v2.0/authorize`,
    MICROSOFT_TOKEN_URL: `${fake.url}/{tenant}/oauth2/v2.0/token`,
    MICROSOFT_TENANT: 'organizations',
    HUB_ALLOWED_RETURN_ORIGINS: 'https://dash.example.com',
  });
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

const latestGrant = () => [...fake.grants.values()].at(-1)!;
async function rowOf(id: string) {
  const [row] = await t.deps.database.db.select().from(connections).where(eq(connections.id, id));
  return row!;
}
const rowsOf = (ws: string) => t.deps.database.db.select().from(connections).where(eq(connections.workspaceId, ws));
async function sealed(id: string) {
  const row = await rowOf(id);
  const stored = t.deps.sealer.open(row.id, row.credentials!);
  if (stored.type !== 'oauth2') throw new Error('not oauth2 credentials');
  return stored.tokens;
}
const connect = (ws: string, scopes?: string[]) => connectViaOAuth(t, { workspaceId: ws, slug: 'microsoft-teams', scopes });

async function startAtProvider(ws: string) {
  const started = (await startConnect(t, { workspaceId: ws, slug: 'microsoft-teams', returnUrl: 'https://dash.example.com/back' })).json();
  return openAuthorizationUrl(t, started.authorizationUrl);
}

describe('Microsoft Teams connect', () => {
  it('reads the tenant from the access token, names the user, and keeps Graph scopes by their declared names', async () => {
    const ws = t.newWorkspace();
    const visit = await startAtProvider(ws);
    expect(visit.providerUrl.pathname).toBe('/organizations/oauth2/v2.0/authorize');
    expect(visit.providerUrl.searchParams.get('response_mode')).toBe('query');
    expect(visit.providerUrl.searchParams.get('code_challenge_method')).toBe('S256');
    fake.nextUser({ tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', userId: '6b1f6d1e-3a2b-4c5d-8e9f-0a1b2c3d4e5f', displayName: 'Grace CTO' });
    const { integrationId } = resultOf(await callCallback(t, await consentAtProvider(visit.providerUrl), visit.cookie));
    const row = await rowOf(integrationId!);
    expect(row).toMatchObject({
      status: 'active',
      externalAccountId: '6b1f6d1e-3a2b-4c5d-8e9f-0a1b2c3d4e5f',
      externalAccountName: 'Grace CTO',
      metadata: { tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', userId: '6b1f6d1e-3a2b-4c5d-8e9f-0a1b2c3d4e5f', userPrincipalName: 'ada@acme.example' },
      routingKeys: ['tenant:72f988bf-86f1-41af-91ab-2d7cd011db47', 'user:6b1f6d1e-3a2b-4c5d-8e9f-0a1b2c3d4e5f'],
      scopes: ['User.Read', 'Team.ReadBasic.All', 'Calendars.Read', 'Chat.ReadBasic'],
    });
    const lifetimeMs = row.accessExpiresAt!.getTime() - Date.now();
    expect(lifetimeMs).toBeGreaterThan(3500_000);
    expect(lifetimeMs).toBeLessThanOrEqual(5400_000);
    expect(await sealed(integrationId!)).toMatchObject({ accessToken: latestGrant().accessToken, refreshToken: latestGrant().refreshToken });
  });

  it('takes the tenant from the ID token when the access token is opaque (personal account)', async () => {
    fake.nextUser({ tenantId: CONSUMER_TENANT, userId: '00000000-0000-0000-40c1-23ab45cd67ef', tokenFormat: 'opaque' });
    const { integrationId } = await connect(t.newWorkspace(), ['openid']);
    expect(await rowOf(integrationId)).toMatchObject({ metadata: { tenantId: CONSUMER_TENANT }, routingKeys: [`tenant:${CONSUMER_TENANT}`, 'user:00000000-0000-0000-40c1-23ab45cd67ef'] });
  });

  it('still connects, without a tenant key, when no token carries claims', async () => {
    fake.nextUser({ userId: '00000000-0000-0000-40c1-000000000001', tokenFormat: 'opaque' });
    const { integrationId } = await connect(t.newWorkspace());
    const row = await rowOf(integrationId);
    expect(row.metadata).not.toHaveProperty('tenantId');
    expect(row.routingKeys).toEqual(['user:00000000-0000-0000-40c1-000000000001']);
  });

  it('turns a refused code exchange (AADSTS54005) into token_exchange_failed, storing nothing', async () => {
    const ws = t.newWorkspace();
    const visit = await startAtProvider(ws);
    const callbackPath = await consentAtProvider(visit.providerUrl);
    fake.failNextTokenWith('invalid_grant', 54005);
    expect(resultOf(await callCallback(t, callbackPath, visit.cookie))).toMatchObject({ status: 'error', code: 'token_exchange_failed' });
    expect(await rowsOf(ws)).toHaveLength(0);
  });

  it('carries access_denied to the return URL, storing nothing', async () => {
    const ws = t.newWorkspace();
    const visit = await startAtProvider(ws);
    fake.denyNext('access_denied');
    const res = await callCallback(t, await consentAtProvider(visit.providerUrl), visit.cookie);
    expect(res.headers.location).toBe('https://dash.example.com/back?status=error&slug=microsoft-teams&code=access_denied');
    expect(await rowsOf(ws)).toHaveLength(0);
  });
});

describe('Microsoft Teams refresh', () => {
  it('stores the refresh token that replaces the old one on every use', async () => {
    const { integrationId } = await connect(t.newWorkspace());
    const grant = latestGrant();
    const oldRefresh = grant.refreshToken;
    const oldAccess = grant.accessToken;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('refreshed');
    expect(grant.refreshToken).not.toBe(oldRefresh);
    expect(grant.retiredRefreshTokens).toContain(oldRefresh);
    const tokens = await sealed(integrationId);
    expect(tokens).toMatchObject({ accessToken: grant.accessToken, refreshToken: grant.refreshToken });
    expect(tokens.accessToken).not.toBe(oldAccess);
    expect(tokens.scopes).toEqual(['User.Read', 'Team.ReadBasic.All', 'Calendars.Read', 'Chat.ReadBasic']);
  });

  it.each([
    ['invalid_grant', 700082],
    ['invalid_grant', 50173],
    ['invalid_grant', 70008],
    ['interaction_required', 50076],
    ['interaction_required', 65001],
  ])('marks %s AADSTS%i needs_reauth and stops refreshing', async (error, aadsts) => {
    const { integrationId } = await connect(t.newWorkspace());
    fake.failNextTokenWith(error, aadsts);
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('needs_reauth');
    expect(await rowOf(integrationId)).toMatchObject({ status: 'needs_reauth', nextRefreshAt: null, lastError: `refresh_failed: ${error}` });
    const calls = fake.calls.refreshes;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('not_refreshable');
    expect(fake.calls.refreshes).toBe(calls);
  });

  it('backs off on a 503 and stays active', async () => {
    const { integrationId } = await connect(t.newWorkspace());
    fake.failNextToken(503, 'temporarily_unavailable');
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('retry_scheduled');
    expect(await rowOf(integrationId)).toMatchObject({ status: 'active', refreshFailures: 1 });
  });
});

describe('Microsoft Teams disconnect', () => {
  it('has no revocation endpoint: disconnects without calling Microsoft, and is idempotent', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connect(ws);
    const grant = latestGrant();
    const token = await t.token({ workspaces: [ws] });
    const disconnect = () => t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/${integrationId}/disconnect`, headers: { authorization: `Bearer ${token}` } });
    const tokenCalls = fake.calls.token;
    const res = await disconnect();
    expect(res.statusCode).toBe(200);
    expect(res.json().integration).toMatchObject({ status: 'disconnected', lastError: null });
    expect(fake.calls.token).toBe(tokenCalls);
    expect(fake.calls.revokes).toBe(0);
    expect(grant.revoked).toBe(false);
    expect(await rowOf(integrationId)).toMatchObject({ credentials: null, status: 'disconnected' });
    expect((await disconnect()).statusCode).toBe(200);
  });
});
