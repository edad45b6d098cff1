// Google Calendar end to end: connect → callback → refresh → disconnect against a fake Google.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, connections } from '../../src/db/schema.js';
import { GOOGLE_PATHS, startFakeGoogle } from '../fakes/google.js';
import type { FakeOAuthProvider } from '../fakes/oauth-provider.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';

let fake: FakeOAuthProvider;
let t: TestApp;

beforeAll(async () => {
  fake = await startFakeGoogle();
  t = await buildTestApp({ ...providerEnvFor('GOOGLE', fake, GOOGLE_PATHS), HUB_ALLOWED_RETURN_ORIGINS: 'https://dash.example.com' });
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

async function view(ws: string, id: string) {
  const res = await t.app.inject({ url: `/workspaces/${ws}/integrations/${id}`, headers: { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` } });
  return res.json().integration;
}

describe('Google Calendar OAuth', () => {
  it('connects with PKCE, finds the account, and lists the connection without secrets', async () => {
    const ws = t.newWorkspace();
    const { integrationId, callback } = await connectViaOAuth(t, { workspaceId: ws, slug: 'google-calendar', returnUrl: 'https://dash.example.com/done' });
    expect(callback.statusCode).toBe(302);
    expect(callback.headers.location).toMatch(/^https:\/\/dash\.example\.com\/done\?status=connected&slug=google-calendar&integrationId=conn_/);
    const authorize = [...fake.grants.values()].at(-1)!;
    const connection = await view(ws, integrationId);
    expect(connection).toMatchObject({ id: integrationId, slug: 'google-calendar', status: 'active', account: { id: 'ceo@example.com', name: 'ceo@example.com' } });
    expect(new Date(connection.expiresAt).getTime()).toBeGreaterThan(Date.now() + 3000_000);
    expect(JSON.stringify(connection)).not.toContain(authorize.accessToken);
    const [row] = await t.deps.database.db.select().from(connections).where(eq(connections.id, integrationId));
    expect(row!.credentials).toMatch(/^v1\./);
    expect(row!.credentials).not.toContain(authorize.accessToken);
    expect(row!.routingKeys).toEqual(['calendar:ceo@example.com']);
  });

  it('refreshes: new access token stored, the static refresh token kept', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'google-calendar' });
    const grant = [...fake.grants.values()].at(-1)!;
    const firstAccess = grant.accessToken;
    const refreshToken = grant.refreshToken;
    const before = fake.calls.refreshes;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('refreshed');
    expect(fake.calls.refreshes).toBe(before + 1);
    expect(grant.accessToken).not.toBe(firstAccess);
    expect(grant.refreshToken).toBe(refreshToken);
    const [row] = await t.deps.database.db.select().from(connections).where(eq(connections.id, integrationId));
    const stored = t.deps.sealer.open(row!.id, row!.credentials!);
    expect(stored).toMatchObject({ type: 'oauth2', tokens: { accessToken: grant.accessToken, refreshToken } });
    expect(row!.lastRefreshedAt).not.toBeNull();
  });

  it('marks a revoked grant needs_reauth, with an audit event, and stops refreshing it', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'google-calendar' });
    [...fake.grants.values()].at(-1)!.revoked = true;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('needs_reauth');
    const connection = await view(ws, integrationId);
    expect(connection.status).toBe('needs_reauth');
    expect(connection.lastError).toBe('refresh_failed: invalid_grant');
    const audits = await t.deps.database.db.select().from(auditEvents).where(eq(auditEvents.connectionId, integrationId));
    expect(audits.map((a) => a.action)).toEqual(expect.arrayContaining(['connected', 'needs_reauth']));
    const calls = fake.calls.refreshes;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('not_refreshable');
    expect(fake.calls.refreshes).toBe(calls);
  });

  it('backs off on a transient failure and stays active while the token is valid', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'google-calendar' });
    fake.failNextToken(503, 'temporarily_unavailable');
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('retry_scheduled');
    const [row] = await t.deps.database.db.select().from(connections).where(eq(connections.id, integrationId));
    expect(row!.status).toBe('active');
    expect(row!.refreshFailures).toBe(1);
    expect(row!.nextRefreshAt!.getTime()).toBeGreaterThan(Date.now());
    expect(row!.lastError).toBe('refresh_failed: temporarily_unavailable');
  });

  it('disconnects: revokes at Google, forgets the credentials, and is idempotent', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'google-calendar' });
    const grant = [...fake.grants.values()].at(-1)!;
    const token = await t.token({ workspaces: [ws] });
    const revokes = fake.calls.revokes;
    const res = await t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/${integrationId}/disconnect`, headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(200);
    expect(res.json().integration.status).toBe('disconnected');
    expect(fake.calls.revokes).toBe(revokes + 1);
    expect(grant.revoked).toBe(true);
    const [row] = await t.deps.database.db.select().from(connections).where(eq(connections.id, integrationId));
    expect(row).toMatchObject({ credentials: null, dataKey: null, status: 'disconnected', nextRefreshAt: null });
    const again = await t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/${integrationId}/disconnect`, headers: { authorization: `Bearer ${token}` } });
    expect(again.statusCode).toBe(200);
    expect(fake.calls.revokes).toBe(revokes + 1);
  });
});

describe('credentials for use', () => {
  it('refreshes on demand a token about to expire, and returns the fresh one', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'google-calendar' });
    const grant = [...fake.grants.values()].at(-1)!;
    const fresh = (await t.deps.refresh.credentialsForUse(integrationId))?.credentials;
    expect(fresh).toMatchObject({ type: 'oauth2', tokens: { accessToken: grant.accessToken } });
    const before = fake.calls.refreshes;
    // The token now expires in 30 s: a caller must not get it without a refresh.
    await t.deps.database.db.update(connections).set({ accessExpiresAt: new Date(Date.now() + 30_000) }).where(eq(connections.id, integrationId));
    const renewed = (await t.deps.refresh.credentialsForUse(integrationId))?.credentials;
    expect(fake.calls.refreshes).toBe(before + 1);
    expect(renewed).toMatchObject({ type: 'oauth2', tokens: { accessToken: grant.accessToken } });
    expect(fake.grantOfAccessToken(renewed?.type === 'oauth2' ? renewed.tokens.accessToken : undefined)).toBeDefined();
  });
});
