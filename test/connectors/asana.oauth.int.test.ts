// Asana end to end against a fake Asana: PKCE with body credentials, the user and workspaces from /users/me,
// refresh keeping (or, if Asana rotates, replacing) the refresh token, invalid_grant, form-encoded revoke.
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connections } from '../../src/db/schema.js';
import { ASANA_PATHS, startFakeAsana, type FakeAsana } from '../fakes/asana.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { callCallback, connectViaOAuth, consentAtProvider, openAuthorizationUrl, providerEnvFor, resultOf, startConnect } from '../support/oauth-flow.js';

let fake: FakeAsana;
let t: TestApp;

beforeAll(async () => {
  fake = await startFakeAsana();
  t = await buildTestApp({ ...providerEnvFor('ASANA', fake, ASANA_PATHS), HUB_ALLOWED_RETURN_ORIGINS: 'https://dash.example.com' });
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
afterEach(() => fake.setRotation(false));

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
const connect = (ws: string) => connectViaOAuth(t, { workspaceId: ws, slug: 'asana' });

async function startAtProvider(ws: string) {
  const started = (await startConnect(t, { workspaceId: ws, slug: 'asana', returnUrl: 'https://dash.example.com/back' })).json();
  return openAuthorizationUrl(t, started.authorizationUrl);
}

describe('Asana connect', () => {
  it('uses S256 PKCE, and makes the user the account with their workspaces', async () => {
    const ws = t.newWorkspace();
    const visit = await startAtProvider(ws);
    expect(visit.providerUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(visit.providerUrl.searchParams.get('scope')!.split(' ')).toContain('tasks:read');
    fake.nextUser({ gid: '1200000000000001', name: 'Grace CFO', workspaces: [{ gid: '1100000000000001', name: 'Acme' }, { gid: '1100000000000002', name: 'Acme Labs' }] });
    const { integrationId } = resultOf(await callCallback(t, await consentAtProvider(visit.providerUrl), visit.cookie));
    const row = await rowOf(integrationId!);
    expect(row).toMatchObject({
      status: 'active',
      externalAccountId: '1200000000000001',
      externalAccountName: 'Grace CFO',
      metadata: { userGid: '1200000000000001', email: 'ada@example.com', workspaceGid: '1100000000000001', workspaceGids: '1100000000000001,1100000000000002' },
      routingKeys: ['user:1200000000000001', 'workspace:1100000000000001', 'workspace:1100000000000002'],
      // Asana's answer names no scopes: the ones asked for are kept.
      scopes: ['users:read', 'workspaces:read', 'projects:read', 'tasks:read', 'goals:read'],
    });
    expect(row.accessExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 3000_000);
    const grant = latestGrant();
    expect(await sealed(integrationId!)).toMatchObject({ accessToken: grant.accessToken, refreshToken: grant.refreshToken });
  });

  it('turns a refused code exchange into token_exchange_failed, storing nothing', async () => {
    const ws = t.newWorkspace();
    const visit = await startAtProvider(ws);
    const callbackPath = await consentAtProvider(visit.providerUrl);
    fake.failNextToken(400, 'invalid_grant');
    expect(resultOf(await callCallback(t, callbackPath, visit.cookie))).toMatchObject({ status: 'error', code: 'token_exchange_failed' });
    expect(await rowsOf(ws)).toHaveLength(0);
  });

  it('carries access_denied to the return URL, storing nothing', async () => {
    const ws = t.newWorkspace();
    const visit = await startAtProvider(ws);
    fake.denyNext('access_denied');
    const res = await callCallback(t, await consentAtProvider(visit.providerUrl), visit.cookie);
    expect(res.headers.location).toBe('https://dash.example.com/back?status=error&slug=asana&code=access_denied');
    expect(await rowsOf(ws)).toHaveLength(0);
  });
});

describe('Asana refresh', () => {
  it('keeps the refresh token when the answer omits it, and stores the new access token', async () => {
    const { integrationId } = await connect(t.newWorkspace());
    const grant = latestGrant();
    const refreshToken = grant.refreshToken;
    const oldAccess = grant.accessToken;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('refreshed');
    expect(grant.accessToken).not.toBe(oldAccess);
    expect(grant.refreshToken).toBe(refreshToken);
    expect(await sealed(integrationId)).toMatchObject({ accessToken: grant.accessToken, refreshToken });
    expect((await rowOf(integrationId)).nextRefreshAt!.getTime()).toBeGreaterThan(Date.now());
  });

  it('stores a new refresh token should Asana rotate it, and the old one is then dead', async () => {
    const { integrationId } = await connect(t.newWorkspace());
    const grant = latestGrant();
    const oldRefresh = grant.refreshToken!;
    fake.setRotation(true);
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('refreshed');
    expect(grant.refreshToken).not.toBe(oldRefresh);
    expect(await sealed(integrationId)).toMatchObject({ accessToken: grant.accessToken, refreshToken: grant.refreshToken });
    const replay = await fetch(fake.url + ASANA_PATHS.token, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: oldRefresh, client_id: fake.clientId, client_secret: fake.clientSecret }),
    });
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error?: string }).error).toBe('invalid_grant');
  });

  it('marks invalid_grant needs_reauth and stops refreshing', async () => {
    const { integrationId } = await connect(t.newWorkspace());
    latestGrant().revoked = true;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('needs_reauth');
    expect(await rowOf(integrationId)).toMatchObject({ status: 'needs_reauth', nextRefreshAt: null, lastError: 'refresh_failed: invalid_grant' });
    const calls = fake.calls.refreshes;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('not_refreshable');
    expect(fake.calls.refreshes).toBe(calls);
  });
});

describe('Asana disconnect', () => {
  it('revokes the refresh token with body credentials in a form, forgets the credentials, and is idempotent', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connect(ws);
    const grant = latestGrant();
    const token = await t.token({ workspaces: [ws] });
    const disconnect = () => t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/${integrationId}/disconnect`, headers: { authorization: `Bearer ${token}` } });
    const revokes = fake.calls.revokes;
    const res = await disconnect();
    expect(res.statusCode).toBe(200);
    expect(res.json().integration).toMatchObject({ status: 'disconnected', lastError: null });
    expect(fake.calls.revokes).toBe(revokes + 1);
    expect(grant.revoked).toBe(true);
    expect(await rowOf(integrationId)).toMatchObject({ credentials: null, status: 'disconnected' });
    expect((await disconnect()).statusCode).toBe(200);
    expect(fake.calls.revokes).toBe(revokes + 1);
  });
});
