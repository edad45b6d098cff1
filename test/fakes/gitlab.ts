// Fake GitLab (Doorkeeper): creds in the form body, optional S256 PKCE, 2-hour tokens carrying `created_at`,
// refresh tokens that rotate on every use, RFC 7009 revocation with client creds in the body, and /api/v4/user.
import { bearerToken } from './fake-server.js';
import { startFakeOAuthProvider, type FakeOAuthProvider } from './oauth-provider.js';

export const GITLAB_PATHS = { authorize: '/oauth/authorize', token: '/oauth/token', revoke: '/oauth/revoke', api: '/api/v4' };

export interface FakeGitLab extends FakeOAuthProvider {
  /** Token-answer quirks, changeable between tests: some GitLab versions omit expires_in (gitlab#360729). */
  quirks: { omitExpiresIn: boolean; createdAtOffsetSeconds: number };
}

// Doorkeeper's wording for its errors.
const DESCRIPTIONS: Record<string, string> = {
  invalid_grant:
    'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.',
  invalid_client: 'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.',
};

export async function startFakeGitLab(options: { user?: { id: number; username: string; name: string } } = {}): Promise<FakeGitLab> {
  const user = options.user ?? { id: 4242, username: 'cto', name: 'Chief Technology Officer' };
  const quirks = { omitExpiresIn: false, createdAtOffsetSeconds: 0 };
  const fake = (await startFakeOAuthProvider(
    {
      clientAuth: 'body',
      bodyFormat: 'form',
      pkce: 'optional',
      refresh: 'rotating',
      accessTtlSeconds: 7200,
      paths: GITLAB_PATHS,
      revokeAuth: 'body',
      tokenBody: ({ grant }) => ({
        access_token: grant.accessToken,
        token_type: 'Bearer',
        ...(quirks.omitExpiresIn ? {} : { expires_in: 7200 }),
        refresh_token: grant.refreshToken,
        scope: grant.scope,
        created_at: Math.floor(Date.now() / 1000) + quirks.createdAtOffsetSeconds,
      }),
      errorReply: ({ status, error, description }) => ({ status, body: { error, error_description: DESCRIPTIONS[error] ?? description } }),
    },
    (app, provider) => {
      app.get(`${GITLAB_PATHS.api}/user`, async (req, reply) => {
        if (!provider.grantOfAccessToken(bearerToken(req))) return reply.code(401).send({ message: '401 Unauthorized' });
        return { id: user.id, username: user.username, name: user.name, state: 'active', web_url: `https://gitlab.example.com/${user.username}` };
      });
    },
  )) as FakeGitLab;
  return Object.assign(fake, { quirks });
}
