// Fake Asana: OAuth with client credentials in a form body, S256 PKCE, 1-hour tokens, a token answer naming the
// user under `data`, refresh tokens kept on refresh (⚠ or rotated, when told to), form-encoded /-/oauth_revoke,
// and GET /api/1.0/users/me with the user's workspaces.
import { randomInt } from 'node:crypto';
import { bearerToken, contentTypeOf } from './fake-server.js';
import { startFakeOAuthProvider, type FakeOAuthProvider } from './oauth-provider.js';

export const ASANA_PATHS = { authorize: '/-/oauth_authorize', token: '/-/oauth_token', revoke: '/-/oauth_revoke', api: '/api/1.0' };

export interface AsanaUser {
  gid: string;
  name: string;
  email: string;
  workspaces: { gid: string; name: string }[];
}

export interface FakeAsana extends FakeOAuthProvider {
  nextUser(user: Partial<AsanaUser>): void;
  /** Whether a refresh answer carries a new refresh token (PROVIDERS.md ⚠: Asana is believed not to rotate). */
  setRotation(rotate: boolean): void;
}

const gid = () => String(randomInt(1e12, 9e12));

export async function startFakeAsana(): Promise<FakeAsana> {
  let next: Partial<AsanaUser> = {};
  let rotate = false;
  const fake = (await startFakeOAuthProvider(
    {
      clientAuth: 'body',
      bodyFormat: 'form',
      pkce: 'optional',
      // The generic fake rotates; a non-rotating refresh puts the old token back below.
      refresh: 'rotating',
      accessTtlSeconds: 3600,
      paths: { authorize: ASANA_PATHS.authorize, token: ASANA_PATHS.token },
      grantExtra: () => {
        const user: AsanaUser = { gid: gid(), name: 'Ada CEO', email: 'ada@example.com', workspaces: [{ gid: gid(), name: 'Acme' }], ...next };
        next = {};
        return { ...user };
      },
      tokenBody: ({ grant, kind }) => {
        if (kind === 'refresh' && !rotate) grant.refreshToken = grant.retiredRefreshTokens.pop();
        const user = grant.extra as unknown as AsanaUser;
        return {
          access_token: grant.accessToken,
          token_type: 'bearer',
          expires_in: 3600,
          data: { id: Number(user.gid), gid: user.gid, name: user.name, email: user.email },
          ...(kind === 'code' || rotate ? { refresh_token: grant.refreshToken } : {}),
        };
      },
    },
    (app, provider) => {
      app.post(ASANA_PATHS.revoke, async (req, reply) => {
        provider.calls.revokes++;
        if (contentTypeOf(req) !== 'form') return reply.code(400).send({ error: 'invalid_request', error_description: 'form body expected' });
        const body = req.body as Record<string, string>;
        if (body.client_id !== provider.clientId || body.client_secret !== provider.clientSecret) {
          return reply.code(401).send({ error: 'invalid_client', error_description: 'client_id and client_secret in the body' });
        }
        const grant = body.token ? provider.grantOfToken(body.token) : undefined;
        if (grant) grant.revoked = true;
        return reply.code(200).send();
      });
      app.get(`${ASANA_PATHS.api}/users/me`, async (req, reply) => {
        const grant = provider.grantOfAccessToken(bearerToken(req));
        if (!grant) return reply.code(401).send({ errors: [{ message: 'Not Authorized', help: 'For more information on API status codes …' }] });
        const user = grant.extra as unknown as AsanaUser;
        return {
          data: {
            gid: user.gid,
            email: user.email,
            name: user.name,
            photo: null,
            resource_type: 'user',
            workspaces: user.workspaces.map((w) => ({ gid: w.gid, name: w.name, resource_type: 'workspace' })),
          },
        };
      });
    },
  )) as FakeAsana;
  return Object.assign(fake, {
    nextUser: (user: Partial<AsanaUser>) => void (next = user),
    setRotation: (value: boolean) => void (rotate = value),
  });
}
