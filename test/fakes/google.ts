// Fake Google: OAuth 2.0 (creds in the form body, PKCE, static refresh tokens, /revoke) and the Calendar API bits
// the hub calls, in the documented shapes (events.list paging with nextPageToken, Google's error envelope), and
// push channels as Calendar runs them: events.watch (HTTPS address, channel id ≤ 64, token echoed, expiration
// capped), a `sync` message right after a channel opens, notifications with the X-Goog-* headers and an empty
// body, message numbers per channel, channels.stop.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { bearerToken, forwardedUrl, type HubForwarding } from './fake-server.js';
import { startFakeOAuthProvider, type FakeOAuthProvider } from './oauth-provider.js';

export const GOOGLE_PATHS = { authorize: '/o/oauth2/v2/auth', token: '/token', revoke: '/revoke', api: '/calendar/v3' };

export interface FakeEvent {
  id: string;
  summary?: string;
  start: { dateTime?: string; date?: string };
  end: { dateTime?: string; date?: string };
  status?: string;
  transparency?: string;
  htmlLink?: string;
  location?: string;
}

export interface FakeChannel {
  id: string;
  resourceId: string;
  resourceUri: string;
  calendarId: string;
  address: string;
  token?: string;
  /** Epoch milliseconds. */
  expiration: number;
  /** The expiration the watch call asked for, if any, and its params. */
  requested: { expiration?: unknown; params?: unknown };
  messageNumber: number;
  stopped: boolean;
  /** What the hub answered to each message on this channel (the `sync` first). */
  replies: { state: string; status: number }[];
}

export interface FakeGoogleChannels {
  channels: Map<string, FakeChannel>;
  channelCalls: { watches: number; stops: number };
  /**
   * ⚠ The lifetime Google gives a channel: with no expiration asked for, and at most. Defaults: 7 days both; set
   * `{ defaultSeconds: 3600, maxSeconds: 3600 }` for the one-hour variant.
   */
  channelLifetime: { defaultSeconds: number; maxSeconds: number };
  forwardHub(publicOrigin: string, localOrigin: string): void;
  /** The headers Google sends for the channel's next message (the number is taken). */
  nextMessage(channelId: string, state: 'sync' | 'exists' | 'not_exists'): Record<string, string>;
  /** Sends the channel's next message as Google does; resolves to the hub's status. */
  notify(channelId: string, state?: 'exists' | 'not_exists'): Promise<number>;
  /** POSTs an empty-bodied notification with these headers to the hub's URL (a raw delivery). */
  postToHub(url: string, headers: Record<string, string>): Promise<number>;
  /** Resolves once every `sync` message sent so far has been answered. */
  settled(): Promise<void>;
}

export interface FakeGoogle extends FakeOAuthProvider, FakeGoogleChannels {
  events: FakeEvent[];
  api: { calls: number; eventCalls: number; delayMs: number; failures: { status: number; headers?: Record<string, string> }[] };
}

const CHANNEL_ID = /^[A-Za-z0-9\-_+/=]{1,64}$/;

function googleError(reply: FastifyReply, status: number, headers: Record<string, string> = {}, detail?: { reason: string; message: string }) {
  const reason = detail?.reason ?? (status === 429 ? 'rateLimitExceeded' : status === 401 ? 'authError' : 'backendError');
  const message = detail?.message ?? reason;
  return reply.code(status).headers(headers).send({ error: { code: status, message, errors: [{ domain: 'global', reason, message }] } });
}

function addChannelRoutes(app: FastifyInstance, provider: FakeOAuthProvider, state: FakeGoogleChannels & { hub: HubForwarding; pending: Set<Promise<unknown>> }) {
  const hubUrl = (url: string) => forwardedUrl(state.hub, url);
  const invalid = (reply: FastifyReply, message: string) => googleError(reply, 400, {}, { reason: 'invalid', message });

  app.post(`${GOOGLE_PATHS.api}/calendars/:calendarId/events/watch`, async (req, reply) => {
    state.channelCalls.watches++;
    const { calendarId } = req.params as { calendarId: string };
    const grant = provider.grantOfAccessToken(bearerToken(req))!;
    if (calendarId !== 'primary' && calendarId !== grant.extra.email) return googleError(reply, 404, {}, { reason: 'notFound', message: 'Not Found' });
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body.id !== 'string' || !CHANNEL_ID.test(body.id)) return invalid(reply, 'Invalid channel id.');
    if (body.type !== 'web_hook') return invalid(reply, 'Unsupported channel type.');
    if (typeof body.address !== 'string' || !body.address.startsWith('https://')) return invalid(reply, 'WebHook callback must be HTTPS: ' + String(body.address));
    if (body.token !== undefined && (typeof body.token !== 'string' || body.token.length > 256)) return invalid(reply, 'Invalid channel token.');
    if (state.channels.has(body.id)) return invalid(reply, `Channel id ${body.id} not unique`);
    const asked = body.expiration === undefined ? undefined : Number(body.expiration);
    if (asked !== undefined && !Number.isInteger(asked)) return invalid(reply, 'Invalid expiration.');
    const now = Date.now();
    const { defaultSeconds, maxSeconds } = state.channelLifetime;
    const expiration = Math.min(asked ?? now + defaultSeconds * 1000, now + maxSeconds * 1000);
    const calendar = calendarId === 'primary' ? String(grant.extra.email) : calendarId;
    const channel: FakeChannel = {
      id: body.id,
      resourceId: randomBytes(20).toString('base64url'),
      resourceUri: `https://www.googleapis.com/calendar/v3/calendars/${encodeURIComponent(calendar)}/events?alt=json`,
      calendarId: calendar,
      address: body.address,
      ...(typeof body.token === 'string' ? { token: body.token } : {}),
      expiration,
      requested: { expiration: body.expiration, params: body.params },
      messageNumber: 0,
      stopped: false,
      replies: [],
    };
    state.channels.set(channel.id, channel);
    // Google opens every channel with a `sync` message, sent independently of the watch answer.
    const sync = new Promise((r) => setTimeout(r, 5)).then(() => send(channel, 'sync'));
    state.pending.add(sync);
    void sync.finally(() => state.pending.delete(sync));
    return {
      kind: 'api#channel',
      id: channel.id,
      resourceId: channel.resourceId,
      resourceUri: channel.resourceUri,
      ...(channel.token ? { token: channel.token } : {}),
      expiration: String(channel.expiration),
    };
  });

  app.post(`${GOOGLE_PATHS.api}/channels/stop`, async (req, reply) => {
    state.channelCalls.stops++;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const channel = typeof body.id === 'string' ? state.channels.get(body.id) : undefined;
    if (!channel || channel.stopped || channel.resourceId !== body.resourceId) {
      return googleError(reply, 404, {}, { reason: 'notFound', message: `Channel '${String(body.id)}' not found for project '1234567890'` });
    }
    channel.stopped = true;
    return reply.code(204).send();
  });

  const known = (id: string) => {
    const channel = state.channels.get(id);
    if (!channel) throw new Error(`no channel ${id}`);
    return channel;
  };
  state.nextMessage = (id, resourceState) => {
    const channel = known(id);
    channel.messageNumber++;
    return {
      'x-goog-channel-id': channel.id,
      ...(channel.token ? { 'x-goog-channel-token': channel.token } : {}),
      'x-goog-channel-expiration': new Date(channel.expiration).toUTCString(),
      'x-goog-resource-id': channel.resourceId,
      'x-goog-resource-uri': channel.resourceUri,
      'x-goog-resource-state': resourceState,
      'x-goog-message-number': String(channel.messageNumber),
    };
  };
  state.postToHub = async (url, headers) => {
    const res = await fetch(hubUrl(url), { method: 'POST', headers: { 'user-agent': 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)', ...headers } });
    await res.arrayBuffer();
    return res.status;
  };
  async function send(channel: FakeChannel, resourceState: 'sync' | 'exists' | 'not_exists'): Promise<number> {
    if (channel.stopped || channel.expiration <= Date.now()) throw new Error(`channel ${channel.id} is closed`);
    const status = await state.postToHub(channel.address, state.nextMessage(channel.id, resourceState)).catch(() => 0);
    channel.replies.push({ state: resourceState, status });
    return status;
  }
  state.notify = (id, resourceState = 'exists') => send(known(id), resourceState);
  state.forwardHub = (publicOrigin, localOrigin) => void Object.assign(state.hub, { publicOrigin, localOrigin });
  state.settled = async () => {
    while (state.pending.size) await Promise.allSettled([...state.pending]);
  };
}

export async function startFakeGoogle(options: { email?: string } = {}): Promise<FakeGoogle> {
  const email = options.email ?? 'ceo@example.com';
  const api: FakeGoogle['api'] = { calls: 0, eventCalls: 0, delayMs: 0, failures: [] };
  const events: FakeEvent[] = [];
  const channels = {
    channels: new Map(),
    channelCalls: { watches: 0, stops: 0 },
    channelLifetime: { defaultSeconds: 7 * 24 * 3600, maxSeconds: 7 * 24 * 3600 },
    hub: {},
    pending: new Set(),
  } as unknown as FakeGoogleChannels & { hub: HubForwarding; pending: Set<Promise<unknown>> };
  const provider = await startFakeOAuthProvider(
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
      app.addHook('onRequest', async (req, reply) => {
        if (!req.url.startsWith(GOOGLE_PATHS.api)) return;
        api.calls++;
        if (api.delayMs) await new Promise((r) => setTimeout(r, api.delayMs));
        const failure = api.failures.shift();
        if (failure) return googleError(reply, failure.status, failure.headers);
        if (!provider.grantOfAccessToken(bearerToken(req))) return googleError(reply, 401);
      });
      app.get(`${GOOGLE_PATHS.api}/users/me/calendarList/primary`, async (req) => {
        const grant = provider.grantOfAccessToken(bearerToken(req))!;
        return { kind: 'calendar#calendarListEntry', id: grant.extra.email, summary: grant.extra.email, timeZone: 'Europe/Paris', accessRole: 'owner', primary: true };
      });
      app.get(`${GOOGLE_PATHS.api}/calendars/:calendarId/events`, async (req, reply) => {
        api.eventCalls++;
        const q = req.query as Record<string, string>;
        if (q.singleEvents !== 'true' || q.orderBy !== 'startTime' || !q.timeMin || !q.timeMax) return googleError(reply, 400);
        const from = Date.parse(q.timeMin);
        const to = Date.parse(q.timeMax);
        const startOf = (e: FakeEvent) => Date.parse(e.start.dateTime ?? e.start.date!);
        const endOf = (e: FakeEvent) => Date.parse(e.end.dateTime ?? e.end.date!);
        const matching = events.filter((e) => endOf(e) > from && startOf(e) < to).sort((a, b) => startOf(a) - startOf(b));
        const size = Math.min(Number(q.maxResults ?? 250), 250);
        const offset = Number(q.pageToken ?? 0);
        const page = matching.slice(offset, offset + size);
        const next = offset + size < matching.length ? String(offset + size) : undefined;
        return { kind: 'calendar#events', summary: email, timeZone: 'UTC', items: page, ...(next ? { nextPageToken: next } : {}) };
      });
      addChannelRoutes(app, provider, channels);
    },
  );
  const { hub: _hub, pending: _pending, ...shared } = channels;
  return Object.assign(provider, shared, { events, api });
}
