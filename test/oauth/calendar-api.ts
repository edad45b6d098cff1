// A tiny Calendar API resource server: the one call the hub makes after connecting Google Calendar, answered only
// for a bearer token the authorization server says is active, meant for this API, and carrying a calendar scope.
import { bearerToken, startFakeServer, type FakeServer } from '../fakes/fake-server.js';
import type { Introspection } from '../support/oidc-server.js';

export const CALENDAR_API_PATH = '/calendar/v3';

/** Scopes that allow reading the calendar list (Google's documentation for calendarList.get). */
const CALENDAR_LIST_SCOPES = ['calendar.calendarlist.readonly', 'calendar.readonly', 'calendar'].map((s) => `https://www.googleapis.com/auth/${s}`);

export interface CalendarApi extends FakeServer {
  /** The API's base URL, which is also its resource indicator (the tokens' audience). */
  baseUrl: string;
  /** Every token check this server made, with the answer it got. */
  checks: Introspection[];
  /** Where it asks whether a token is active: set once the authorization server runs. */
  trust(introspect: (token: string) => Promise<Introspection>): void;
}

export async function startCalendarApi(): Promise<CalendarApi> {
  let introspect: ((token: string) => Promise<Introspection>) | undefined;
  const checks: Introspection[] = [];
  let baseUrl = '';
  const server = await startFakeServer((app) => {
    app.get(`${CALENDAR_API_PATH}/users/me/calendarList/primary`, async (req, reply) => {
      const token = bearerToken(req);
      if (!introspect) throw new Error('the calendar API trusts no authorization server yet');
      const info = token ? await introspect(token) : { active: false };
      checks.push(info);
      const audiences = ([] as string[]).concat(info.aud ?? []);
      if (!info.active || !info.sub || !audiences.includes(baseUrl)) {
        return reply.code(401).send({ error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } });
      }
      const granted = (info.scope ?? '').split(' ');
      if (!CALENDAR_LIST_SCOPES.some((s) => granted.includes(s))) {
        return reply.code(403).send({ error: { code: 403, message: 'Request had insufficient authentication scopes.', status: 'PERMISSION_DENIED' } });
      }
      // The primary calendar's id is the user's email, which is the account's subject here.
      return { kind: 'calendar#calendarListEntry', id: info.sub, summary: info.sub, timeZone: 'Europe/Paris', accessRole: 'owner', primary: true };
    });
  });
  baseUrl = server.url + CALENDAR_API_PATH;
  return { ...server, baseUrl, checks, trust: (fn) => void (introspect = fn) };
}
