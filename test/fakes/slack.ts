// Fake Slack: oauth.v2.access as Slack answers it (the Web API envelope, errors as HTTP 200 `ok:false`, a
// top-level bot token, the user token under `authed_user`, single-use `xoxe-1-` refresh tokens when the app
// has token rotation), and auth.revoke with the token in the Authorization header.
import { bearerToken, randomToken } from './fake-server.js';
import { startFakeOAuthProvider, type FakeGrant, type FakeOAuthProvider } from './oauth-provider.js';

export const SLACK_PATHS = { authorize: '/oauth/v2/authorize', token: '/api/oauth.v2.access', revoke: '/api/auth.revoke', api: '/api' };

/** How the next workspace installs the app. */
export interface SlackInstall {
  teamId: string;
  teamName: string;
  /** An org-wide Enterprise Grid install: `team` is null and the enterprise is the account. */
  enterprise?: { id: string; name: string };
  /** Token rotation switched on: 12-hour bot tokens and single-use refresh tokens. */
  rotation: boolean;
  /** User scopes were granted too: a user token under `authed_user`. */
  userToken: boolean;
}

export interface FakeSlack extends FakeOAuthProvider {
  /** Shapes the next install (defaults: a plain workspace, rotation on, no user token). */
  nextInstall(install: Partial<SlackInstall>): void;
  /** How the client authenticated at oauth.v2.access on its latest call. */
  lastTokenClientAuth?: 'basic' | 'body';
}

const ROTATED_TTL_SECONDS = 43_200;

/** Slack's names for what the generic fake refuses; Slack says them all with HTTP 200. */
function slackErrorName(error: string, description: string): string {
  if (error === 'invalid_client') return 'invalid_client_id';
  if (error === 'unsupported_grant_type') return 'invalid_grant_type';
  if (error === 'invalid_grant') {
    if (description.includes('redirect_uri')) return 'bad_redirect_uri';
    if (description.includes('refresh token')) return 'invalid_refresh_token';
    return 'invalid_code';
  }
  return error;
}

function installOf(grant: FakeGrant): SlackInstall {
  return grant.extra as unknown as SlackInstall;
}

export async function startFakeSlack(): Promise<FakeSlack> {
  const defaults: SlackInstall = { teamId: 'T0HQ1', teamName: 'Acme HQ', rotation: true, userToken: false };
  let next: Partial<SlackInstall> = {};
  const fake = (await startFakeOAuthProvider(
    {
      // Slack prefers HTTP Basic but accepts the body, and takes form or JSON.
      clientAuth: 'either',
      bodyFormat: 'either',
      pkce: 'optional',
      refresh: 'rotating',
      accessTtlSeconds: ROTATED_TTL_SECONDS,
      paths: { authorize: SLACK_PATHS.authorize, token: SLACK_PATHS.token },
      grantExtra: () => {
        const install = { ...defaults, ...next, userId: randomToken('U'), userAccessToken: randomToken('xoxp-') };
        next = {};
        return install as unknown as Record<string, unknown>;
      },
      tokenBody: ({ grant, kind }) => {
        const install = installOf(grant);
        grant.accessToken = randomToken(install.rotation ? 'xoxe.xoxb-1-' : 'xoxb-');
        if (!install.rotation) grant.accessExpiresAt = undefined;
        else if (grant.refreshToken && !grant.refreshToken.startsWith('xoxe-1-')) grant.refreshToken = `xoxe-1-${grant.refreshToken}`;
        const common = {
          ok: true,
          app_id: 'A0HUB',
          scope: grant.scope,
          token_type: 'bot',
          access_token: grant.accessToken,
          bot_user_id: 'U0BOT',
          ...(install.rotation ? { refresh_token: grant.refreshToken, expires_in: ROTATED_TTL_SECONDS } : {}),
          team: install.enterprise ? null : { id: install.teamId, name: install.teamName },
          enterprise: install.enterprise ?? null,
          is_enterprise_install: Boolean(install.enterprise),
        };
        if (kind === 'refresh') return common;
        const extra = grant.extra as { userId: string; userAccessToken: string };
        return {
          ...common,
          authed_user: {
            id: extra.userId,
            ...(install.userToken ? { scope: 'search:read', access_token: extra.userAccessToken, token_type: 'user' } : {}),
          },
        };
      },
      errorReply: ({ status, error, description }) => {
        if (description === 'injected failure') {
          if (status === 429) return { status, body: { ok: false, error: 'ratelimited' } };
          // The shape Nango reports for a dead refresh (⚠ PROVIDERS.md): plain OAuth, HTTP 400.
          if (status === 400 && error === 'invalid_grant') return { status, body: { error, error_description: 'Invalid refresh token' } };
          return { status: status >= 500 ? status : 200, body: { ok: false, error } };
        }
        return { status: 200, body: { ok: false, error: slackErrorName(error, description) } };
      },
    },
    (app, provider) => {
      app.addHook('onRequest', async (req) => {
        if (req.url.split('?')[0] === SLACK_PATHS.token) {
          (provider as FakeSlack).lastTokenClientAuth = req.headers.authorization?.startsWith('Basic ') ? 'basic' : 'body';
        }
      });
      // auth.revoke: the token to revoke is the one the call is authenticated with.
      app.post(SLACK_PATHS.revoke, async (req) => {
        provider.calls.revokes++;
        const grant = provider.grantOfAccessToken(bearerToken(req));
        if (!grant) return { ok: false, error: 'invalid_auth' };
        grant.revoked = true;
        return { ok: true, revoked: true };
      });
    },
  )) as FakeSlack;
  return Object.assign(fake, { nextInstall: (install: Partial<SlackInstall>) => void (next = install) });
}
