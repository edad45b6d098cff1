// Slack end to end against a fake Slack: the oauth.v2.access envelope, rotation, Slack's dead-grant errors, auth.revoke.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, connections } from '../../src/db/schema.js';
import { SLACK_PATHS, startFakeSlack, type FakeSlack } from '../fakes/slack.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { callCallback, connectViaOAuth, consentAtProvider, openAuthorizationUrl, providerEnvFor, resultOf, startConnect } from '../support/oauth-flow.js';

let fake: FakeSlack;
let t: TestApp;

beforeAll(async () => {
  fake = await startFakeSlack();
  t = await buildTestApp({ ...providerEnvFor('SLACK', fake, SLACK_PATHS), HUB_ALLOWED_RETURN_ORIGINS: 'https://dash.example.com' });
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
const sealed = async (id: string) => {
  const row = await rowOf(id);
  const stored = t.deps.sealer.open(row.id, row.credentials!);
  if (stored.type !== 'oauth2') throw new Error('not oauth2 credentials');
  return stored.tokens;
};
const connect = (ws: string) => connectViaOAuth(t, { workspaceId: ws, slug: 'slack' });

describe('Slack connect', () => {
  it('stores the top-level bot token, keeps the user token sealed in extra, and names the team', async () => {
    const ws = t.newWorkspace();
    fake.nextInstall({ teamId: 'T0SALES', teamName: 'Acme Sales', userToken: true });
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'slack', scopes: ['channels:history'] });
    expect(fake.lastTokenClientAuth).toBe('basic');
    const grant = latestGrant();
    const row = await rowOf(integrationId);
    expect(row).toMatchObject({
      status: 'active',
      externalAccountId: 'T0SALES',
      externalAccountName: 'Acme Sales',
      metadata: { teamId: 'T0SALES', botUserId: 'U0BOT', appId: 'A0HUB', authedUserId: grant.extra.userId },
      routingKeys: ['team:T0SALES'],
      // Slack separates granted scopes with commas.
      scopes: ['team:read', 'channels:read', 'users:read', 'channels:history'],
    });
    expect(row.accessExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 11 * 3600_000);
    expect(row.nextRefreshAt).not.toBeNull();
    const tokens = await sealed(integrationId);
    expect(tokens).toMatchObject({ accessToken: grant.accessToken, refreshToken: grant.refreshToken, tokenType: 'bot' });
    expect(tokens.accessToken).toMatch(/^xoxe\.xoxb-/);
    expect(tokens.extra).toMatchObject({ authedUser: { id: grant.extra.userId, accessToken: grant.extra.userAccessToken } });
    expect(row.credentials).not.toContain(String(grant.extra.userAccessToken));
  });

  it('makes an org-wide Enterprise Grid install the enterprise account', async () => {
    const ws = t.newWorkspace();
    fake.nextInstall({ enterprise: { id: 'E0GRID', name: 'Acme Group' } });
    const { integrationId } = await connect(ws);
    expect(await rowOf(integrationId)).toMatchObject({
      externalAccountId: 'E0GRID',
      externalAccountName: 'Acme Group',
      metadata: { enterpriseId: 'E0GRID', botUserId: 'U0BOT' },
      routingKeys: ['enterprise:E0GRID'],
    });
  });

  it('reconnecting the same team updates the connection instead of adding one', async () => {
    const ws = t.newWorkspace();
    const first = await connect(ws);
    const second = await connect(ws);
    expect(second.integrationId).toBe(first.integrationId);
    expect(await rowsOf(ws)).toHaveLength(1);
    expect((await sealed(first.integrationId)).accessToken).toBe(latestGrant().accessToken);
  });

  it('without token rotation the bot token never expires and nothing is refreshed', async () => {
    const ws = t.newWorkspace();
    fake.nextInstall({ rotation: false });
    const { integrationId } = await connect(ws);
    const row = await rowOf(integrationId);
    expect(row).toMatchObject({ accessExpiresAt: null, nextRefreshAt: null });
    expect((await sealed(integrationId)).refreshToken).toBeUndefined();
    const calls = fake.calls.token;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('not_refreshable');
    expect(fake.calls.token).toBe(calls);
  });

  it('turns an HTTP 200 ok:false at code exchange into token_exchange_failed, storing nothing', async () => {
    const ws = t.newWorkspace();
    const started = (await startConnect(t, { workspaceId: ws, slug: 'slack', returnUrl: 'https://dash.example.com/back' })).json();
    const visit = await openAuthorizationUrl(t, started.authorizationUrl);
    const callbackPath = await consentAtProvider(visit.providerUrl);
    fake.failNextToken(200, 'invalid_code');
    const res = await callCallback(t, callbackPath, visit.cookie);
    expect(resultOf(res)).toMatchObject({ status: 'error', code: 'token_exchange_failed' });
    expect(await rowsOf(ws)).toHaveLength(0);
  });

  it('carries access_denied to the return URL, storing nothing', async () => {
    const ws = t.newWorkspace();
    const started = (await startConnect(t, { workspaceId: ws, slug: 'slack', returnUrl: 'https://dash.example.com/back' })).json();
    const visit = await openAuthorizationUrl(t, started.authorizationUrl);
    fake.denyNext('access_denied');
    const res = await callCallback(t, await consentAtProvider(visit.providerUrl), visit.cookie);
    expect(res.headers.location).toBe('https://dash.example.com/back?status=error&slug=slack&code=access_denied');
    expect(await rowsOf(ws)).toHaveLength(0);
  });
});

describe('Slack refresh', () => {
  it('rotates: the new xoxe-1 refresh token is sealed, the old one is dead at Slack, the user token kept', async () => {
    const ws = t.newWorkspace();
    fake.nextInstall({ userToken: true });
    const { integrationId } = await connect(ws);
    const grant = latestGrant();
    const oldRefresh = grant.refreshToken!;
    const oldAccess = grant.accessToken;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('refreshed');
    expect(grant.refreshToken).not.toBe(oldRefresh);
    expect(grant.refreshToken).toMatch(/^xoxe-1-/);
    const tokens = await sealed(integrationId);
    expect(tokens).toMatchObject({ accessToken: grant.accessToken, refreshToken: grant.refreshToken });
    expect(tokens.accessToken).not.toBe(oldAccess);
    expect(tokens.extra).toMatchObject({ authedUser: { accessToken: grant.extra.userAccessToken } });
    const replay = await fetch(fake.url + SLACK_PATHS.token, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${fake.clientId}:${fake.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: oldRefresh }),
    });
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ ok: false, error: 'invalid_refresh_token' });
  });

  it.each([
    [200, 'invalid_refresh_token'],
    [200, 'token_revoked'],
    [200, 'account_inactive'],
    [200, 'invalid_grant'],
    [400, 'invalid_grant'],
  ])('marks HTTP %i %s needs_reauth, with an audit event, and stops refreshing', async (status, error) => {
    const ws = t.newWorkspace();
    const { integrationId } = await connect(ws);
    fake.failNextToken(status, error);
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('needs_reauth');
    expect(await rowOf(integrationId)).toMatchObject({ status: 'needs_reauth', nextRefreshAt: null, lastError: `refresh_failed: ${error}` });
    const audits = await t.deps.database.db.select().from(auditEvents).where(eq(auditEvents.connectionId, integrationId));
    expect(audits.map((a) => a.action)).toContain('needs_reauth');
    const calls = fake.calls.refreshes;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('not_refreshable');
    expect(fake.calls.refreshes).toBe(calls);
  });

  it('backs off on HTTP 429 ratelimited and stays active', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connect(ws);
    fake.failNextToken(429, 'ratelimited');
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('retry_scheduled');
    expect(await rowOf(integrationId)).toMatchObject({ status: 'active', refreshFailures: 1, lastError: 'refresh_failed: ratelimited' });
  });
});

describe('Slack disconnect', () => {
  it('calls auth.revoke with the bot token as bearer, forgets the credentials, and is idempotent', async () => {
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

  it('records an ok:false from auth.revoke as a failed revoke, and still disconnects', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connect(ws);
    latestGrant().revoked = true;
    const res = await t.app.inject({
      method: 'POST',
      url: `/workspaces/${ws}/integrations/${integrationId}/disconnect`,
      headers: { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().integration).toMatchObject({ status: 'disconnected', lastError: 'revoke_failed: invalid_auth' });
  });
});
