// Notion end to end against a fake Notion: Basic + JSON token calls, the workspace account, rotating refresh
// tokens without expiry, both error shapes of a dead grant, and the Basic + JSON revoke.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connections } from '../../src/db/schema.js';
import { NOTION_PATHS, startFakeNotion, type FakeNotion } from '../fakes/notion.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { callCallback, connectViaOAuth, consentAtProvider, openAuthorizationUrl, providerEnvFor, resultOf, startConnect } from '../support/oauth-flow.js';

let fake: FakeNotion;
let t: TestApp;

beforeAll(async () => {
  fake = await startFakeNotion();
  t = await buildTestApp({ ...providerEnvFor('NOTION', fake, NOTION_PATHS), HUB_ALLOWED_RETURN_ORIGINS: 'https://dash.example.com' });
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
const connect = (ws: string) => connectViaOAuth(t, { workspaceId: ws, slug: 'notion' });

async function startAtProvider(ws: string) {
  const started = (await startConnect(t, { workspaceId: ws, slug: 'notion', returnUrl: 'https://dash.example.com/back' })).json();
  return openAuthorizationUrl(t, started.authorizationUrl);
}

describe('Notion connect', () => {
  it('asks for owner=user without PKCE or scopes, and makes the workspace the account', async () => {
    const ws = t.newWorkspace();
    const visit = await startAtProvider(ws);
    expect(visit.providerUrl.searchParams.get('owner')).toBe('user');
    expect(visit.providerUrl.searchParams.has('code_challenge')).toBe(false);
    expect(visit.providerUrl.searchParams.has('scope')).toBe(false);
    fake.nextWorkspace({ workspaceId: 'a1b2c3d4-0000-4000-8000-00000000beef', workspaceName: 'Board Room' });
    const res = await callCallback(t, await consentAtProvider(visit.providerUrl), visit.cookie);
    const { integrationId } = resultOf(res);
    expect(integrationId).toMatch(/^conn_/);
    const grant = latestGrant();
    const row = await rowOf(integrationId!);
    expect(row).toMatchObject({
      status: 'active',
      externalAccountId: 'a1b2c3d4-0000-4000-8000-00000000beef',
      externalAccountName: 'Board Room',
      metadata: { workspaceId: 'a1b2c3d4-0000-4000-8000-00000000beef', botId: grant.extra.botId, workspaceName: 'Board Room', ownerType: 'user', ownerUserId: grant.extra.userId },
      routingKeys: ['workspace:a1b2c3d4-0000-4000-8000-00000000beef'],
      scopes: [],
      // Notion documents no lifetime: nothing to schedule.
      accessExpiresAt: null,
      nextRefreshAt: null,
    });
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
    expect(res.headers.location).toBe('https://dash.example.com/back?status=error&slug=notion&code=access_denied');
    expect(await rowsOf(ws)).toHaveLength(0);
  });
});

describe('Notion refresh', () => {
  it('rotates: the new refresh token is sealed and the old one is dead at Notion', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connect(ws);
    const grant = latestGrant();
    const oldRefresh = grant.refreshToken!;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('refreshed');
    expect(grant.refreshToken).not.toBe(oldRefresh);
    expect(await sealed(integrationId)).toMatchObject({ accessToken: grant.accessToken, refreshToken: grant.refreshToken });
    const replay = await fetch(fake.url + NOTION_PATHS.token, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${fake.clientId}:${fake.clientSecret}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: oldRefresh }),
    });
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error?: string }).error).toBe('invalid_grant');
  });

  it('marks an RFC 6749 invalid_grant needs_reauth', async () => {
    const { integrationId } = await connect(t.newWorkspace());
    fake.failNextToken(400, 'invalid_grant');
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('needs_reauth');
    expect(await rowOf(integrationId)).toMatchObject({ status: 'needs_reauth', lastError: 'refresh_failed: invalid_grant' });
  });

  it("marks invalid_grant in Notion's API error envelope needs_reauth too", async () => {
    const { integrationId } = await connect(t.newWorkspace());
    fake.failNextTokenAsApiError(400, 'invalid_grant');
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('needs_reauth');
    expect(await rowOf(integrationId)).toMatchObject({ status: 'needs_reauth', nextRefreshAt: null, lastError: 'refresh_failed: invalid_grant' });
    const calls = fake.calls.refreshes;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('not_refreshable');
    expect(fake.calls.refreshes).toBe(calls);
  });

  it('backs off on a 503 and stays active', async () => {
    const { integrationId } = await connect(t.newWorkspace());
    fake.failNextTokenAsApiError(503, 'service_unavailable');
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('retry_scheduled');
    expect(await rowOf(integrationId)).toMatchObject({ status: 'active', refreshFailures: 1, lastError: 'refresh_failed: service_unavailable' });
  });
});

describe('Notion disconnect', () => {
  it('revokes the token with HTTP Basic and a JSON body, forgets the credentials, and is idempotent', async () => {
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
