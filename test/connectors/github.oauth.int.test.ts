// GitHub end to end against a fake GitHub: App user tokens (8 h, rotating refresh) and OAuth App tokens (no
// expiry, no refresh), HTTP-200 errors, form-encoded default answers, revocation through the REST API.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, connections } from '../../src/db/schema.js';
import { GITHUB_PATHS, startFakeGitHub, type FakeGitHub } from '../fakes/github.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { callCallback, connectViaOAuth, consentAtProvider, openAuthorizationUrl, providerEnvFor, resultOf, startConnect } from '../support/oauth-flow.js';

let fake: FakeGitHub;
let t: TestApp;

beforeAll(async () => {
  fake = await startFakeGitHub({ user: { id: 583231, login: 'octocat', name: 'The Octocat' }, installations: [1234567, 7654321] });
  t = await buildTestApp({ ...providerEnvFor('GITHUB', fake, GITHUB_PATHS), HUB_ALLOWED_RETURN_ORIGINS: 'https://dash.example.com' });
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

const rowOf = async (id: string) => (await t.deps.database.db.select().from(connections).where(eq(connections.id, id)))[0]!;
const rowsIn = (ws: string) => t.deps.database.db.select().from(connections).where(eq(connections.workspaceId, ws));
const lastGrant = () => [...fake.grants.values()].at(-1)!;

async function view(ws: string, id: string) {
  const res = await t.app.inject({ url: `/workspaces/${ws}/integrations/${id}`, headers: { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` } });
  return res.json().integration;
}

describe('GitHub App user tokens', () => {
  it('connects with PKCE, asks for JSON, finds the user and their installations', async () => {
    fake.setKind('app');
    const ws = t.newWorkspace();
    const started = await startConnect(t, { workspaceId: ws, slug: 'github' });
    const visit = await openAuthorizationUrl(t, started.json().authorizationUrl);
    expect(visit.providerUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(visit.providerUrl.searchParams.get('scope')).toBe('read:user read:org repo');
    const callback = await callCallback(t, await consentAtProvider(visit.providerUrl), visit.cookie);
    const { integrationId } = resultOf(callback);
    expect(integrationId).toMatch(/^conn_/);
    expect(fake.tokenAccepts.at(-1)).toContain('application/json');

    const connection = await view(ws, integrationId!);
    // A GitHub App user token carries the App's permissions, not OAuth scopes: GitHub says `scope=""`.
    expect(connection).toMatchObject({ status: 'active', account: { id: '583231', name: 'octocat' }, scopes: [] });
    expect(new Date(connection.expiresAt).getTime()).toBeGreaterThan(Date.now() + 7.9 * 3600_000);
    const row = await rowOf(integrationId!);
    expect(row.metadata).toEqual({ login: 'octocat', userId: '583231', installationIds: '1234567,7654321', authMethod: 'oauth2' });
    expect(row.routingKeys).toEqual(['user:583231', 'installation:1234567', 'installation:7654321']);
    expect(row.nextRefreshAt).not.toBeNull();
    const stored = t.deps.sealer.open(row.id, row.credentials!);
    expect(stored).toMatchObject({ type: 'oauth2', tokens: { accessToken: lastGrant().accessToken, refreshToken: lastGrant().refreshToken } });
    expect(stored.type === 'oauth2' && typeof stored.tokens.extra?.refreshTokenExpiresAt).toBe('string');
  });

  it('refreshes: the single-use refresh token is replaced in the vault and the old one is dead', async () => {
    fake.setKind('app');
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'github' });
    const grant = lastGrant();
    const [oldAccess, oldRefresh] = [grant.accessToken, grant.refreshToken!];
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('refreshed');
    expect(grant.refreshToken).not.toBe(oldRefresh);
    const stored = t.deps.sealer.open(integrationId, (await rowOf(integrationId)).credentials!);
    expect(stored).toMatchObject({ type: 'oauth2', tokens: { accessToken: grant.accessToken, refreshToken: grant.refreshToken } });
    expect(fake.grantOfAccessToken(oldAccess)).toBeUndefined();

    // The old refresh token, presented as a client without Accept: application/json would: HTTP 200, form-encoded.
    const res = await fetch(fake.url + GITHUB_PATHS.token, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: fake.clientId, client_secret: fake.clientSecret, grant_type: 'refresh_token', refresh_token: oldRefresh }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/x-www-form-urlencoded/);
    expect(new URLSearchParams(await res.text()).get('error')).toBe('bad_refresh_token');
  });

  it('marks the connection needs_reauth on bad_refresh_token (HTTP 200), once', async () => {
    fake.setKind('app');
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'github' });
    lastGrant().revoked = true;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('needs_reauth');
    expect(await view(ws, integrationId)).toMatchObject({ status: 'needs_reauth', lastError: 'refresh_failed: bad_refresh_token' });
    const audits = await t.deps.database.db.select().from(auditEvents).where(eq(auditEvents.connectionId, integrationId));
    expect(audits.map((a) => a.action)).toContain('needs_reauth');
    const calls = fake.calls.refreshes;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('not_refreshable');
    expect(fake.calls.refreshes).toBe(calls);
  });

  it('disconnects: DELETE /applications/{client_id}/token with Basic auth and a JSON body; idempotent', async () => {
    fake.setKind('app');
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'github' });
    const grant = lastGrant();
    const accessToken = grant.accessToken;
    const token = await t.token({ workspaces: [ws] });
    const disconnect = () => t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/${integrationId}/disconnect`, headers: { authorization: `Bearer ${token}` } });
    const res = await disconnect();
    expect(res.statusCode).toBe(200);
    expect(res.json().integration).toMatchObject({ status: 'disconnected', lastError: null });
    expect(fake.revocations.at(-1)).toEqual({ clientId: fake.clientId, basic: true, contentType: 'json', token: accessToken, status: 204 });
    expect(grant.revoked).toBe(true);
    expect(await rowOf(integrationId)).toMatchObject({ credentials: null, status: 'disconnected' });
    const revokes = fake.calls.revokes;
    expect((await disconnect()).statusCode).toBe(200);
    expect(fake.calls.revokes).toBe(revokes);
  });
});

describe('GitHub OAuth App tokens', () => {
  it('connects a token that never expires: comma-separated scopes, no refresh scheduled, nothing to refresh', async () => {
    fake.setKind('oauth-app');
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'github', scopes: ['user:email'] });
    const connection = await view(ws, integrationId);
    expect(connection).toMatchObject({ status: 'active', account: { id: '583231', name: 'octocat' }, expiresAt: null });
    expect(connection.scopes).toEqual(['read:user', 'read:org', 'repo', 'user:email']);
    const row = await rowOf(integrationId);
    // OAuth App tokens cannot list App installations: the user is the only tenant key.
    expect(row.routingKeys).toEqual(['user:583231']);
    expect(row.nextRefreshAt).toBeNull();
    const stored = t.deps.sealer.open(row.id, row.credentials!);
    if (stored.type !== 'oauth2') throw new Error('expected OAuth tokens');
    expect(stored.tokens.accessToken).toBe(lastGrant().accessToken);
    expect(stored.tokens.refreshToken).toBeUndefined();
    const calls = fake.calls.token;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('not_refreshable');
    expect(fake.calls.token).toBe(calls);
  });
});

describe('GitHub errors', () => {
  it('a code GitHub refuses (bad_verification_code with HTTP 200) is token_exchange_failed, nothing stored', async () => {
    const ws = t.newWorkspace();
    const started = await startConnect(t, { workspaceId: ws, slug: 'github' });
    const visit = await openAuthorizationUrl(t, started.json().authorizationUrl);
    const callbackPath = (await consentAtProvider(visit.providerUrl)).replace(/code=[^&]+/, 'code=not-a-code');
    const exchanges = fake.calls.codeExchanges;
    const result = resultOf(await callCallback(t, callbackPath, visit.cookie));
    expect(result).toMatchObject({ status: 'error', code: 'token_exchange_failed' });
    expect(fake.calls.codeExchanges).toBe(exchanges + 1);
    expect(await rowsIn(ws)).toEqual([]);
    expect(t.logs.text()).not.toContain('not-a-code');
  });

  it('access_denied at GitHub comes back as code=access_denied, with no token call and nothing stored', async () => {
    const ws = t.newWorkspace();
    const started = await startConnect(t, { workspaceId: ws, slug: 'github', returnUrl: 'https://dash.example.com/back' });
    const visit = await openAuthorizationUrl(t, started.json().authorizationUrl);
    fake.denyNext('access_denied');
    const tokenCalls = fake.calls.token;
    const callback = await callCallback(t, await consentAtProvider(visit.providerUrl), visit.cookie);
    expect(callback.statusCode).toBe(302);
    expect(resultOf(callback)).toMatchObject({ status: 'error', code: 'access_denied' });
    expect(fake.calls.token).toBe(tokenCalls);
    expect(await rowsIn(ws)).toEqual([]);
  });
});
