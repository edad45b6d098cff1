// Stripe Connect OAuth end to end: connect → callback (stripe_user_id) → no refresh needed → deauthorize on disconnect.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connections } from '../../src/db/schema.js';
import { STRIPE_PATHS, startFakeStripe, type FakeStripe } from '../fakes/stripe.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { callCallback, connectViaOAuth, consentAtProvider, openAuthorizationUrl, providerEnvFor, resultOf, startConnect } from '../support/oauth-flow.js';

let fake: FakeStripe;
let t: TestApp;
const RETURN = 'https://cfo.example.com/integrations';

beforeAll(async () => {
  fake = await startFakeStripe();
  t = await buildTestApp({ ...providerEnvFor('STRIPE', fake, STRIPE_PATHS), HUB_ALLOWED_RETURN_ORIGINS: 'https://cfo.example.com' });
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

const rowOf = async (id: string) => (await t.deps.database.db.select().from(connections).where(eq(connections.id, id)))[0]!;
const rowsOf = (ws: string) => t.deps.database.db.select().from(connections).where(eq(connections.workspaceId, ws));
const lastGrant = () => [...fake.grants.values()].at(-1)!;

async function callbackOnce(ws: string) {
  const started = (await startConnect(t, { workspaceId: ws, slug: 'stripe', returnUrl: RETURN })).json();
  const visit = await openAuthorizationUrl(t, started.authorizationUrl);
  return callCallback(t, await consentAtProvider(visit.providerUrl), visit.cookie);
}

async function disconnect(ws: string, id: string) {
  const headers = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
  return t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/${id}/disconnect`, headers });
}

describe('Stripe Connect OAuth', () => {
  it('connects read_only without PKCE and stores the account named by stripe_user_id', async () => {
    const ws = t.newWorkspace();
    const account = fake.addAccount({ displayName: 'Acme EU', businessName: 'Acme Europe GmbH' });
    fake.setConnectAccount(account.id);
    const started = (await startConnect(t, { workspaceId: ws, slug: 'stripe', returnUrl: RETURN })).json();
    const visit = await openAuthorizationUrl(t, started.authorizationUrl);
    expect(visit.providerUrl.searchParams.get('scope')).toBe('read_only');
    expect(visit.providerUrl.searchParams.get('client_id')).toBe(fake.clientId);
    expect(visit.providerUrl.searchParams.has('code_challenge')).toBe(false);
    const callback = await callCallback(t, await consentAtProvider(visit.providerUrl), visit.cookie);
    const { status, integrationId } = resultOf(callback);
    expect(status).toBe('connected');

    const grant = lastGrant();
    const row = await rowOf(integrationId!);
    expect(row).toMatchObject({
      externalAccountId: account.id,
      externalAccountName: 'Acme EU',
      metadata: { accountId: account.id, livemode: 'false' },
      routingKeys: [`account:${account.id}`],
      scopes: ['read_only'],
      status: 'active',
      // Connect access tokens do not expire: nothing to schedule.
      accessExpiresAt: null,
      nextRefreshAt: null,
    });
    expect(row.credentials).not.toContain(grant.accessToken);
    expect(t.deps.sealer.open(row.id, row.credentials!)).toMatchObject({ type: 'oauth2', tokens: { accessToken: grant.accessToken } });
    expect(t.logs.text()).not.toContain(grant.accessToken);
    expect(t.logs.text()).not.toContain(fake.clientSecret);
  });

  it('uses the token as it is: no token-endpoint call when a caller needs it', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'stripe' });
    const grant = lastGrant();
    const tokenCalls = fake.calls.token;
    const credentials = (await t.deps.refresh.credentialsForUse(integrationId))?.credentials;
    expect(credentials).toMatchObject({ type: 'oauth2', tokens: { accessToken: grant.accessToken } });
    expect(credentials?.type === 'oauth2' && credentials.tokens.expiresAt).toBeFalsy();
    expect(fake.calls.token).toBe(tokenCalls);
  });

  it('stores nothing when the token answer names another account than the token reaches', async () => {
    const ws = t.newWorkspace();
    const other = fake.addAccount({ displayName: 'Someone else' });
    fake.misnameNextGrant(other.id);
    expect(resultOf(await callbackOnce(ws))).toMatchObject({ status: 'error', code: 'account_lookup_failed' });
    expect(await rowsOf(ws)).toHaveLength(0);
  });

  it('reports a refused code exchange as token_exchange_failed and access_denied as such, storing nothing', async () => {
    const ws = t.newWorkspace();
    fake.failNextToken(400, 'invalid_grant');
    expect((await callbackOnce(ws)).headers.location).toBe(`${RETURN}?status=error&slug=stripe&code=token_exchange_failed`);
    fake.denyNext('access_denied');
    expect(resultOf(await callbackOnce(ws))).toMatchObject({ status: 'error', code: 'access_denied' });
    expect(await rowsOf(ws)).toHaveLength(0);
  });

  it('disconnects: deauthorizes the account under the platform key, forgets the tokens, is idempotent', async () => {
    const ws = t.newWorkspace();
    const account = fake.addAccount({ displayName: 'Departing' });
    fake.setConnectAccount(account.id);
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'stripe' });
    const grant = lastGrant();
    const revokes = fake.calls.revokes;
    const res = await disconnect(ws, integrationId);
    expect(res.statusCode).toBe(200);
    expect(res.json().integration).toMatchObject({ status: 'disconnected', lastError: null });
    expect(fake.calls.revokes).toBe(revokes + 1);
    expect(fake.deauthorizations.at(-1)).toEqual({ auth: 'basic', contentType: 'form', body: { client_id: fake.clientId, stripe_user_id: account.id } });
    expect(grant.revoked).toBe(true);
    const lookup = await fetch(`${fake.url}/v1/account`, { headers: { authorization: `Bearer ${grant.accessToken}` } });
    expect(lookup.status).toBe(401);
    expect(await rowOf(integrationId)).toMatchObject({ credentials: null, status: 'disconnected' });
    expect((await disconnect(ws, integrationId)).statusCode).toBe(200);
    expect(fake.calls.revokes).toBe(revokes + 1);
  });

  it('still disconnects when Stripe refuses the deauthorization (already deauthorized), recording why', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'stripe' });
    // The user removed the platform from their Stripe Dashboard first.
    lastGrant().revoked = true;
    const res = await disconnect(ws, integrationId);
    expect(res.statusCode).toBe(200);
    expect(res.json().integration).toMatchObject({ status: 'disconnected', lastError: 'revoke_failed: invalid_client' });
    expect(await rowOf(integrationId)).toMatchObject({ credentials: null });
  });
});
