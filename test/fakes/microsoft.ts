// Fake Microsoft identity platform (Entra v2) + Graph: client credentials in a form body, PKCE, JWT access
// tokens carrying `tid`/`oid` (opaque ones for personal accounts), random 60–90-minute lifetimes, a new refresh
// token on every use with the old one left working, AADSTS-coded errors, no revocation endpoint, GET /v1.0/me.
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { bearerToken } from './fake-server.js';
import { startFakeOAuthProvider, type FakeGrant, type FakeOAuthProvider } from './oauth-provider.js';

/** Under the `organizations` tenant: the hub fills `{tenant}` from MICROSOFT_TENANT. */
export const MICROSOFT_PATHS = {
  authorize: '/organizations/oauth2/v2.0/authorize',
  token: '/organizations/oauth2/v2.0/token',
  api: '/v1.0',
};

export const CONSUMER_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';
const OIDC_SCOPES = new Set(['openid', 'profile', 'email']);

export interface MicrosoftUser {
  tenantId: string;
  userId: string;
  displayName: string;
  userPrincipalName: string;
  /** Personal Microsoft accounts get opaque access tokens: no claims to read. */
  tokenFormat: 'jwt' | 'opaque';
}

export interface FakeMicrosoft extends FakeOAuthProvider {
  nextUser(user: Partial<MicrosoftUser>): void;
  /** The next token call fails as Entra says it: HTTP 400, the error, and `AADSTSnnn: …` in the description. */
  failNextTokenWith(error: string, aadsts: number): void;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A compact JWT as Entra issues for Graph; the signature is noise, since clients must not verify Graph tokens. */
const jwt = (claims: Record<string, unknown>) => `${b64({ typ: 'JWT', alg: 'RS256', kid: 'fake' })}.${b64(claims)}.${randomBytes(32).toString('base64url')}`;

const AADSTS_TEXT: Record<number, string> = {
  700082: 'The refresh token has expired due to inactivity.',
  70008: 'The provided authorization code or refresh token has expired due to inactivity.',
  50173: 'The provided grant has expired due to it being revoked, a fresh auth token is needed.',
  50076: 'Due to a configuration change made by your administrator, you must use multi-factor authentication.',
  65001: 'The user or administrator has not consented to use the application.',
  54005: 'OAuth2 Authorization code was already redeemed.',
  7000215: 'Invalid client secret provided.',
  9002313: 'Invalid request. Request is malformed or invalid.',
};
const AADSTS_OF_GENERIC: Record<string, number> = { invalid_client: 7000215, invalid_grant: 70008, invalid_request: 9002313 };

export async function startFakeMicrosoft(): Promise<FakeMicrosoft> {
  let next: Partial<MicrosoftUser> = {};
  let pendingAadsts: number | undefined;
  const userOf = (grant: FakeGrant) => grant.extra as unknown as MicrosoftUser;

  const fake = (await startFakeOAuthProvider(
    {
      clientAuth: 'body',
      bodyFormat: 'form',
      pkce: 'optional',
      refresh: 'rotating',
      // Every refresh returns a new refresh token, but the old one is not revoked (learn.microsoft.com refresh-tokens).
      reuseDetection: false,
      accessTtlSeconds: 3600,
      paths: { authorize: MICROSOFT_PATHS.authorize, token: MICROSOFT_PATHS.token },
      grantExtra: () => {
        const user: MicrosoftUser = { tenantId: randomUUID(), userId: randomUUID(), displayName: 'Ada CEO', userPrincipalName: 'ada@acme.example', tokenFormat: 'jwt', ...next };
        next = {};
        return { ...user };
      },
      tokenBody: ({ grant }) => {
        const user = userOf(grant);
        const lifetime = randomInt(3600, 5400);
        const now = Math.floor(Date.now() / 1000);
        const scopes = grant.scope.split(' ').filter(Boolean);
        grant.accessExpiresAt = Date.now() + lifetime * 1000;
        grant.accessToken =
          user.tokenFormat === 'jwt'
            ? jwt({ aud: '00000003-0000-0000-c000-000000000000', iss: `https://sts.windows.net/${user.tenantId}/`, iat: now, nbf: now, exp: now + lifetime, tid: user.tenantId, oid: user.userId, upn: user.userPrincipalName, scp: scopes.filter((s) => !OIDC_SCOPES.has(s) && s !== 'offline_access').join(' ') })
            : `EwB${randomBytes(48).toString('base64url')}`;
        return {
          token_type: 'Bearer',
          // Graph scopes come back prefixed with the resource and lower-cased; offline_access is not echoed.
          scope: scopes.filter((s) => s !== 'offline_access').map((s) => (OIDC_SCOPES.has(s) ? s : `https://graph.microsoft.com/${s.toLowerCase()}`)).join(' '),
          expires_in: lifetime,
          ext_expires_in: lifetime,
          access_token: grant.accessToken,
          refresh_token: grant.refreshToken,
          ...(scopes.includes('openid') ? { id_token: jwt({ aud: 'fake-client-id', iss: `https://login.microsoftonline.com/${user.tenantId}/v2.0`, tid: user.tenantId, oid: user.userId, iat: now, exp: now + 3600 }) } : {}),
        };
      },
      errorReply: ({ status, error }) => {
        const code = pendingAadsts ?? AADSTS_OF_GENERIC[error] ?? 9002313;
        pendingAadsts = undefined;
        return {
          status,
          body: {
            error,
            error_description: `AADSTS${code}: ${AADSTS_TEXT[code] ?? 'Error.'} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
            error_codes: [code],
            timestamp: new Date().toISOString(),
            trace_id: randomUUID(),
            correlation_id: randomUUID(),
            error_uri: `https://login.microsoftonline.com/error?code=${code}`,
          },
        };
      },
    },
    (app, provider) => {
      app.get(`${MICROSOFT_PATHS.api}/me`, async (req, reply) => {
        const grant = provider.grantOfAccessToken(bearerToken(req));
        if (!grant) return reply.code(401).send({ error: { code: 'InvalidAuthenticationToken', message: 'Access token validation failure.' } });
        const user = userOf(grant);
        return { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users/$entity', id: user.userId, displayName: user.displayName, userPrincipalName: user.userPrincipalName, mail: user.userPrincipalName };
      });
    },
  )) as FakeMicrosoft;
  return Object.assign(fake, {
    nextUser: (user: Partial<MicrosoftUser>) => void (next = user),
    failNextTokenWith(error: string, aadsts: number) {
      pendingAadsts = aadsts;
      fake.failNextToken(400, error);
    },
  });
}
