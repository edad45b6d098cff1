// Fake GitHub: the OAuth web flow as GitHub answers it (creds in the form body, optional S256 PKCE, form-encoded
// answers unless the client asks for JSON, errors with HTTP 200), GitHub App user tokens (8 h, single-use
// rotating refresh tokens) or OAuth App tokens (no expiry, no refresh), the token-revocation REST call, and
// the REST routes the hub reads at connect time.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { basicCredentials, bearerToken, contentTypeOf } from './fake-server.js';
import { startFakeOAuthProvider, type FakeGrant, type FakeOAuthProvider } from './oauth-provider.js';

export const GITHUB_PATHS = {
  authorize: '/login/oauth/authorize',
  token: '/login/oauth/access_token',
  // {clientId} is filled by the hub, as in the real https://api.github.com/applications/{client_id}/token.
  revoke: '/applications/{clientId}/token',
  api: '',
};

/** `app`: GitHub App user-to-server tokens; `oauth-app`: classic OAuth App tokens. */
export type GitHubAppKind = 'app' | 'oauth-app';

export interface FakeGitHub extends FakeOAuthProvider {
  /** Which kind of app the next authorizations are for. */
  setKind(kind: GitHubAppKind): void;
  /** The Accept header of every token-endpoint call, in order. */
  tokenAccepts: (string | undefined)[];
  /** Every revocation call that reached the fake, with how it authenticated. */
  revocations: { clientId?: string; basic: boolean; contentType: string; token?: string; status: number }[];
}

const DOCS = 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors';

/** GitHub's names for the generic fake's token errors, all answered with HTTP 200. */
function githubError(error: string, description: string): { error: string; error_description: string } {
  if (error === 'invalid_client') return { error: 'incorrect_client_credentials', error_description: 'The client_id and/or client_secret passed are incorrect.' };
  if (error === 'invalid_grant' && /refresh/.test(description)) return { error: 'bad_refresh_token', error_description: 'The refresh token passed is incorrect or expired.' };
  if (error === 'invalid_grant' && /redirect_uri/.test(description)) return { error: 'redirect_uri_mismatch', error_description: 'The redirect_uri MUST match the registered callback URL for this application.' };
  if (error === 'invalid_grant') return { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' };
  return { error, error_description: description };
}

export async function startFakeGitHub(options: { user?: { id: number; login: string; name?: string }; installations?: number[] } = {}): Promise<FakeGitHub> {
  const user = options.user ?? { id: 583231, login: 'octocat', name: 'The Octocat' };
  const installations = options.installations ?? [1234567];
  let kind: GitHubAppKind = 'app';
  const tokenAccepts: (string | undefined)[] = [];
  const revocations: FakeGitHub['revocations'] = [];

  const notAuthenticated = (reply: FastifyReply) => reply.code(401).send({ message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });

  const fake = (await startFakeOAuthProvider(
    {
      clientId: 'Iv23liFakeGitHubClient',
      clientSecret: 'fake-github-secret',
      clientAuth: 'body',
      bodyFormat: 'form',
      // S256 PKCE is accepted since 2025-07 and checked when sent; it is not required.
      pkce: 'optional',
      refresh: 'rotating',
      accessTtlSeconds: 28_800,
      // No `revoke` path here: GitHub's revocation is a REST call with its own shape (below).
      paths: { authorize: GITHUB_PATHS.authorize, token: GITHUB_PATHS.token },
      grantExtra: () => ({ kind }),
      tokenBody: ({ grant }) =>
        grant.extra.kind === 'app'
          ? { access_token: grant.accessToken, expires_in: 28_800, refresh_token: grant.refreshToken, refresh_token_expires_in: 15_897_600, scope: '', token_type: 'bearer' }
          : // OAuth Apps grant the requested scopes and say so comma-separated; the token does not expire.
            { access_token: grant.accessToken, scope: grant.scope.split(' ').filter(Boolean).join(','), token_type: 'bearer' },
      errorReply: ({ status, error, description }) =>
        status >= 500 || status === 429 ? { status, body: { error, error_description: description } } : { status: 200, body: { ...githubError(error, description), error_uri: DOCS } },
    },
    (app, provider) => {
      app.addHook('onRequest', async (req) => {
        if (req.method === 'POST' && req.url.split('?')[0] === GITHUB_PATHS.token) tokenAccepts.push(req.headers.accept);
      });
      // Without Accept: application/json GitHub answers the token endpoint form-encoded, errors included.
      app.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
        if (req.url.split('?')[0] !== GITHUB_PATHS.token || (req.headers.accept ?? '').includes('application/json') || typeof payload !== 'string') return payload;
        const body = JSON.parse(payload) as Record<string, unknown>;
        void reply.type('application/x-www-form-urlencoded; charset=utf-8');
        return new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, String(v)])).toString();
      });

      const grantOf = (req: FastifyRequest): FakeGrant | undefined => provider.grantOfAccessToken(bearerToken(req));

      app.get('/user', async (req, reply) => {
        if (!grantOf(req)) return notAuthenticated(reply);
        return { login: user.login, id: user.id, node_id: 'MDQ6VXNlcjE=', type: 'User', name: user.name ?? null, site_admin: false };
      });

      app.get('/user/installations', async (req, reply) => {
        const grant = grantOf(req);
        if (!grant) return notAuthenticated(reply);
        if (grant.extra.kind !== 'app') {
          return reply.code(403).send({ message: 'You must authenticate with an access token authorized to a GitHub App in order to list installations', documentation_url: 'https://docs.github.com/rest/apps/installations', status: '403' });
        }
        return {
          total_count: installations.length,
          installations: installations.map((id) => ({ id, app_id: 1, target_type: 'Organization', account: { login: 'acme', id: 9919, type: 'Organization' } })),
        };
      });

      // DELETE /applications/{client_id}/token: Basic client_id:client_secret, JSON body { access_token }.
      app.delete('/applications/:clientId/token', async (req, reply) => {
        provider.calls.revokes++;
        const basic = basicCredentials(req);
        const body = (req.body ?? {}) as Record<string, unknown>;
        const token = typeof body.access_token === 'string' ? body.access_token : undefined;
        const record = (status: number) => {
          revocations.push({ clientId: (req.params as { clientId: string }).clientId, basic: !!basic, contentType: contentTypeOf(req), token, status });
          return status;
        };
        if (!basic || basic.id !== provider.clientId || basic.secret !== provider.clientSecret || (req.params as { clientId: string }).clientId !== provider.clientId) {
          return reply.code(record(404)).send({ message: 'Not Found', documentation_url: 'https://docs.github.com/rest/apps/oauth-applications#delete-an-app-token', status: '404' });
        }
        if (contentTypeOf(req) !== 'json' || !token) return reply.code(record(422)).send({ message: 'Validation Failed', status: '422' });
        const grant = provider.grantOfAccessToken(token);
        if (!grant) return reply.code(record(404)).send({ message: 'Not Found', status: '404' });
        grant.revoked = true;
        return reply.code(record(204)).send();
      });
    },
  )) as FakeGitHub;

  return Object.assign(fake, { setKind: (k: GitHubAppKind) => void (kind = k), tokenAccepts, revocations });
}
