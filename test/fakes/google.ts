// Fake Google: OAuth 2.0 (creds in the form body, PKCE, static refresh tokens, /revoke) and the Calendar API bits
// the hub calls, in the documented shapes (events.list paging with nextPageToken, Google's error envelope).
import type { FastifyReply } from 'fastify';
import { bearerToken } from './fake-server.js';
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

export interface FakeGoogle extends FakeOAuthProvider {
  events: FakeEvent[];
  api: { calls: number; eventCalls: number; delayMs: number; failures: { status: number; headers?: Record<string, string> }[] };
}

function googleError(reply: FastifyReply, status: number, headers: Record<string, string> = {}) {
  const reason = status === 429 ? 'rateLimitExceeded' : status === 401 ? 'authError' : 'backendError';
  return reply.code(status).headers(headers).send({ error: { code: status, message: reason, errors: [{ domain: 'global', reason, message: reason }] } });
}

export async function startFakeGoogle(options: { email?: string } = {}): Promise<FakeGoogle> {
  const email = options.email ?? 'ceo@example.com';
  const api: FakeGoogle['api'] = { calls: 0, eventCalls: 0, delayMs: 0, failures: [] };
  const events: FakeEvent[] = [];
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
    },
  );
  return Object.assign(provider, { events, api });
}
