// Fake Microsoft identity platform (Entra v2) + Graph: client credentials in a form body, PKCE, JWT access
// tokens carrying `tid`/`oid` (opaque ones for personal accounts), random 60–90-minute lifetimes, a new refresh
// token on every use with the old one left working, AADSTS-coded errors, no revocation endpoint, GET /v1.0/me,
// and the Graph calls the widgets make (calendarView, chats) with @odata.nextLink paging and Graph's error envelope;
// change-notification subscriptions as Graph runs them: the notificationUrl (and lifecycle URL) validated with a
// validationToken echo before the create answers, expirationDateTime capped per resource, PATCH renewal, DELETE,
// and notifications (resource changes, lifecycle events) POSTed with the subscription's clientState.
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken, forwardedUrl, type HubForwarding } from './fake-server.js';
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

export interface FakeGraphSubscription {
  id: string;
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl?: string;
  clientState?: string;
  expirationDateTime: string;
  tenantId: string;
  userId: string;
}

/** One validation request Graph made and what the endpoint answered. */
export interface FakeGraphValidation {
  url: string;
  token: string;
  status: number;
  contentType: string;
  body: string;
}

export interface FakeGraphSubscriptions {
  subscriptions: Map<string, FakeGraphSubscription>;
  validations: FakeGraphValidation[];
  subscriptionCalls: { creates: number; renewals: number; deletes: number };
  /** Graph validates on create; whether it also validates on renewal is undocumented (⚠): off unless set. */
  validateOnRenew: boolean;
  /** Delivers what Graph addresses to the hub's public origin to where the test hub listens (a TLS proxy's job). */
  forwardHub(publicOrigin: string, localOrigin: string): void;
  /** POSTs a change notification for one of the user's events, as Graph does; resolves to the hub's status. */
  notify(subscriptionId: string, change: { changeType: 'created' | 'updated' | 'deleted'; eventId: string; etag?: string }): Promise<{ status: number; body: unknown }>;
  /** POSTs a lifecycle notification to the subscription's lifecycleNotificationUrl. */
  notifyLifecycle(subscriptionId: string, lifecycleEvent: 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed'): Promise<{ status: number; body: unknown }>;
  /** The items Graph would send (for tests that tamper with them before posting). */
  notificationItem(subscriptionId: string, change: { changeType: string; eventId: string; etag?: string }): Record<string, unknown>;
  /** POSTs a body to a hub URL through the forwarding (a raw delivery). */
  postToHub(url: string, body: unknown): Promise<{ status: number; body: unknown }>;
}

/** Maximum subscription lifetimes in minutes (subscription resource table): Outlook event 4230. */
const MAX_MINUTES: { pattern: RegExp; minutes: number }[] = [{ pattern: /^\/?(me|users\/[^/]+)\/events$/i, minutes: 4230 }];
const CALENDAR_READ = ['Calendars.Read', 'Calendars.ReadBasic', 'Calendars.ReadWrite'];

function addSubscriptionRoutes(app: FastifyInstance, provider: FakeOAuthProvider, state: FakeGraphSubscriptions & { hub: HubForwarding }) {
  const path = `${MICROSOFT_PATHS.api}/subscriptions`;
  const hubUrl = (url: string) => forwardedUrl(state.hub, url);

  /** Graph's URL check: POST ?validationToken=… (text/plain, empty body); 200 text/plain with the decoded token within 10 s. */
  async function validate(url: string): Promise<boolean> {
    const token = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`;
    const target = new URL(hubUrl(url));
    target.searchParams.set('validationToken', token);
    try {
      const res = await fetch(target, { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '', signal: AbortSignal.timeout(10_000) });
      const body = await res.text();
      const contentType = res.headers.get('content-type') ?? '';
      state.validations.push({ url, token, status: res.status, contentType, body });
      return res.status === 200 && contentType.split(';')[0]!.trim() === 'text/plain' && body === token;
    } catch {
      state.validations.push({ url, token, status: 0, contentType: '', body: '' });
      return false;
    }
  }

  const maxMinutesOf = (resource: string) => MAX_MINUTES.find((m) => m.pattern.test(resource))?.minutes;
  const checkExpiry = (value: unknown, resource: string): string | undefined => {
    const at = typeof value === 'string' ? Date.parse(value) : NaN;
    if (Number.isNaN(at)) return 'expirationDateTime is required and must be a date-time.';
    if (at <= Date.now()) return 'Subscription expiration can only be in the future.';
    const max = maxMinutesOf(resource)!;
    if (at > Date.now() + max * 60_000) return `Subscription expiration can only be ${max} minutes in the future.`;
    return undefined;
  };
  const asGraph = (s: FakeGraphSubscription) => ({
    '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity',
    id: s.id,
    resource: s.resource,
    applicationId: provider.clientId,
    changeType: s.changeType,
    clientState: s.clientState ?? null,
    notificationUrl: s.notificationUrl,
    notificationQueryOptions: null,
    lifecycleNotificationUrl: s.lifecycleNotificationUrl ?? null,
    // Seven fractional digits, as Graph writes them.
    expirationDateTime: s.expirationDateTime.replace(/Z$/, '0000Z'),
    creatorId: s.userId,
    includeResourceData: null,
    latestSupportedTlsVersion: 'v1_2',
    encryptionCertificate: null,
    encryptionCertificateId: null,
    notificationUrlAppId: null,
  });
  const grantOf = (req: FastifyRequest) => provider.grantOfAccessToken(bearerToken(req))!;
  const ownSubscription = (req: FastifyRequest) => {
    const s = state.subscriptions.get((req.params as { id: string }).id);
    return s && s.userId === (grantOf(req).extra as unknown as MicrosoftUser).userId ? s : undefined;
  };

  app.post(path, async (req, reply) => {
    state.subscriptionCalls.creates++;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const user = grantOf(req).extra as unknown as MicrosoftUser;
    const resource = typeof body.resource === 'string' ? body.resource : '';
    if (!maxMinutesOf(resource)) return graphError(reply, 400, `Resource '${resource}' is not supported.`, {}, 'InvalidRequest');
    if (!CALENDAR_READ.some((s) => grantOf(req).scope.split(' ').includes(s))) return graphError(reply, 403, 'Operation: Create; Exception: [Status Code: Forbidden; Reason: Access is denied.]', {}, 'ExtensionError');
    const changeTypes = typeof body.changeType === 'string' ? body.changeType.split(',') : [];
    if (!changeTypes.length || changeTypes.some((c) => !['created', 'updated', 'deleted'].includes(c))) return graphError(reply, 400, 'Invalid changeType.', {}, 'InvalidRequest');
    for (const key of ['notificationUrl', 'lifecycleNotificationUrl'] as const) {
      const url = body[key];
      if (url === undefined && key === 'lifecycleNotificationUrl') continue;
      if (typeof url !== 'string' || !url.startsWith('https://')) return graphError(reply, 400, `The ${key} must be an HTTPS URL.`, {}, 'InvalidRequest');
    }
    if (body.clientState !== undefined && (typeof body.clientState !== 'string' || body.clientState.length > 128)) return graphError(reply, 400, 'clientState can be at most 128 characters.', {}, 'InvalidRequest');
    const expiry = checkExpiry(body.expirationDateTime, resource);
    if (expiry) return graphError(reply, 400, expiry, {}, 'InvalidRequest');
    // Both endpoints are validated before the subscription exists (change-notifications-delivery-webhooks).
    for (const url of [body.notificationUrl, body.lifecycleNotificationUrl].filter((u): u is string => typeof u === 'string')) {
      if (!(await validate(url))) return graphError(reply, 400, 'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.', {}, 'ValidationError');
    }
    const subscription: FakeGraphSubscription = {
      id: randomUUID(),
      resource,
      changeType: changeTypes.join(','),
      notificationUrl: body.notificationUrl as string,
      ...(typeof body.lifecycleNotificationUrl === 'string' ? { lifecycleNotificationUrl: body.lifecycleNotificationUrl } : {}),
      ...(typeof body.clientState === 'string' ? { clientState: body.clientState } : {}),
      expirationDateTime: new Date(Date.parse(body.expirationDateTime as string)).toISOString(),
      tenantId: user.tenantId,
      userId: user.userId,
    };
    state.subscriptions.set(subscription.id, subscription);
    return reply.code(201).send(asGraph(subscription));
  });

  app.patch(`${path}/:id`, async (req, reply) => {
    state.subscriptionCalls.renewals++;
    const subscription = ownSubscription(req);
    if (!subscription) return graphError(reply, 404, 'The object was not found.', {}, 'ResourceNotFound');
    const body = (req.body ?? {}) as Record<string, unknown>;
    const expiry = checkExpiry(body.expirationDateTime, subscription.resource);
    if (expiry) return graphError(reply, 400, expiry, {}, 'InvalidRequest');
    if (state.validateOnRenew && !(await validate(subscription.notificationUrl))) {
      return graphError(reply, 400, 'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.', {}, 'ValidationError');
    }
    subscription.expirationDateTime = new Date(Date.parse(body.expirationDateTime as string)).toISOString();
    return asGraph(subscription);
  });

  app.delete(`${path}/:id`, async (req, reply) => {
    state.subscriptionCalls.deletes++;
    const subscription = ownSubscription(req);
    if (!subscription) return graphError(reply, 404, 'The object was not found.', {}, 'ResourceNotFound');
    state.subscriptions.delete(subscription.id);
    return reply.code(204).send();
  });

  async function post(url: string, body: unknown) {
    const res = await fetch(hubUrl(url), { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed };
  }
  const known = (id: string) => {
    const s = state.subscriptions.get(id);
    if (!s) throw new Error(`no Graph subscription ${id}`);
    return s;
  };

  state.notificationItem = (id, change) => {
    const s = known(id);
    const resource = `Users/${s.userId}/Events/${change.eventId}`;
    return {
      subscriptionId: s.id,
      subscriptionExpirationDateTime: s.expirationDateTime.replace('Z', '+00:00'),
      changeType: change.changeType,
      resource,
      resourceData: { '@odata.type': '#Microsoft.Graph.Event', '@odata.id': resource, '@odata.etag': change.etag ?? `W/"${randomBytes(12).toString('base64')}"`, id: change.eventId },
      clientState: s.clientState ?? null,
      tenantId: s.tenantId,
    };
  };
  state.notify = (id, change) => post(known(id).notificationUrl, { value: [state.notificationItem(id, change)] });
  state.notifyLifecycle = (id, lifecycleEvent) => {
    const s = known(id);
    if (!s.lifecycleNotificationUrl) throw new Error('the subscription has no lifecycleNotificationUrl');
    const item = { subscriptionId: s.id, subscriptionExpirationDateTime: s.expirationDateTime.replace('Z', '+00:00'), tenantId: s.tenantId, clientState: s.clientState ?? null, lifecycleEvent };
    return post(s.lifecycleNotificationUrl, { value: [item] });
  };
  state.postToHub = post;
  state.forwardHub = (publicOrigin, localOrigin) => void Object.assign(state.hub, { publicOrigin, localOrigin });
}

export interface FakeMicrosoft extends FakeOAuthProvider, FakeGraphState, FakeGraphSubscriptions {
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
  const subscriptions = {
    subscriptions: new Map(),
    validations: [],
    subscriptionCalls: { creates: 0, renewals: 0, deletes: 0 },
    validateOnRenew: false,
    hub: {},
  } as unknown as FakeGraphSubscriptions & { hub: HubForwarding };
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
      addSubscriptionRoutes(app, provider, subscriptions);
      app.get(`${MICROSOFT_PATHS.api}/me`, async (req, reply) => {
        const grant = provider.grantOfAccessToken(bearerToken(req));
        if (!grant) return reply.code(401).send({ error: { code: 'InvalidAuthenticationToken', message: 'Access token validation failure.' } });
        const user = userOf(grant);
        return { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users/$entity', id: user.userId, displayName: user.displayName, userPrincipalName: user.userPrincipalName, mail: user.userPrincipalName };
      });
    },
  )) as FakeMicrosoft;
  const result = Object.assign(fake, graph, subscriptions, {
    nextUser: (user: Partial<MicrosoftUser>) => void (next = user),
    failNextTokenWith(error: string, aadsts: number) {
      pendingAadsts = aadsts;
      fake.failNextToken(400, error);
    },
  });
  // A flag set on the fake must reach the routes, which read the state object.
  Object.defineProperty(result, 'validateOnRenew', { get: () => subscriptions.validateOnRenew, set: (v: boolean) => void (subscriptions.validateOnRenew = v) });
  return result;
}
