// Google Calendar's whole OAuth life against a real authorization server nobody here wrote (oidc-provider 9):
// PKCE, code replay, refresh-token rotation and reuse detection, revocation, and a wrong client secret.
//
// Scopes: the hub asks for Google's scope strings and nothing else. They are API scopes (Calendar API), not
// OIDC ones, so the test server knows them the way an authorization server knows any API's scopes: as the
// scopes of one resource server (RFC 8707), the local Calendar API, whose URL is the tokens' audience. The hub
// is not told to ask for other scopes; the server grants exactly what it asked for and says so in `scope`.
import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connector as googleCalendar } from '../../src/connectors/google-calendar/index.js';
import { oauth2Of, type TokenSet } from '../../src/connectors/types.js';
import { auditEvents, connections } from '../../src/db/schema.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { callCallback, openAuthorizationUrl, resultOf, startConnect } from '../support/oauth-flow.js';
import { startOidcServer, type OidcEvent, type OidcServer } from '../support/oidc-server.js';
import { startCalendarApi, type CalendarApi } from './calendar-api.js';

const SLUG = 'google-calendar';
const PUBLIC_URL = 'https://hub.example.test';
const CALLBACK_URL = `${PUBLIC_URL}/oauth/callback/${SLUG}`;
const ACCOUNT = 'exec@example.test';
const googleScopes = oauth2Of(googleCalendar)!.scopes;
/** Every Google API scope the connector may ask for (openid, email and profile are OIDC's, not the API's). */
const CALENDAR_SCOPES = googleScopes.available.filter((s) => s.startsWith('https://www.googleapis.com/auth/'));

let oidc: OidcServer;
let calendar: CalendarApi;

beforeAll(async () => {
  calendar = await startCalendarApi();
  oidc = await startOidcServer({
    redirectUris: [CALLBACK_URL],
    resource: { indicator: calendar.baseUrl, scopes: CALENDAR_SCOPES },
    accountId: ACCOUNT,
    clientAuthMethod: 'client_secret_post',
  });
  calendar.trust((token) => oidc.introspect(token));
});
afterAll(async () => {
  await oidc?.close();
  await calendar?.close();
});

function hubEnv(clientSecret: string): Record<string, string> {
  return {
    PUBLIC_URL,
    GOOGLE_CLIENT_ID: oidc.client.id,
    GOOGLE_CLIENT_SECRET: clientSecret,
    GOOGLE_AUTHORIZE_URL: oidc.endpoints.authorize,
    GOOGLE_TOKEN_URL: oidc.endpoints.token,
    GOOGLE_REVOKE_URL: oidc.endpoints.revocation,
    GOOGLE_API_URL: calendar.baseUrl,
  };
}

/** The events the server recorded from now on. */
function eventsSince(): () => OidcEvent[] {
  const start = oidc.events.length;
  return () => oidc.events.slice(start);
}

interface Flow {
  state: string;
  codeVerifier: string | undefined;
  providerUrl: URL;
  /** Where the authorization server sent the browser back: the hub's callback, with the code. */
  landing: URL;
  cookie: string;
  callbackPath: string;
  callback: Awaited<ReturnType<typeof callCallback>>;
}

/** connect → the browser opens the URL (hub binds it) → real login + consent at the server → hub callback. */
async function runFlow(t: TestApp, workspaceId: string): Promise<Flow> {
  const started = await startConnect(t, { workspaceId, slug: SLUG });
  expect(started.statusCode).toBe(200);
  const { authorizationUrl, state } = started.json() as { authorizationUrl: string; state: string };
  // Read before the callback consumes it: the verifier only the hub knows.
  const codeVerifier = (await t.deps.oauthStates.peek(state))?.codeVerifier;
  const visit = await openAuthorizationUrl(t, authorizationUrl);
  const landing = await oidc.authorizeInBrowser(visit.providerUrl, CALLBACK_URL);
  const callbackPath = landing.pathname + landing.search;
  const callback = await callCallback(t, callbackPath, visit.cookie);
  return { state, codeVerifier, providerUrl: visit.providerUrl, landing, cookie: visit.cookie, callbackPath, callback };
}

async function connected(t: TestApp, workspaceId: string): Promise<Flow & { integrationId: string }> {
  const flow = await runFlow(t, workspaceId);
  const { status, integrationId } = resultOf(flow.callback);
  if (status !== 'connected' || !integrationId) throw new Error(`not connected: ${flow.callback.statusCode} ${flow.callback.body.slice(0, 300)}`);
  return { ...flow, integrationId };
}

async function rowOf(t: TestApp, id: string) {
  const [row] = await t.deps.database.db.select().from(connections).where(eq(connections.id, id));
  return row!;
}

/** The tokens the hub holds, opened from their sealed form. */
async function storedTokens(t: TestApp, id: string): Promise<TokenSet> {
  const row = await rowOf(t, id);
  const stored = t.deps.sealer.open(row.id, row.credentials!);
  if (stored.type !== 'oauth2') throw new Error('not oauth2 credentials');
  return stored.tokens;
}

async function view(t: TestApp, ws: string, id: string) {
  const res = await t.app.inject({ url: `/workspaces/${ws}/integrations/${id}`, headers: { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` } });
  return res.json().integration as { status: string; account: { id: string; name: string }; scopes: string[]; lastError: string | null };
}

async function auditActions(t: TestApp, id: string) {
  const rows = await t.deps.database.db.select().from(auditEvents).where(eq(auditEvents.connectionId, id));
  return rows.map((r) => ({ action: r.action, detail: r.detail }));
}

describe('google-calendar against oidc-provider, with the right client secret', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(hubEnv(oidc.client.secret));
    await t.app.ready();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('connects through authorization code + PKCE (S256), and stores the account and the granted scopes', async () => {
    const ws = t.newWorkspace();
    const flow = await connected(t, ws);

    // The challenge the hub sent is S256 of the verifier it kept, which only the token request reveals.
    expect(flow.providerUrl.origin + flow.providerUrl.pathname).toBe(oidc.endpoints.authorize);
    expect(flow.providerUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(flow.codeVerifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    expect(flow.providerUrl.searchParams.get('code_challenge')).toBe(createHash('sha256').update(flow.codeVerifier!).digest('base64url'));
    expect(flow.providerUrl.searchParams.get('scope')).toBe(googleScopes.default.join(' '));
    // RFC 9207: the server names itself on the way back.
    expect(flow.landing.searchParams.get('iss')).toBe(oidc.issuer);

    const connection = await view(t, ws, flow.integrationId);
    expect(connection).toMatchObject({ status: 'active', account: { id: ACCOUNT, name: ACCOUNT } });
    expect([...connection.scopes].sort()).toEqual([...googleScopes.default].sort());
    const row = await rowOf(t, flow.integrationId);
    expect(row.routingKeys).toEqual([`calendar:${ACCOUNT}`]);

    // What the hub stored is what the server issued: an active token for the Calendar API, and a refresh token.
    const tokens = await storedTokens(t, flow.integrationId);
    const access = await oidc.introspect(tokens.accessToken);
    expect(access).toMatchObject({ active: true, client_id: 'hub', sub: ACCOUNT, aud: calendar.baseUrl, token_type: 'Bearer' });
    expect(access.scope!.split(' ').sort()).toEqual([...googleScopes.default].sort());
    expect(tokens.refreshToken).toBeTruthy();
    expect((await oidc.introspect(tokens.refreshToken!)).active).toBe(true);
    expect(new Date(tokens.expiresAt!).getTime()).toBeGreaterThan(Date.now() + 3000_000);
    // The account came from the Calendar API, which accepted this very token.
    expect(calendar.checks.some((c) => c.active && c.sub === ACCOUNT)).toBe(true);

    const logs = t.logs.text();
    for (const secret of [flow.landing.searchParams.get('code')!, tokens.accessToken, tokens.refreshToken!, flow.codeVerifier!]) {
      expect(logs).not.toContain(secret);
    }
  });

  it('is held to PKCE by the server: the same authorization request without the challenge is refused', async () => {
    const ws = t.newWorkspace();
    const started = await startConnect(t, { workspaceId: ws, slug: SLUG });
    const visit = await openAuthorizationUrl(t, started.json().authorizationUrl);
    const withoutPkce = new URL(visit.providerUrl);
    withoutPkce.searchParams.delete('code_challenge');
    withoutPkce.searchParams.delete('code_challenge_method');
    const landing = await oidc.authorizeInBrowser(withoutPkce, CALLBACK_URL);
    expect(landing.searchParams.get('code')).toBeNull();
    expect(landing.searchParams.get('error')).toBe('invalid_request');
    expect(landing.searchParams.get('error_description')).toMatch(/PKCE/);
    // The hub turns the provider's refusal into an error, and stores nothing.
    const callback = await callCallback(t, landing.pathname + landing.search, visit.cookie);
    expect(resultOf(callback)).toMatchObject({ status: 'error', code: 'invalid_request' });
    expect(await t.deps.database.db.select().from(connections).where(eq(connections.workspaceId, ws))).toHaveLength(0);
  });

  it('refuses a replayed code: the hub (state consumed) and the server, which then revokes what the code gave', async () => {
    const ws = t.newWorkspace();
    const flow = await connected(t, ws);
    const tokens = await storedTokens(t, flow.integrationId);
    const code = flow.landing.searchParams.get('code')!;

    // The same callback again: the state is gone, so the hub never reaches the token endpoint.
    const since = eventsSince();
    const replay = await callCallback(t, flow.callbackPath, flow.cookie);
    expect(replay.statusCode).toBe(400);
    expect(resultOf(replay)).toMatchObject({ status: 'error', code: 'invalid_state' });
    expect(since().filter((e) => e.type.startsWith('grant.'))).toEqual([]);

    // Someone with the code but not the verifier: PKCE fails before the server even looks at reuse.
    const stolen = await oidc.tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: CALLBACK_URL });
    expect(stolen.status).toBe(400);
    expect(stolen.body.error).toBe('invalid_grant');
    expect((await oidc.introspect(tokens.accessToken)).active).toBe(true);

    // The code with its verifier, redeemed a second time: refused, and the grant it started is revoked.
    const again = await oidc.tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: CALLBACK_URL, code_verifier: flow.codeVerifier! });
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('invalid_grant');
    expect(again.body.access_token).toBeUndefined();
    expect(since()).toContainEqual(expect.objectContaining({ type: 'grant.revoked' }));
    expect((await oidc.introspect(tokens.accessToken)).active).toBe(false);
    expect((await oidc.introspect(tokens.refreshToken!)).active).toBe(false);
    // The hub learns it at its next refresh.
    expect(await t.deps.refresh.refresh(flow.integrationId, { force: true })).toBe('needs_reauth');
  });

  it('refreshes with rotation: a new refresh token replaces the old one, which the server no longer honours', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connected(t, ws);
    const before = await storedTokens(t, integrationId);
    const versionBefore = (await rowOf(t, integrationId)).credentialsVersion;

    const since = eventsSince();
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('refreshed');
    expect(since()).toEqual([{ type: 'grant.success', grantType: 'refresh_token' }]);

    const after = await storedTokens(t, integrationId);
    expect(after.refreshToken).toBeTruthy();
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(after.accessToken).not.toBe(before.accessToken);
    const access = await oidc.introspect(after.accessToken);
    expect(access).toMatchObject({ active: true, client_id: 'hub', sub: ACCOUNT, aud: calendar.baseUrl });
    expect(access.scope!.split(' ').sort()).toEqual([...googleScopes.default].sort());
    expect((await oidc.introspect(after.refreshToken!)).active).toBe(true);
    expect((await oidc.introspect(before.refreshToken!)).active).toBe(false);

    const row = await rowOf(t, integrationId);
    expect(row.credentialsVersion).toBeGreaterThan(versionBefore);
    expect(row.status).toBe('active');
    expect(row.lastRefreshedAt).not.toBeNull();
    expect(row.credentials).not.toContain(after.refreshToken!);
  });

  it('detects reuse: the rotated-out refresh token revokes the whole grant, and the hub then needs re-authorization', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connected(t, ws);
    const old = await storedTokens(t, integrationId);
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('refreshed');
    const current = await storedTokens(t, integrationId);

    // An attacker (or a stale copy) presents the old refresh token.
    const since = eventsSince();
    const reuse = await oidc.tokenRequest({ grant_type: 'refresh_token', refresh_token: old.refreshToken! });
    expect(reuse.status).toBe(400);
    expect(reuse.body.error).toBe('invalid_grant');
    expect(since()).toContainEqual(expect.objectContaining({ type: 'grant.revoked' }));
    // Everything of that grant is dead, the hub's current tokens included.
    expect((await oidc.introspect(current.accessToken)).active).toBe(false);
    expect((await oidc.introspect(current.refreshToken!)).active).toBe(false);

    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('needs_reauth');
    expect(since()).toContainEqual({ type: 'grant.error', grantType: 'refresh_token', error: 'invalid_grant' });
    const connection = await view(t, ws, integrationId);
    expect(connection.status).toBe('needs_reauth');
    expect(connection.lastError).toBe('refresh_failed: invalid_grant');
    expect((await auditActions(t, integrationId)).map((a) => a.action)).toContain('needs_reauth');
    // No more attempts on a dead grant.
    const calls = oidc.events.length;
    expect(await t.deps.refresh.refresh(integrationId, { force: true })).toBe('not_refreshable');
    expect(oidc.events.length).toBe(calls);
  });

  it('revokes at disconnect: the server ends the grant, introspection says inactive', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connected(t, ws);
    const tokens = await storedTokens(t, integrationId);
    const revocations = oidc.revocations.length;
    const since = eventsSince();

    const res = await t.app.inject({
      method: 'POST',
      url: `/workspaces/${ws}/integrations/${integrationId}/disconnect`,
      headers: { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().integration.status).toBe('disconnected');

    // Google's shape: the refresh token alone, which ends the whole grant.
    expect(oidc.revocations.slice(revocations)).toEqual([{ token: tokens.refreshToken, tokenTypeHint: undefined, clientAuthenticated: false }]);
    expect(since()).toContainEqual(expect.objectContaining({ type: 'grant.revoked' }));
    expect(since().filter((e) => e.type === 'revocation.error')).toEqual([]);
    expect((await oidc.introspect(tokens.refreshToken!)).active).toBe(false);
    expect((await oidc.introspect(tokens.accessToken)).active).toBe(false);

    const row = await rowOf(t, integrationId);
    expect(row).toMatchObject({ status: 'disconnected', credentials: null, lastError: null });
    expect(await auditActions(t, integrationId)).toContainEqual({ action: 'disconnected', detail: { revoked: true } });
  });

  it('records a revocation the server refuses (RFC 7009 client authentication missing) and disconnects anyway', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connected(t, ws);
    const tokens = await storedTokens(t, integrationId);
    oidc.acceptUnauthenticatedRevocation = false;
    try {
      const res = await t.app.inject({
        method: 'POST',
        url: `/workspaces/${ws}/integrations/${integrationId}/disconnect`,
        headers: { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json().integration.status).toBe('disconnected');
    } finally {
      oidc.acceptUnauthenticatedRevocation = true;
    }
    // oidc-provider's own answer to Google's unauthenticated shape; the grant lives on at the server.
    expect((await oidc.introspect(tokens.refreshToken!)).active).toBe(true);
    const row = await rowOf(t, integrationId);
    expect(row).toMatchObject({ status: 'disconnected', credentials: null, lastError: 'revoke_failed: invalid_request' });
    const actions = await auditActions(t, integrationId);
    expect(actions).toContainEqual({ action: 'revoke_failed', detail: { error: 'invalid_request' } });
    expect(actions).toContainEqual({ action: 'disconnected', detail: { revoked: false } });
  });
});

describe('google-calendar against oidc-provider, with a wrong client secret', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(hubEnv('not-the-hub-secret'));
    await t.app.ready();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('fails the callback with token_exchange_failed and stores nothing', async () => {
    const ws = t.newWorkspace();
    const checks = calendar.checks.length;
    const since = eventsSince();
    const flow = await runFlow(t, ws);

    expect(flow.landing.searchParams.get('code')).toBeTruthy();
    expect(since()).toEqual([{ type: 'grant.error', grantType: 'authorization_code', error: 'invalid_client' }]);
    expect(flow.callback.statusCode).toBe(400);
    expect(resultOf(flow.callback)).toMatchObject({ status: 'error', code: 'token_exchange_failed' });
    expect(calendar.checks.length).toBe(checks);
    expect(await t.deps.database.db.select().from(connections).where(eq(connections.workspaceId, ws))).toHaveLength(0);
    expect(t.logs.text()).not.toContain('not-the-hub-secret');
  });
});
