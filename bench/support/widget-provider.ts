// A fake Google Calendar for the widget benchmark: the token server's OAuth steps plus events.list, answering
// after a set delay and counting every upstream call, so a stampede's provider calls can be told exactly.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startTokenServer, type TokenServer } from './token-server.js';

export interface CalendarFakeOptions {
  clientId: string;
  clientSecret: string;
  /** How long events.list takes to answer (a slow provider makes a stampede's overlap certain). */
  eventsDelayMs: number;
  /** Timed meetings in each answered day. */
  meetingsPerDay: number;
}

export interface CalendarFakeStats {
  /** Every events.list call that presented a valid access token. */
  eventsCalls: number;
  /** Calls by API base tag (`/<tag>/calendar/v3/...`; `default` without one): which hub process called. */
  callsByTag: Record<string, number>;
  /** Calls by their `timeMin` (one cache key per time zone's day). */
  callsByTimeMin: Record<string, number>;
  /** Calls answered 401 (bearer unknown): the hub sent no or wrong credentials. */
  unauthorized: number;
  /** Most events.list calls in progress at one moment. */
  maxConcurrent: number;
  /** The last calls (at most 1,000), when each arrived and was answered (Date.now()): overlapping or one after another. */
  calls: { tag: string; timeMin: string; receivedAt: number; answeredAt?: number }[];
}

export interface CalendarFake {
  /** Origin of the fake: `${url}/auth`, `${url}/token` as for the token server. */
  url: string;
  /** The API base the hub is given (GOOGLE_API_URL); a tag names the process in `callsByTag`. */
  apiUrl(tag?: string): string;
  tokenServer: TokenServer;
  stats(): CalendarFakeStats;
  close(): Promise<void>;
}

const EVENTS = /^(?:\/([a-z0-9-]+))?\/calendar\/v3\/calendars\/([^/]+)\/events$/;

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A day of meetings from 09:00 after `timeMin`, hourly, in the shape of events.list (singleEvents, by start time). */
function dayOfMeetings(calendarId: string, timeMin: Date, count: number) {
  return Array.from({ length: count }, (_, i) => {
    const start = new Date(timeMin.getTime() + (9 + i) * 3_600_000);
    const id = `ev${timeMin.getTime().toString(36)}${i}`;
    return {
      kind: 'calendar#event',
      etag: `"${3_400_000_000_000 + i}"`,
      id,
      status: 'confirmed',
      htmlLink: `https://www.google.com/calendar/event?eid=${id}`,
      created: '2026-01-05T10:00:00.000Z',
      updated: '2026-01-06T10:00:00.000Z',
      summary: ['Leadership sync', 'Board prep', 'Pipeline review', '1:1 with CFO', 'Hiring committee', 'Customer call: Acme', 'Product review', 'All hands'][i % 8],
      ...(i % 3 === 0 ? { location: `Room ${100 + i}` } : {}),
      organizer: { email: calendarId, self: true },
      start: { dateTime: start.toISOString(), timeZone: 'UTC' },
      end: { dateTime: new Date(start.getTime() + 45 * 60_000).toISOString(), timeZone: 'UTC' },
      iCalUID: `${id}@google.com`,
      sequence: 0,
      eventType: 'default',
    };
  });
}

export async function startCalendarFake(options: CalendarFakeOptions): Promise<CalendarFake> {
  const stats: CalendarFakeStats = { eventsCalls: 0, callsByTag: {}, callsByTimeMin: {}, unauthorized: 0, maxConcurrent: 0, calls: [] };
  let inProgress = 0;

  function events(req: IncomingMessage, res: ServerResponse, url: URL, bearerEmail: string | undefined): boolean {
    const match = req.method === 'GET' ? EVENTS.exec(url.pathname) : null;
    if (!match) {
      // Disconnecting revokes at the provider; it must never reach the real Google from a benchmark.
      if (req.method === 'POST' && url.pathname === '/revoke') {
        json(res, 200, {});
        return true;
      }
      return false;
    }
    if (!bearerEmail) {
      stats.unauthorized++;
      json(res, 401, { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } });
      return true;
    }
    const timeMin = new Date(url.searchParams.get('timeMin') ?? '');
    if (Number.isNaN(timeMin.getTime()) || url.searchParams.get('singleEvents') !== 'true') {
      json(res, 400, { error: { code: 400, message: 'Invalid timeMin or singleEvents', status: 'INVALID_ARGUMENT' } });
      return true;
    }
    stats.eventsCalls++;
    const tag = match[1] ?? 'default';
    stats.callsByTag[tag] = (stats.callsByTag[tag] ?? 0) + 1;
    const key = timeMin.toISOString();
    stats.callsByTimeMin[key] = (stats.callsByTimeMin[key] ?? 0) + 1;
    stats.maxConcurrent = Math.max(stats.maxConcurrent, ++inProgress);
    const call: CalendarFakeStats['calls'][number] = { tag, timeMin: key, receivedAt: Date.now() };
    stats.calls.push(call);
    if (stats.calls.length > 1_000) stats.calls.shift();
    const calendarId = decodeURIComponent(match[2]!) === 'primary' ? bearerEmail : decodeURIComponent(match[2]!);
    setTimeout(() => {
      inProgress--;
      call.answeredAt = Date.now();
      json(res, 200, {
        kind: 'calendar#events',
        etag: '"p33c9ubvtq6vou0o"',
        summary: calendarId,
        updated: new Date().toISOString(),
        timeZone: 'UTC',
        accessRole: 'owner',
        defaultReminders: [],
        items: dayOfMeetings(calendarId, timeMin, options.meetingsPerDay),
      });
    }, options.eventsDelayMs);
    return true;
  }

  const tokenServer = await startTokenServer({ clientId: options.clientId, clientSecret: options.clientSecret, extraRoute: events });
  return {
    url: tokenServer.url,
    apiUrl: (tag) => `${tokenServer.url}${tag ? `/${tag}` : ''}/calendar/v3`,
    tokenServer,
    stats: () => ({ ...stats, callsByTag: { ...stats.callsByTag }, callsByTimeMin: { ...stats.callsByTimeMin }, calls: stats.calls.map((c) => ({ ...c })) }),
    close: () => tokenServer.close(),
  };
}
