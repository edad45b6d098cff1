// Fake Xero: Basic client auth and form bodies, PKCE, JWT access tokens carrying authentication_event_id,
// single-use refresh tokens with a 30-minute grace for the previous one, GET /connections listing every tenant
// the user gave the app (earlier consents included), and revocation (form token + Basic) ending the grant.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { basicCredentials, bearerToken, contentTypeOf } from './fake-server.js';
import { startFakeOAuthProvider, type FakeGrant, type FakeOAuthProvider } from './oauth-provider.js';

export const XERO_PATHS = {
  authorize: '/identity/connect/authorize',
  token: '/connect/token',
  revoke: '/connect/revocation',
  api: '/api.xro/2.0',
};

export const REFRESH_GRACE_MS = 30 * 60_000;

export interface FakeTenant {
  tenantId: string;
  tenantName: string;
  tenantType: 'ORGANISATION' | 'PRACTICE' | 'PRACTICEMANAGER';
}

/** One row of GET /connections, as Xero answers it. */
export interface XeroConnectionRow extends FakeTenant {
  id: string;
  authEventId: string;
  createdDateUtc: string;
  updatedDateUtc: string;
}

export interface FakeXero extends FakeOAuthProvider {
  /** The tenants the user ticks in the next consent (empty: the user ticked none). */
  setConsentTenants(tenants: FakeTenant[]): void;
  /** Tenants the same user authorised earlier, in other consents (other auth events). */
  earlierConnections: XeroConnectionRow[];
  revokeRequests: { basicClientId?: string; contentType: string; body: unknown }[];
}

export const tenant = (tenantName: string, tenantType: FakeTenant['tenantType'] = 'ORGANISATION'): FakeTenant => ({
  tenantId: randomUUID(),
  tenantName,
  tenantType,
});

export function connectionRow(t: FakeTenant, authEventId = randomUUID()): XeroConnectionRow {
  const now = new Date().toISOString().replace('Z', '0000');
  return { id: randomUUID(), authEventId, ...t, createdDateUtc: now, updatedDateUtc: now };
}

const signingKey = randomBytes(32);
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWT shaped like Xero's access tokens (Xero signs RS256; the hub never verifies, so HS256 does here). */
function accessJwt(grant: FakeGrant, clientId: string): string {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url({ alg: 'HS256', kid: '1CAF8E66772D6DC028D6726FD0261581570EFC19', typ: 'JWT' });
  const payload = b64url({
    nbf: now, exp: now + 1800, iss: 'https://identity.xero.com', aud: 'https://identity.xero.com/resources',
    client_id: clientId, sub: grant.extra.userId, auth_time: now, xero_userid: grant.extra.userId,
    global_session_id: randomUUID().replace(/-/g, ''), jti: randomUUID().replace(/-/g, ''),
    authentication_event_id: grant.extra.authEventId, scope: grant.scope.split(' '), amr: ['pwd'],
  });
  const signature = createHmac('sha256', signingKey).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

export async function startFakeXero(): Promise<FakeXero> {
  const userId = randomUUID();
  let consentTenants: FakeTenant[] = [tenant('Demo Company (Global)')];
  const earlierConnections: XeroConnectionRow[] = [];
  const revokeRequests: FakeXero['revokeRequests'] = [];
  const retiredAt = new Map<string, number>();
  let clientId = '';

  const fake = (await startFakeOAuthProvider(
    {
      clientAuth: 'basic',
      bodyFormat: 'form',
      pkce: 'optional',
      refresh: 'rotating',
      // The previous refresh token stays usable for the grace period (below), so no family revocation.
      reuseDetection: false,
      accessTtlSeconds: 1800,
      paths: { authorize: XERO_PATHS.authorize, token: XERO_PATHS.token },
      grantExtra: () => {
        const authEventId = randomUUID();
        return { userId, authEventId, connections: consentTenants.map((t) => connectionRow(t, authEventId)) };
      },
      tokenBody: ({ grant }) => {
        for (const old of grant.retiredRefreshTokens) if (!retiredAt.has(old)) retiredAt.set(old, Date.now());
        grant.accessToken = accessJwt(grant, clientId);
        return { access_token: grant.accessToken, expires_in: 1800, token_type: 'Bearer', refresh_token: grant.refreshToken, scope: grant.scope };
      },
      // Xero's identity server: {"error":"invalid_grant"} and friends, no description.
      errorReply: ({ status, error }) => ({ status: status === 401 ? 400 : status, body: { error } }),
    },
    (app, provider) => {
      app.addHook('preHandler', async (req, reply) => {
        if (req.method !== 'POST' || req.url !== XERO_PATHS.token) return;
        const body = (req.body ?? {}) as Record<string, string>;
        const since = body.grant_type === 'refresh_token' ? retiredAt.get(body.refresh_token ?? '') : undefined;
        if (since !== undefined && Date.now() - since > REFRESH_GRACE_MS) return reply.code(400).send({ error: 'invalid_grant' });
      });

      app.post(XERO_PATHS.revoke, async (req, reply) => {
        provider.calls.revokes++;
        const client = basicCredentials(req);
        revokeRequests.push({ basicClientId: client?.id, contentType: contentTypeOf(req), body: req.body });
        if (client?.id !== provider.clientId || client.secret !== provider.clientSecret) return reply.code(400).send({ error: 'invalid_client' });
        if (contentTypeOf(req) !== 'form') return reply.code(400).send({ error: 'invalid_request' });
        const token = (req.body as Record<string, string>).token ?? '';
        const grant = provider.grantOfToken(token);
        if (grant) grant.revoked = true;
        return reply.code(200).send();
      });

      app.get('/connections', async (req, reply) => {
        const grant = provider.grantOfAccessToken(bearerToken(req));
        if (!grant) {
          return reply.code(401).send({ Type: null, Title: 'Unauthorized', Status: 401, Detail: 'AuthenticationUnsuccessful', Instance: randomUUID(), Extensions: {} });
        }
        // Every tenant this user gave the app, whichever consent it came from: the caller must pick.
        const live = [...provider.grants.values()].filter((g) => !g.revoked).flatMap((g) => g.extra.connections as XeroConnectionRow[]);
        return [...earlierConnections, ...live];
      });
    },
  )) as FakeXero;
  clientId = fake.clientId;
  return Object.assign(fake, { setConsentTenants: (t: FakeTenant[]) => void (consentTenants = t), earlierConnections, revokeRequests });
}
