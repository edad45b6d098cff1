// Fake Microsoft identity platform (Entra v2) + Graph: client credentials in a form body, PKCE, JWT access
// tokens carrying `tid`/`oid` (opaque ones for personal accounts), random 60–90-minute lifetimes, a new refresh
// token on every use with the old one left working, AADSTS-coded errors, no revocation endpoint, GET /v1.0/me,
// and the Graph calls the widgets make (calendarView, chats) with @odata.nextLink paging and Graph's error envelope.
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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

/** A calendar event; times are ISO instants. */
export interface FakeGraphEvent {
  id: string;
  subject: string;
  start: string;
  end: string;
  isAllDay?: boolean;
  isCancelled?: boolean;
  showAs?: string;
  location?: string;
  joinUrl?: string;
}

export interface FakeGraphChat {
  id: string;
  topic?: string;
  chatType: 'oneOnOne' | 'group' | 'meeting';
  lastMessage?: { at: string; fromId: string; fromName: string; content: string; contentType?: 'html' | 'text'; isDeleted?: boolean; messageType?: string };
}

export interface FakeGraphState {
  /** The calendar and chats every connection of this fake sees. */
  events: FakeGraphEvent[];
  chats: FakeGraphChat[];
  api: { calls: number; calendarCalls: number; chatCalls: number; delayMs: number; failures: { status: number; headers?: Record<string, string> }[]; lastPrefer?: string };
}

const GRAPH_CODES: Record<number, string> = { 400: 'BadRequest', 401: 'InvalidAuthenticationToken', 403: 'Forbidden', 429: 'TooManyRequests', 500: 'InternalServerError', 503: 'ServiceNotAvailable', 504: 'GatewayTimeout' };
function graphError(reply: FastifyReply, status: number, message: string, headers: Record<string, string> = {}, code = GRAPH_CODES[status] ?? 'UnknownError') {
  const innerError = { date: new Date().toISOString().slice(0, 19), 'request-id': randomUUID(), 'client-request-id': randomUUID() };
  return reply.code(status).headers(headers).send({ error: { code, message, innerError } });
}

/** Graph's `dateTimeTimeZone` in UTC: seven fractional digits, no offset. */
const graphTime = (iso: string) => ({ dateTime: new Date(iso).toISOString().replace('Z', '0000'), timeZone: 'UTC' });

/** Server-side paging: `@odata.nextLink` is an absolute URL with the same query and an opaque $skiptoken. */
function pageOf<T>(req: FastifyRequest, all: T[], size: number) {
  const q = req.query as Record<string, string>;
  const start = q.$skiptoken ? Number(Buffer.from(q.$skiptoken, 'base64url').toString('utf8')) : 0;
  const next = new URL(req.url, `http://${req.headers.host}`);
  next.searchParams.set('$skiptoken', Buffer.from(String(start + size)).toString('base64url'));
  return { page: all.slice(start, start + size), nextLink: start + size < all.length ? next.toString() : undefined };
}

function addGraphRoutes(app: FastifyInstance, provider: FakeOAuthProvider, state: FakeGraphState) {
  const { api } = state;
  const me = `${MICROSOFT_PATHS.api}/me`;
  // Delegated permissions each route needs (any one of them), as Graph checks the token's `scp`.
  const needs: Record<string, string[]> = { [`${me}/calendarView`]: ['Calendars.Read', 'Calendars.ReadBasic', 'Calendars.ReadWrite'], [`${me}/chats`]: ['Chat.ReadBasic', 'Chat.Read', 'Chat.ReadWrite'] };
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (!path.startsWith(`${MICROSOFT_PATHS.api}/`)) return;
    api.calls++;
    if (api.delayMs) await new Promise((r) => setTimeout(r, api.delayMs));
    const failure = api.failures.shift();
    if (failure) return graphError(reply, failure.status, 'Injected failure.', failure.headers);
    const grant = provider.grantOfAccessToken(bearerToken(req));
    if (!grant) return graphError(reply, 401, 'Access token validation failure. Invalid audience.');
    const scopes = grant.scope.split(' ');
    if (needs[path] && !needs[path].some((s) => scopes.includes(s))) return graphError(reply, 403, 'Missing scope permissions on the request.');
    // The last message is message content: Chat.ReadBasic does not reach it.
    const q = req.query as Record<string, string>;
    if (q.$expand?.includes('lastMessagePreview') && !['Chat.Read', 'Chat.ReadWrite'].some((s) => scopes.includes(s))) return graphError(reply, 403, 'Missing scope permissions on the request.');
  });

  app.get(`${me}/calendarView`, async (req, reply) => {
    api.calendarCalls++;
    const q = req.query as Record<string, string>;
    api.lastPrefer = String(req.headers.prefer ?? '') || undefined;
    const from = Date.parse(q.startDateTime ?? '');
    const to = Date.parse(q.endDateTime ?? '');
    if (Number.isNaN(from) || Number.isNaN(to)) {
      return graphError(reply, 400, 'This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.', {}, 'ErrorInvalidParameter');
    }
    const top = Number(q.$top ?? 10);
    if (!Number.isInteger(top) || top < 1 || top > 1000) return graphError(reply, 400, `Invalid value '${q.$top}' for query parameter $top.`, {}, 'ErrorInvalidParameter');
    const matching = state.events.filter((e) => Date.parse(e.end) > from && Date.parse(e.start) < to).sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
    const { page, nextLink } = pageOf(req, matching, top);
    return {
      '@odata.context': "https://graph.microsoft.com/v1.0/$metadata#users('me')/calendarView",
      value: page.map((e) => ({
        '@odata.etag': `W/"${randomUUID()}"`,
        id: e.id,
        subject: e.subject,
        isAllDay: Boolean(e.isAllDay),
        isCancelled: Boolean(e.isCancelled),
        showAs: e.showAs ?? 'busy',
        webLink: `https://outlook.office365.com/owa/?itemid=${encodeURIComponent(e.id)}&exvsurl=1&path=/calendar/item`,
        isOnlineMeeting: Boolean(e.joinUrl),
        onlineMeeting: e.joinUrl ? { joinUrl: e.joinUrl } : null,
        location: { displayName: e.location ?? '', locationType: 'default' },
        start: graphTime(e.start),
        end: graphTime(e.end),
      })),
      ...(nextLink ? { '@odata.nextLink': nextLink } : {}),
    };
  });

  app.get(`${me}/chats`, async (req, reply) => {
    api.chatCalls++;
    const q = req.query as Record<string, string>;
    const top = Number(q.$top ?? 50);
    if (!Number.isInteger(top) || top < 1 || top > 50) return graphError(reply, 400, `Invalid page size requested: ${q.$top}. Page size must be in range [1, 50].`);
    if (q.$orderby !== undefined && q.$orderby !== 'lastMessagePreview/createdDateTime desc') return graphError(reply, 400, `$orderby '${q.$orderby}' is not supported.`);
    const expand = (q.$expand ?? '').split(',');
    const at = (c: FakeGraphChat) => (c.lastMessage ? Date.parse(c.lastMessage.at) : -Infinity);
    const chats = q.$orderby ? [...state.chats].sort((a, b) => at(b) - at(a)) : state.chats;
    const { page, nextLink } = pageOf(req, chats, top);
    return {
      '@odata.context': "https://graph.microsoft.com/v1.0/$metadata#chats(lastMessagePreview())",
      '@odata.count': chats.length,
      value: page.map((c) => ({
        id: c.id,
        topic: c.topic ?? null,
        createdDateTime: '2024-01-01T00:00:00Z',
        lastUpdatedDateTime: '2024-01-01T00:00:00Z',
        chatType: c.chatType,
        webUrl: `https://teams.microsoft.com/l/chat/${encodeURIComponent(c.id)}/0?tenantId=${randomUUID()}`,
        tenantId: randomUUID(),
        onlineMeetingInfo: null,
        viewpoint: { isHidden: false, lastMessageReadDateTime: '2024-01-01T00:00:00Z' },
        ...(expand.includes('lastMessagePreview')
          ? {
              lastMessagePreview: c.lastMessage
                ? {
                    id: randomUUID(),
                    createdDateTime: c.lastMessage.at,
                    isDeleted: Boolean(c.lastMessage.isDeleted),
                    messageType: c.lastMessage.messageType ?? 'message',
                    eventDetail: null,
                    body: { contentType: c.lastMessage.contentType ?? 'text', content: c.lastMessage.content },
                    from: { application: null, device: null, user: { '@odata.type': '#microsoft.graph.teamworkUserIdentity', id: c.lastMessage.fromId, displayName: c.lastMessage.fromName, userIdentityType: 'aadUser' } },
                  }
                : null,
            }
          : {}),
      })),
      ...(nextLink ? { '@odata.nextLink': nextLink } : {}),
    };
  });
}

export interface FakeMicrosoft extends FakeOAuthProvider, FakeGraphState {
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
  const graph: FakeGraphState = { events: [], chats: [], api: { calls: 0, calendarCalls: 0, chatCalls: 0, delayMs: 0, failures: [] } };
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
      addGraphRoutes(app, provider, graph);
      app.get(`${MICROSOFT_PATHS.api}/me`, async (req, reply) => {
        const grant = provider.grantOfAccessToken(bearerToken(req));
        if (!grant) return reply.code(401).send({ error: { code: 'InvalidAuthenticationToken', message: 'Access token validation failure.' } });
        const user = userOf(grant);
        return { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users/$entity', id: user.userId, displayName: user.displayName, userPrincipalName: user.userPrincipalName, mail: user.userPrincipalName };
      });
    },
  )) as FakeMicrosoft;
  return Object.assign(fake, graph, {
    nextUser: (user: Partial<MicrosoftUser>) => void (next = user),
    failNextTokenWith(error: string, aadsts: number) {
      pendingAadsts = aadsts;
      fake.failNextToken(400, error);
    },
  });
}
