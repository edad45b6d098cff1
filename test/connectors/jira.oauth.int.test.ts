// Jira end to end against a fake Atlassian: audience + prompt on authorize, JSON token body, the site found
// through accessible-resources, rotating refresh tokens, 403 and unauthorized_client dead grants, no revocation.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents, connections } from '../../src/db/schema.js';
import { DEFAULT_SITES, JIRA_PATHS, startFakeJira, type FakeJira } from '../fakes/jira.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { callCallback, connectViaOAuth, consentAtProvider, openAuthorizationUrl, providerEnvFor, resultOf, startConnect } from '../support/oauth-flow.js';

let fake: FakeJira;
let t: TestApp;

beforeAll(async () => {
  fake = await startFakeJira();
  t = await buildTestApp(providerEnvFor('JIRA', fake, JIRA_PATHS));
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
beforeEach(() => fake.setSites(DEFAULT_SITES));

const rowOf = async (id: string) => (await t.deps.database.db.select().from(connections).where(eq(connections.id, id)))[0]!;
const rowsIn = (ws: string) => t.deps.database.db.select().from(connections).where(eq(connections.workspaceId, ws));
const lastGrant = () => [...fake.grants.values()].at(-1)!;
const totalCalls = () => Object.values(fake.calls).reduce((a, b) => a + b, 0);

async function view(ws: string, id: string) {
  const res = await t.app.inject({ url: `/workspaces/${ws}/integrations/${id}`, headers: { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` } });
  return res.json().integration;
}

describe('Jira OAuth (3LO)', () => {
  it('connects to the first Jira site of the grant, with its cloudId, URL and routing keys', async () => {
    const ws = t.newWorkspace();
    const started = await startConnect(t, { workspaceId: ws, slug: 'jira' });
    const visit = await openAuthorizationUrl(t, started.json().authorizationUrl);
    expect(visit.providerUrl.searchParams.get('audience')).toBe('api.atlassian.com');
    expect(visit.providerUrl.searchParams.get('prompt')).toBe('consent');
    expect(visit.providerUrl.searchParams.get('code_challenge')).toBeNull();
    expect(visit.providerUrl.searchParams.get('scope')).toBe('read:jira-work read:jira-user offline_access read:board-scope:jira-software read:sprint:jira-software');
    const { integrationId } = resultOf(await callCallback(t, await consentAtProvider(visit.providerUrl), visit.cookie));
    expect(fake.refusedAuthorizations.count).toBe(0);

    // The Confluence-only site listed first is skipped.
    const cloudId = '11223344-a1b2-4b33-c444-def123456789';
    const connection = await view(ws, integrationId!);
    expect(connection).toMatchObject({ status: 'active', account: { id: cloudId, name: 'acme' } });
    expect(connection.scopes).toEqual(['read:jira-work', 'read:jira-user', 'offline_access', 'read:board-scope:jira-software', 'read:sprint:jira-software']);
    const row = await rowOf(integrationId!);
    expect(row.metadata).toEqual({ cloudId, siteUrl: 'https://acme.atlassian.net', siteName: 'acme', authMethod: 'oauth2' });
    expect(row.routingKeys).toEqual([`cloud:${cloudId}`, 'site:acme.atlassian.net']);
    expect(t.deps.sealer.open(row.id, row.credentials!)).toMatchObject({ type: 'oauth2', tokens: { accessToken: lastGrant().accessToken, refreshToken: lastGrant().refreshToken } });
  });

  it('refreshes with a JSON body: the rotated refresh token is stored, the old one is dead', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'jira' });
    const grant = lastGrant();
    const oldRefresh = grant.refreshToken!;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('refreshed');
    expect(grant.refreshToken).not.toBe(oldRefresh);
    const row = await rowOf(integrationId);
    expect(t.deps.sealer.open(row.id, row.credentials!)).toMatchObject({ type: 'oauth2', tokens: { accessToken: grant.accessToken, refreshToken: grant.refreshToken } });
    const res = await fetch(fake.url + JIRA_PATHS.token, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token', client_id: fake.clientId, client_secret: fake.clientSecret, refresh_token: oldRefresh }),
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' });
  });

  it.each([
    ['403 invalid_grant', () => void (lastGrant().revoked = true), 'refresh_failed: invalid_grant'],
    ['403 unauthorized_client', () => fake.failNextToken(403, 'unauthorized_client'), 'refresh_failed: unauthorized_client'],
  ])('marks the connection needs_reauth on %s', async (_name, kill, lastError) => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'jira' });
    kill();
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('needs_reauth');
    expect(await view(ws, integrationId)).toMatchObject({ status: 'needs_reauth', lastError });
    const audits = await t.deps.database.db.select().from(auditEvents).where(eq(auditEvents.connectionId, integrationId));
    expect(audits.map((a) => a.action)).toContain('needs_reauth');
  });

  it('disconnects without calling Atlassian (3LO has no revocation endpoint)', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'jira' });
    const before = totalCalls();
    const res = await t.app.inject({
      method: 'POST',
      url: `/workspaces/${ws}/integrations/${integrationId}/disconnect`,
      headers: { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().integration).toMatchObject({ status: 'disconnected', lastError: null });
    expect(totalCalls()).toBe(before);
    expect(await rowOf(integrationId)).toMatchObject({ credentials: null, status: 'disconnected' });
  });
});

describe('Jira errors', () => {
  it('a grant that covers no Jira site is account_lookup_failed, nothing stored', async () => {
    fake.setSites([DEFAULT_SITES[0]!]);
    const ws = t.newWorkspace();
    const started = await startConnect(t, { workspaceId: ws, slug: 'jira' });
    const visit = await openAuthorizationUrl(t, started.json().authorizationUrl);
    expect(resultOf(await callCallback(t, await consentAtProvider(visit.providerUrl), visit.cookie))).toMatchObject({ status: 'error', code: 'account_lookup_failed' });
    expect(await rowsIn(ws)).toEqual([]);
  });

  it('a code Atlassian refuses is token_exchange_failed, nothing stored', async () => {
    const ws = t.newWorkspace();
    const started = await startConnect(t, { workspaceId: ws, slug: 'jira' });
    const visit = await openAuthorizationUrl(t, started.json().authorizationUrl);
    const callbackPath = (await consentAtProvider(visit.providerUrl)).replace(/code=[^&]+/, 'code=forged');
    expect(resultOf(await callCallback(t, callbackPath, visit.cookie))).toMatchObject({ status: 'error', code: 'token_exchange_failed' });
    expect(await rowsIn(ws)).toEqual([]);
  });

  it('access_denied comes back as code=access_denied, nothing stored', async () => {
    const ws = t.newWorkspace();
    const started = await startConnect(t, { workspaceId: ws, slug: 'jira' });
    const visit = await openAuthorizationUrl(t, started.json().authorizationUrl);
    fake.denyNext('access_denied');
    const tokenCalls = fake.calls.token;
    expect(resultOf(await callCallback(t, await consentAtProvider(visit.providerUrl), visit.cookie))).toMatchObject({ status: 'error', code: 'access_denied' });
    expect(fake.calls.token).toBe(tokenCalls);
    expect(await rowsIn(ws)).toEqual([]);
  });
});
