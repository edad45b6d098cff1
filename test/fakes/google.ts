// Fake Google: OAuth 2.0 (creds in the form body, PKCE, static refresh tokens, /revoke) and the Calendar API bits
// the hub calls, in the documented shapes.
import { bearerToken } from './fake-server.js';
import { startFakeOAuthProvider, type FakeOAuthProvider } from './oauth-provider.js';

export const GOOGLE_PATHS = { authorize: '/o/oauth2/v2/auth', token: '/token', revoke: '/revoke', api: '/calendar/v3' };

export async function startFakeGoogle(options: { email?: string } = {}): Promise<FakeOAuthProvider> {
  const email = options.email ?? 'ceo@example.com';
  return startFakeOAuthProvider(
    {
      clientAuth: 'body',
      bodyFormat: 'form',
      pkce: 'optional',
      refresh: 'static',
      accessTtlSeconds: 3599,
      paths: GOOGLE_PATHS,
      revokeAuth: 'none',
      grantExtra: () => ({ email }),
      // Google's token errors: {"error":"invalid_grant","error_description":"Token has been expired or revoked."}
      errorReply: ({ status, error }) => ({
        status,
        body: { error, error_description: error === 'invalid_grant' ? 'Token has been expired or revoked.' : 'Bad Request' },
      }),
    },
    (app, provider) => {
      app.get(`${GOOGLE_PATHS.api}/users/me/calendarList/primary`, async (req, reply) => {
        const grant = provider.grantOfAccessToken(bearerToken(req));
        if (!grant) {
          return reply.code(401).send({ error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } });
        }
        return { kind: 'calendar#calendarListEntry', id: grant.extra.email, summary: grant.extra.email, timeZone: 'Europe/Paris', accessRole: 'owner', primary: true };
      });
    },
  );
}
