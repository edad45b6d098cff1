// GitLab end to end against a fake GitLab: 2-hour tokens (expiry from created_at when expires_in is missing),
// rotating refresh tokens, Doorkeeper errors, RFC 7009 revocation with the client creds in the body.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents, connections } from '../../src/db/schema.js';
import { GITLAB_PATHS, startFakeGitLab, type FakeGitLab } from '../fakes/gitlab.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { callCallback, connectViaOAuth, consentAtProvider, openAuthorizationUrl, providerEnvFor, resultOf, startConnect } from '../support/oauth-flow.js';

let fake: FakeGitLab;
let t: TestApp;

beforeAll(async () => {
  fake = await startFakeGitLab({ user: { id: 4242, username: 'cto', name: 'Chief Technology Officer' } });
  t = await buildTestApp(providerEnvFor('GITLAB', fake, GITLAB_PATHS));
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
beforeEach(() => {
  fake.quirks.omitExpiresIn = false;
  fake.quirks.createdAtOffsetSeconds = 0;
});

const rowOf = async (id: string) => (await t.deps.database.db.select().from(connections).where(eq(connections.id, id)))[0]!;
const rowsIn = (ws: string) => t.deps.database.db.select().from(connections).where(eq(connections.workspaceId, ws));
const lastGrant = () => [...fake.grants.values()].at(-1)!;

async function view(ws: string, id: string) {
  const res = await t.app.inject({ url: `/workspaces/${ws}/integrations/${id}`, headers: { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` } });
  return res.json().integration;
}

describe('GitLab OAuth', () => {
  it('connects and finds the user on this instance', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'gitlab' });
    const connection = await view(ws, integrationId);
    expect(connection).toMatchObject({ status: 'active', account: { id: '4242', name: 'cto' }, scopes: ['read_api'] });
    const expiresIn = new Date(connection.expiresAt).getTime() - Date.now();
    expect(expiresIn).toBeGreaterThan(7100_000);
    expect(expiresIn).toBeLessThanOrEqual(7200_000);
    const row = await rowOf(integrationId);
    expect(row.metadata).toEqual({ userId: '4242', username: 'cto', instanceUrl: fake.url, authMethod: 'oauth2' });
    expect(row.routingKeys).toEqual(['user:4242']);
    expect(t.deps.sealer.open(row.id, row.credentials!)).toMatchObject({ type: 'oauth2', tokens: { accessToken: lastGrant().accessToken, refreshToken: lastGrant().refreshToken } });
  });

  it('without expires_in, the token expires 7200 s after its created_at', async () => {
    fake.quirks.omitExpiresIn = true;
    // Issued ten minutes ago by GitLab's clock: it has 6,600 s left, not 7,200.
    fake.quirks.createdAtOffsetSeconds = -600;
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'gitlab' });
    const row = await rowOf(integrationId);
    const left = row.accessExpiresAt!.getTime() - Date.now();
    expect(left).toBeGreaterThan(6500_000);
    expect(left).toBeLessThanOrEqual(6600_000);
    expect(row.nextRefreshAt!.getTime()).toBeLessThan(row.accessExpiresAt!.getTime());
  });

  it('refreshes: the rotated refresh token is stored, the old one is dead', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'gitlab' });
    const grant = lastGrant();
    const oldRefresh = grant.refreshToken!;
    fake.quirks.omitExpiresIn = true;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('refreshed');
    expect(grant.refreshToken).not.toBe(oldRefresh);
    expect(grant.retiredRefreshTokens).toContain(oldRefresh);
    const row = await rowOf(integrationId);
    expect(t.deps.sealer.open(row.id, row.credentials!)).toMatchObject({ type: 'oauth2', tokens: { accessToken: grant.accessToken, refreshToken: grant.refreshToken } });
    // The refreshed answer had no expires_in either: still a 2-hour token.
    expect(row.accessExpiresAt!.getTime() - Date.now()).toBeGreaterThan(7100_000);
    const res = await fetch(fake.url + GITLAB_PATHS.token, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: fake.clientId, client_secret: fake.clientSecret, grant_type: 'refresh_token', refresh_token: oldRefresh }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('marks a revoked grant needs_reauth (400 invalid_grant) and stops refreshing it', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'gitlab' });
    lastGrant().revoked = true;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('needs_reauth');
    expect(await view(ws, integrationId)).toMatchObject({ status: 'needs_reauth', lastError: 'refresh_failed: invalid_grant' });
    const audits = await t.deps.database.db.select().from(auditEvents).where(eq(auditEvents.connectionId, integrationId));
    expect(audits.map((a) => a.action)).toContain('needs_reauth');
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('not_refreshable');
  });

  it('disconnects: revokes the refresh token with the client creds in the form body; idempotent', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'gitlab' });
    const grant = lastGrant();
    const token = await t.token({ workspaces: [ws] });
    const disconnect = () => t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/${integrationId}/disconnect`, headers: { authorization: `Bearer ${token}` } });
    const revokes = fake.calls.revokes;
    const res = await disconnect();
    expect(res.statusCode).toBe(200);
    expect(res.json().integration).toMatchObject({ status: 'disconnected', lastError: null });
    // The fake only accepts the revocation with the client's id and secret in the body.
    expect(fake.calls.revokes).toBe(revokes + 1);
    expect(grant.revoked).toBe(true);
    expect(await rowOf(integrationId)).toMatchObject({ credentials: null, status: 'disconnected' });
    expect((await disconnect()).statusCode).toBe(200);
    expect(fake.calls.revokes).toBe(revokes + 1);
  });
});

describe('GitLab errors', () => {
  it('a code GitLab refuses (400 invalid_grant) is token_exchange_failed, nothing stored', async () => {
    const ws = t.newWorkspace();
    const started = await startConnect(t, { workspaceId: ws, slug: 'gitlab' });
    const visit = await openAuthorizationUrl(t, started.json().authorizationUrl);
    expect(visit.providerUrl.searchParams.get('code_challenge_method')).toBe('S256');
    const callbackPath = (await consentAtProvider(visit.providerUrl)).replace(/code=[^&]+/, 'code=expired-code');
    expect(resultOf(await callCallback(t, callbackPath, visit.cookie))).toMatchObject({ status: 'error', code: 'token_exchange_failed' });
    expect(await rowsIn(ws)).toEqual([]);
  });

  it('access_denied comes back as code=access_denied, nothing stored', async () => {
    const ws = t.newWorkspace();
    const started = await startConnect(t, { workspaceId: ws, slug: 'gitlab' });
    const visit = await openAuthorizationUrl(t, started.json().authorizationUrl);
    fake.denyNext('access_denied');
    const tokenCalls = fake.calls.token;
    expect(resultOf(await callCallback(t, await consentAtProvider(visit.providerUrl), visit.cookie))).toMatchObject({ status: 'error', code: 'access_denied' });
    expect(fake.calls.token).toBe(tokenCalls);
    expect(await rowsIn(ws)).toEqual([]);
  });
});
