// Fake Slack: oauth.v2.access as Slack answers it (the Web API envelope, errors as HTTP 200 `ok:false`, a
// top-level bot token, the user token under `authed_user`, single-use `xoxe-1-` refresh tokens when the app
// has token rotation), auth.revoke with the token in the Authorization header, and the Web API methods the
// widgets call (users.list, conversations.list) with cursor paging and errors as HTTP 200 `ok:false`.
import type { FastifyReply, FastifyRequest } from 'fastify';
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

export interface FakeSlackMember {
  id: string;
  name: string;
  deleted?: boolean;
  is_bot?: boolean;
  is_app_user?: boolean;
  is_restricted?: boolean;
  is_ultra_restricted?: boolean;
}

export interface FakeSlackChannel {
  id: string;
  name: string;
  num_members: number;
  is_archived?: boolean;
  is_private?: boolean;
  topic?: string;
  purpose?: string;
}

/** One queued answer instead of the real one: an HTTP failure (429 + Retry-After, 5xx) or `ok:false` with HTTP 200. */
export interface SlackFailure {
  status: number;
  headers?: Record<string, string>;
  /** The Web API error name (default: `ratelimited` for 429, `fatal_error` otherwise). */
  error?: string;
}

export interface FakeSlack extends FakeOAuthProvider {
  /** Shapes the next install (defaults: a plain workspace, rotation on, no user token). */
  nextInstall(install: Partial<SlackInstall>): void;
  /** How the client authenticated at oauth.v2.access on its latest call. */
  lastTokenClientAuth?: 'basic' | 'body';
  /** The workspace the Web API methods read (shared by every install of this fake). */
  workspace: { members: FakeSlackMember[]; channels: FakeSlackChannel[] };
  api: { calls: number; methodCalls: Record<string, number>; delayMs: number; failures: SlackFailure[] };
}

/** The bot scope each Web API method needs, as Slack checks it. */
const METHOD_SCOPES: Record<string, string> = { 'users.list': 'users:read', 'conversations.list': 'channels:read' };
const WEB_API_METHODS = new Set(Object.keys(METHOD_SCOPES));

/** Cursor paging as Slack does it: an opaque cursor, `next_cursor` empty on the last page. */
function pageOf<T>(items: T[], query: Record<string, string>): { page: T[]; next: string } | { error: string } {
  const limit = query.limit === undefined ? 100 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return { error: 'invalid_limit' };
  let offset = 0;
  if (query.cursor) {
    const decoded = /^offset:(\d+)$/.exec(Buffer.from(query.cursor, 'base64').toString('utf8'));
    if (!decoded) return { error: 'invalid_cursor' };
    offset = Number(decoded[1]);
  }
  const page = items.slice(offset, offset + limit);
  const next = offset + limit < items.length ? Buffer.from(`offset:${offset + limit}`).toString('base64') : '';
  return { page, next };
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
  const workspace: FakeSlack['workspace'] = { members: [], channels: [] };
  const api: FakeSlack['api'] = { calls: 0, methodCalls: {}, delayMs: 0, failures: [] };
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
      // The Web API: every method checks the token (header or `token` argument) and its scope first.
      app.addHook('onRequest', async (req, reply) => {
        const method = req.url.split('?')[0]!.slice(SLACK_PATHS.api.length + 1);
        if (!WEB_API_METHODS.has(method)) return;
        api.calls++;
        api.methodCalls[method] = (api.methodCalls[method] ?? 0) + 1;
        if (api.delayMs) await new Promise((r) => setTimeout(r, api.delayMs));
        const failure = api.failures.shift();
        if (failure) {
          const error = failure.error ?? (failure.status === 429 ? 'ratelimited' : 'fatal_error');
          return reply.code(failure.status).headers(failure.headers ?? {}).send({ ok: false, error });
        }
        const token = bearerToken(req) ?? (req.query as Record<string, string>).token;
        if (!token) return reply.send({ ok: false, error: 'not_authed' });
        const grant = provider.grantOfAccessToken(token);
        if (!grant) return reply.send({ ok: false, error: 'invalid_auth' });
        const granted = grant.scope.split(',').filter(Boolean);
        if (!granted.includes(METHOD_SCOPES[method]!)) {
          return reply.send({ ok: false, error: 'missing_scope', needed: METHOD_SCOPES[method], provided: granted.join(',') });
        }
      });
      const answerPage = <T>(reply: FastifyReply, req: FastifyRequest, items: T[], key: string, extra: Record<string, unknown> = {}) => {
        const paged = pageOf(items, req.query as Record<string, string>);
        if ('error' in paged) return reply.send({ ok: false, error: paged.error });
        return reply.send({ ok: true, [key]: paged.page, ...extra, response_metadata: { next_cursor: paged.next } });
      };
      app.get(`${SLACK_PATHS.api}/users.list`, async (req, reply) => {
        const members = workspace.members.map((m) => ({ team_id: 'T0HQ1', real_name: m.name, profile: { real_name: m.name }, is_admin: false, is_owner: false, updated: 1_700_000_000, ...m }));
        return answerPage(reply, req, members, 'members', { cache_ts: Math.floor(Date.now() / 1000) });
      });
      app.get(`${SLACK_PATHS.api}/conversations.list`, async (req, reply) => {
        const q = req.query as Record<string, string>;
        const types = (q.types ?? 'public_channel').split(',');
        if (types.includes('private_channel')) return reply.send({ ok: false, error: 'missing_scope', needed: 'groups:read' });
        const channels = workspace.channels
          .filter((c) => !c.is_private && !(q.exclude_archived === 'true' && c.is_archived))
          .map((c) => ({
            id: c.id,
            name: c.name,
            is_channel: true,
            is_group: false,
            is_im: false,
            is_private: false,
            is_archived: Boolean(c.is_archived),
            is_general: c.name === 'general',
            created: 1_600_000_000,
            creator: 'U0ADMIN',
            num_members: c.num_members,
            topic: { value: c.topic ?? '', creator: '', last_set: 0 },
            purpose: { value: c.purpose ?? '', creator: '', last_set: 0 },
          }));
        return answerPage(reply, req, channels, 'channels');
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
  return Object.assign(fake, { workspace, api, nextInstall: (install: Partial<SlackInstall>) => void (next = install) });
}
