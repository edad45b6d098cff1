// Fake Intuit (QuickBooks Online): Basic client auth and form bodies at the token endpoint, realmId on the
// redirect only, token answers without scope, a refresh-token value that changes (or not) on refresh with the
// previous value expiring, revocation with Basic + a JSON {token}, and CompanyInfo in QBO's JSON shapes.
import { basicCredentials, bearerToken, contentTypeOf } from './fake-server.js';
import { startFakeOAuthProvider, type FakeOAuthOptions, type FakeOAuthProvider } from './oauth-provider.js';

export const QUICKBOOKS_PATHS = {
  authorize: '/connect/oauth2',
  token: '/oauth2/v1/tokens/bearer',
  revoke: '/v2/oauth2/tokens/revoke',
  api: '',
};

export interface FakeCompany {
  realmId: string;
  name: string;
}

export interface FakeQuickBooks extends FakeOAuthProvider {
  /** The company the next consent connects. */
  setCompany(company: FakeCompany): void;
  /** Whether refreshing changes the refresh token's value (Intuit changes it about daily, not on every call). */
  setRefreshRotation(rotate: boolean): void;
  /** What each revocation call carried. */
  revokeRequests: { basicClientId?: string; contentType: string; body: unknown }[];
}

const fault = (type: string, code: string, message: string) => ({
  Fault: { Error: [{ Message: message, Detail: message, code }], type },
  time: new Date().toISOString(),
});

export async function startFakeQuickBooks(): Promise<FakeQuickBooks> {
  let company: FakeCompany = { realmId: '9341452987115460', name: 'Acme Manufacturing LLC' };
  const revokeRequests: FakeQuickBooks['revokeRequests'] = [];
  const options: FakeOAuthOptions = {
    clientAuth: 'basic',
    bodyFormat: 'form',
    // ⚠ Intuit's own SDK sends no PKCE: the fake takes either, the hub sends none.
    pkce: 'optional',
    refresh: 'rotating',
    // A previous value is refused below without killing the grant (Intuit expires it; no family revocation).
    reuseDetection: false,
    accessTtlSeconds: 3600,
    paths: { authorize: QUICKBOOKS_PATHS.authorize, token: QUICKBOOKS_PATHS.token },
    grantExtra: () => ({ ...company }),
    callbackExtras: (grant) => ({ realmId: String(grant.extra.realmId) }),
    // Intuit's bearer answer: no scope member, the refresh token always present (changed or not).
    tokenBody: ({ grant }) => ({
      token_type: 'bearer',
      expires_in: 3600,
      refresh_token: grant.refreshToken,
      x_refresh_token_expires_in: 8_726_400,
      access_token: grant.accessToken,
    }),
  };
  const fake = (await startFakeOAuthProvider(options, (app, provider) => {
    app.addHook('preHandler', async (req, reply) => {
      if (req.method !== 'POST' || req.url !== QUICKBOOKS_PATHS.token) return;
      const body = (req.body ?? {}) as Record<string, string>;
      if (body.grant_type !== 'refresh_token') return;
      const retired = [...provider.grants.values()].some((g) => g.retiredRefreshTokens.includes(body.refresh_token ?? ''));
      if (retired) return reply.code(400).send({ error_description: 'Token invalid', error: 'invalid_grant' });
    });

    app.post(QUICKBOOKS_PATHS.revoke, async (req, reply) => {
      provider.calls.revokes++;
      const client = basicCredentials(req);
      revokeRequests.push({ basicClientId: client?.id, contentType: contentTypeOf(req), body: req.body });
      if (client?.id !== provider.clientId || client.secret !== provider.clientSecret) return reply.code(401).send({ error: 'invalid_client' });
      if (contentTypeOf(req) !== 'json') return reply.code(400).send({ error: 'invalid_request' });
      const token = (req.body as { token?: unknown } | undefined)?.token;
      const grant = typeof token === 'string' ? provider.grantOfToken(token) : undefined;
      if (grant) grant.revoked = true;
      return reply.code(200).send();
    });

    app.get<{ Params: { realmId: string; id: string } }>('/v3/company/:realmId/companyinfo/:id', async (req, reply) => {
      const grant = provider.grantOfAccessToken(bearerToken(req));
      if (!grant) {
        return reply.code(401).send(fault('AuthenticationFault', '3200', 'message=AuthenticationFailed; errorCode=003200; statusCode=401'));
      }
      if (req.params.realmId !== grant.extra.realmId || req.params.id !== grant.extra.realmId) {
        return reply.code(403).send(fault('AuthorizationFault', '3100', 'message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403'));
      }
      // QBO answers XML unless asked for JSON.
      if (!String(req.headers.accept ?? '').includes('application/json')) {
        return reply.type('application/xml').send('<IntuitResponse><CompanyInfo/></IntuitResponse>');
      }
      return {
        CompanyInfo: {
          CompanyName: grant.extra.name,
          LegalName: `${String(grant.extra.name)} (legal)`,
          Country: 'US',
          Id: '1',
          SyncToken: '3',
          domain: 'QBO',
          sparse: false,
          MetaData: { CreateTime: '2019-07-01T10:00:00-07:00', LastUpdatedTime: '2026-01-15T09:30:00-08:00' },
        },
        time: new Date().toISOString(),
      };
    });
  })) as FakeQuickBooks;
  return Object.assign(fake, {
    setCompany: (c: FakeCompany) => void (company = c),
    setRefreshRotation: (rotate: boolean) => void (options.refresh = rotate ? 'rotating' : 'static'),
    revokeRequests,
  });
}
