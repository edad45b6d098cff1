// OAuth flow security: single-use, browser-bound, expiring state; no open redirects; workspaces kept apart;
// ciphertexts that fail closed; and no issued token anywhere it should not be.
import { eq, inArray } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditEvents, connections, syncRuns } from '../../src/db/schema.js';
import { GOOGLE_PATHS, startFakeGoogle, type FakeGoogle } from '../fakes/google.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { callCallback, connectViaOAuth, consentAtProvider, openAuthorizationUrl, providerEnvFor, resultOf, startConnect } from '../support/oauth-flow.js';

let fake: FakeGoogle;
let t: TestApp;
const responses: string[] = [];

beforeAll(async () => {
  fake = await startFakeGoogle({ email: 'cfo@example.com' });
  t = await buildTestApp({ ...providerEnvFor('GOOGLE', fake, GOOGLE_PATHS), HUB_ALLOWED_RETURN_ORIGINS: 'https://dash.example.com' });
  t.app.addHook('onSend', async (_req, reply, payload) => {
    responses.push(JSON.stringify(reply.getHeaders()) + String(payload));
    return payload;
  });
  await t.app.ready();
});
afterEach(() => vi.useRealTimers());
afterAll(async () => {
  await t.close();
  await fake.close();
});

async function rowsOf(ws: string) {
  return t.deps.database.db.select().from(connections).where(eq(connections.workspaceId, ws));
}

describe('state', () => {
  it('is single-use: replaying the callback stores nothing more and never reaches the token endpoint', async () => {
    const ws = t.newWorkspace();
    const flow = await connectViaOAuth(t, { workspaceId: ws, slug: 'google-calendar' });
    const exchanges = fake.calls.codeExchanges;
    const replay = await callCallback(t, flow.callbackPath, flow.cookie);
    expect(replay.statusCode).toBe(400);
    expect(resultOf(replay)).toMatchObject({ status: 'error', code: 'invalid_state' });
    expect(fake.calls.codeExchanges).toBe(exchanges);
    expect(await rowsOf(ws)).toHaveLength(1);
  });

  it('is bound to the browser that opened the URL', async () => {
    const ws = t.newWorkspace();
    const started = (await startConnect(t, { workspaceId: ws, slug: 'google-calendar' })).json();
    const visit = await openAuthorizationUrl(t, started.authorizationUrl);
    // A second browser (an attacker who got the link) cannot bind it too.
    const second = await t.app.inject({ url: new URL(started.authorizationUrl).pathname });
    expect(second.statusCode).toBe(400);
    expect(resultOf(second).code).toBe('state_already_opened');
    const callbackPath = await consentAtProvider(visit.providerUrl);
    const exchanges = fake.calls.codeExchanges;
    for (const cookie of [undefined, `${visit.cookie.split('=')[0]}=forged-nonce`]) {
      const res = await callCallback(t, callbackPath, cookie);
      expect(resultOf(res).status).toBe('error');
    }
    expect(fake.calls.codeExchanges).toBe(exchanges);
    expect(await rowsOf(ws)).toHaveLength(0);
  });

  it('expires after 10 minutes', async () => {
    const ws = t.newWorkspace();
    const started = (await startConnect(t, { workspaceId: ws, slug: 'google-calendar' })).json();
    expect(Date.parse(started.expiresAt) - Date.now()).toBeGreaterThan(9.5 * 60_000);
    expect(Date.parse(started.expiresAt) - Date.now()).toBeLessThanOrEqual(10 * 60_000);
    const visit = await openAuthorizationUrl(t, started.authorizationUrl);
    const callbackPath = await consentAtProvider(visit.providerUrl);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 11 * 60_000 });
    const res = await callCallback(t, callbackPath, visit.cookie);
    expect(resultOf(res)).toMatchObject({ status: 'error', code: 'invalid_state' });
    expect(await rowsOf(ws)).toHaveLength(0);
  });

  it('is refused when unknown or made up', async () => {
    const res = await callCallback(t, '/oauth/callback/google-calendar?code=abc&state=made-up-state-value-000000');
    expect(res.statusCode).toBe(400);
    expect(resultOf(res).code).toBe('invalid_state');
    expect((await t.app.inject({ url: '/oauth/authorize/made-up-state-value-000000' })).statusCode).toBe(400);
  });

  it('carries the provider error (access_denied) to the return URL, storing nothing', async () => {
    const ws = t.newWorkspace();
    const started = (await startConnect(t, { workspaceId: ws, slug: 'google-calendar', returnUrl: 'https://dash.example.com/back' })).json();
    const visit = await openAuthorizationUrl(t, started.authorizationUrl);
    fake.denyNext('access_denied');
    const res = await callCallback(t, await consentAtProvider(visit.providerUrl), visit.cookie);
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('https://dash.example.com/back?status=error&slug=google-calendar&code=access_denied');
    expect(await rowsOf(ws)).toHaveLength(0);
  });
});

describe('connect input', () => {
  it('refuses return URLs off the allow-list (open redirects)', async () => {
    const ws = t.newWorkspace();
    for (const returnUrl of ['https://evil.example.com/x', '//evil.example.com', 'javascript:alert(1)', 'https://dash.example.com.evil.com/', 'https://dash.example.com@evil.com/', 'http://dash.example.com/', 'not a url']) {
      const res = await startConnect(t, { workspaceId: ws, slug: 'google-calendar', returnUrl });
      expect(res.statusCode, returnUrl).toBe(400);
      expect(res.json().code).toBe('invalid_return_url');
    }
  });

  it('validates extra scopes against the declared list and sends PKCE S256', async () => {
    const ws = t.newWorkspace();
    const bad = await startConnect(t, { workspaceId: ws, slug: 'google-calendar', scopes: ['https://www.googleapis.com/auth/gmail.send'] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('invalid_scope');
    const good = await startConnect(t, { workspaceId: ws, slug: 'google-calendar', scopes: ['openid', 'email'] });
    const visit = await openAuthorizationUrl(t, good.json().authorizationUrl);
    const scope = visit.providerUrl.searchParams.get('scope')!.split(' ');
    expect(scope).toEqual(expect.arrayContaining(['openid', 'email', 'https://www.googleapis.com/auth/calendar.events.readonly']));
    expect(visit.providerUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(visit.providerUrl.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(visit.providerUrl.searchParams.get('access_type')).toBe('offline');
  });

  it('answers 409 integration_not_configured without credentials, 404 for unknown slugs', async () => {
    const ws = t.newWorkspace();
    const res = await startConnect(t, { workspaceId: ws, slug: 'github' });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('integration_not_configured');
    expect((await startConnect(t, { workspaceId: ws, slug: 'myspace' })).json().code).toBe('integration_not_found');
  });

  it('accepts a connect without any body, and refuses unknown body fields', async () => {
    const ws = t.newWorkspace();
    const headers = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
    const bare = await t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/google-calendar/connect`, headers });
    expect(bare.statusCode).toBe(200);
    expect(bare.json().authorizationUrl).toMatch(/\/oauth\/authorize\//);
    const odd = await t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/google-calendar/connect`, headers, payload: { redirect: 'https://evil.example.com' } });
    expect(odd.statusCode).toBe(400);
    expect(odd.json().code).toBe('validation_failed');
  });
});

describe('workspaces and ciphertexts', () => {
  it("treats another workspace's connection ids as unknown", async () => {
    const a = t.newWorkspace();
    const b = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: a, slug: 'google-calendar' });
    const tokenB = await t.token({ workspaces: [b] });
    for (const [method, url] of [['GET', `/workspaces/${b}/integrations/${integrationId}`], ['POST', `/workspaces/${b}/integrations/${integrationId}/disconnect`]] as const) {
      const res = await t.app.inject({ method, url, headers: { authorization: `Bearer ${tokenB}` } });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('connection_not_found');
    }
    expect((await rowsOf(a))[0]!.status).toBe('active');
  });

  it("answers 404 for widget data, sync and sync status through another workspace's ids, calling no provider", async () => {
    const a = t.newWorkspace();
    const b = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: a, slug: 'google-calendar' });
    const headersA = { authorization: `Bearer ${await t.token({ workspaces: [a] })}` };
    const headersB = { authorization: `Bearer ${await t.token({ workspaces: [b] })}` };
    // Started as main.ts starts it. (Left to the first sync, the queue would start from inside that sync's
    // transaction, which on PGlite's single connection waits for the transaction forever.)
    await t.deps.jobs.start();
    const started = await t.app.inject({ method: 'POST', url: `/workspaces/${a}/integrations/${integrationId}/sync`, headers: headersA });
    expect(started.statusCode).toBe(202);
    const { syncId } = started.json();
    const apiCalls = fake.api.calls;
    const attempts = [
      ['GET', `/workspaces/${b}/integrations/${integrationId}/widgets/todays-meetings/data`, 'connection_not_found'],
      ['GET', `/workspaces/${b}/integrations/${integrationId}/widgets/todays-meetings/data?refresh=true`, 'connection_not_found'],
      ['POST', `/workspaces/${b}/integrations/${integrationId}/sync`, 'connection_not_found'],
      ['GET', `/workspaces/${b}/integrations/${integrationId}/syncs/${syncId}`, 'sync_not_found'],
    ] as const;
    for (const [method, url, code] of attempts) {
      const res = await t.app.inject({ method, url, headers: headersB });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json().code).toBe(code);
      expect(res.body).not.toContain('cfo@example.com');
      expect(res.body).not.toContain('"status":"queued"');
    }
    expect(fake.api.calls).toBe(apiCalls);
    // Workspace B made no sync of its own, and workspace A's sync is still visible to A.
    expect((await t.app.inject({ url: `/workspaces/${a}/integrations/${integrationId}/syncs/${syncId}`, headers: headersA })).json()).toMatchObject({ syncId, integrationId });
    expect(await t.deps.database.db.select().from(syncRuns).where(eq(syncRuns.workspaceId, b))).toHaveLength(0);
  });

  it('fails closed on a tampered or transplanted ciphertext: no token is sent anywhere', async () => {
    const ws = t.newWorkspace();
    const one = await connectViaOAuth(t, { workspaceId: ws, slug: 'google-calendar' });
    const [rowOne] = await t.deps.database.db.select().from(connections).where(eq(connections.id, one.integrationId));
    const other = t.newWorkspace();
    const two = await connectViaOAuth(t, { workspaceId: other, slug: 'google-calendar' });
    // Copy connection one's ciphertext onto connection two: bound to another id, it must not open.
    await t.deps.database.db.update(connections).set({ credentials: rowOne!.credentials }).where(eq(connections.id, two.integrationId));
    const refreshes = fake.calls.refreshes;
    expect(await t.deps.refresh.refresh(two.integrationId, { force: true })).toBe('credentials_unreadable');
    // Flip one character of the data part of connection one's ciphertext.
    const c = rowOne!.credentials!;
    const flipped = c.slice(0, -2) + (c.at(-2) === 'A' ? 'B' : 'A') + c.at(-1);
    await t.deps.database.db.update(connections).set({ credentials: flipped }).where(eq(connections.id, one.integrationId));
    expect(await t.deps.refresh.refresh(one.integrationId, { force: true })).toBe('credentials_unreadable');
    expect(fake.calls.refreshes).toBe(refreshes);
    const [after] = await t.deps.database.db.select().from(connections).where(eq(connections.id, one.integrationId));
    expect(after!.status).toBe('needs_reauth');
    const revokes = fake.calls.revokes;
    const res = await t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/${one.integrationId}/disconnect`, headers: { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` } });
    expect(res.statusCode).toBe(200);
    expect(fake.calls.revokes).toBe(revokes);
  });
});

describe('secrets stay secret', () => {
  it('no issued token or code appears in the database, the logs, or any response', async () => {
    const ws = t.newWorkspace();
    const { integrationId, callbackPath } = await connectViaOAuth(t, { workspaceId: ws, slug: 'google-calendar', returnUrl: 'https://dash.example.com/x' });
    await t.deps.refresh.refresh(integrationId, { force: true });
    const token = await t.token({ workspaces: [ws] });
    await t.app.inject({ url: `/workspaces/${ws}/integrations`, headers: { authorization: `Bearer ${token}` } });
    const code = new URL(`http://x${callbackPath}`).searchParams.get('code')!;
    const secrets = [code, fake.clientSecret];
    for (const grant of fake.grants.values()) secrets.push(grant.accessToken, ...(grant.refreshToken ? [grant.refreshToken] : []), ...grant.retiredRefreshTokens);
    const dbText = JSON.stringify([
      await t.deps.database.db.select().from(connections).where(eq(connections.workspaceId, ws)),
      await t.deps.database.db.select().from(auditEvents).where(inArray(auditEvents.workspaceId, [ws])),
    ]);
    const logs = t.logs.text();
    const sent = responses.join('\n');
    expect(logs).toContain('oauth'); // the logs did record the flows
    for (const secret of secrets) {
      expect(dbText).not.toContain(secret);
      expect(logs).not.toContain(secret);
      expect(sent).not.toContain(secret);
    }
  });
});
