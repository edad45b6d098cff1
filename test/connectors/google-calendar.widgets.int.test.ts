// Google Calendar widgets end to end against a fake Calendar API: events.list with singleEvents and orderBy,
// nextPageToken paging to the widgets' bound (5 pages of 250), Google's error envelope, 429 + Retry-After, a 5xx
// retried, a 401 refreshed once. The cache, stale and single-flight behaviours are in test/widgets/widget-data.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GOOGLE_PATHS, startFakeGoogle, type FakeEvent, type FakeGoogle } from '../fakes/google.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';

let fake: FakeGoogle;
let t: TestApp;
let ws: string;
let id: string;
let auth: { authorization: string };

beforeAll(async () => {
  fake = await startFakeGoogle();
  t = await buildTestApp(providerEnvFor('GOOGLE', fake, GOOGLE_PATHS));
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
beforeEach(async () => {
  fake.api.failures.length = 0;
  fake.api.delayMs = 0;
  fake.events.length = 0;
  ws = t.newWorkspace();
  id = (await connectViaOAuth(t, { workspaceId: ws, slug: 'google-calendar' })).integrationId;
  auth = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
});

const read = (widget: string, query = '') => t.app.inject({ url: `/workspaces/${ws}/integrations/${id}/widgets/${widget}/data${query}`, headers: auth });
const latestGrant = () => [...fake.grants.values()].at(-1)!;
/** Today (UTC) at h:m, `days` days from today. */
const at = (h: number, m = 0, days = 0) => {
  const d = new Date();
  d.setUTCHours(h, m, 0, 0);
  return new Date(d.getTime() + days * 86_400_000).toISOString();
};
const today = () => at(0).slice(0, 10);
const meeting = (id: string, start: string, end: string, extra: Partial<FakeEvent> = {}): FakeEvent => ({ id, summary: id, status: 'confirmed', start: { dateTime: start }, end: { dateTime: end }, ...extra });
const halfHours = (n: number, from = 0, days = 0) => Array.from({ length: n }, (_, i) => meeting(`m${from + i}`, at(8, 0, days), at(8, 30, days)));

describe('todays-meetings', () => {
  it("lists today's events in start order, cancelled ones left out, with title, place, link, status and time", async () => {
    fake.events.push(
      meeting('e2', at(14), at(15), { summary: 'Board prep', location: 'Room 4', htmlLink: 'https://calendar.google.com/event?eid=e2', status: 'tentative' }),
      meeting('e1', at(9), at(9, 30), { summary: 'Standup' }),
      meeting('untitled', at(11), at(11, 30), { summary: undefined }),
      meeting('off', at(12), at(13), { status: 'cancelled' }),
      { id: 'holiday', summary: 'Company holiday', status: 'confirmed', start: { date: today() }, end: { date: at(0, 0, 1).slice(0, 10) } },
      meeting('yesterday', at(9, 0, -1), at(10, 0, -1)),
    );
    const res = await read('todays-meetings');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ widgetId: 'todays-meetings', integrationId: id, kind: 'list', source: 'provider', stale: false });
    expect(res.json().data).toEqual({
      items: [
        // An all-day entry is listed, without a time.
        { id: 'holiday', title: 'Company holiday', status: 'confirmed' },
        { id: 'e1', title: 'Standup', status: 'confirmed', timestamp: at(9) },
        { id: 'untitled', title: '(no title)', status: 'confirmed', timestamp: at(11) },
        { id: 'e2', title: 'Board prep', subtitle: 'Room 4', url: 'https://calendar.google.com/event?eid=e2', status: 'tentative', timestamp: at(14) },
      ],
    });
  });

  it('answers an empty day as an empty list', async () => {
    fake.events.push(meeting('tomorrow', at(9, 0, 1), at(10, 0, 1)));
    expect((await read('todays-meetings')).json().data).toEqual({ items: [] });
  });

  it('follows nextPageToken across pages of 250', async () => {
    fake.events.push(...halfHours(260));
    const before = fake.api.eventCalls;
    const data = (await read('todays-meetings')).json().data;
    expect(data.items).toHaveLength(260);
    expect(fake.api.eventCalls - before).toBe(2);
  });

  // The bound is 5 pages of 250 (1,250 events), but a list answers at most 500 items: the first 500 and the count.
  it('stops at its bound of 5 pages, answering at most 500 items and the count it read', async () => {
    fake.events.push(...halfHours(1_300));
    const before = fake.api.eventCalls;
    const res = await read('todays-meetings');
    expect(fake.api.eventCalls - before).toBe(5);
    expect(res.statusCode).toBe(200);
    expect(res.json().data.items).toHaveLength(500);
    expect(res.json().data.total).toBe(1_250);
  });
});

describe('meeting-load', () => {
  it('sums busy, timed hours over the last 7 days against the 7 before', async () => {
    fake.events.push(
      meeting('a', at(9), at(11)),
      meeting('b', at(10, 0, -3), at(11, 30, -3)),
      meeting('focus', at(13), at(14), { transparency: 'transparent' }),
      meeting('off', at(15), at(17), { status: 'cancelled' }),
      { id: 'holiday', summary: 'Company holiday', start: { date: today() }, end: { date: at(0, 0, 1).slice(0, 10) } },
      meeting('old', at(10, 0, -10), at(11, 0, -10)),
      meeting('older', at(10, 0, -20), at(11, 0, -20)),
    );
    const res = await read('meeting-load');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ kind: 'metric', source: 'provider' });
    expect(res.json().data).toEqual({ value: 3.5, unit: 'h', label: 'Hours in meetings, last 7 days', delta: { value: 2.5, period: 'previous 7 days' } });
  });

  it('answers 0 h for an empty calendar', async () => {
    expect((await read('meeting-load')).json().data).toEqual({ value: 0, unit: 'h', label: 'Hours in meetings, last 7 days', delta: { value: 0, period: 'previous 7 days' } });
  });

  it('follows nextPageToken in each week, and stops at its bound of 5 pages of 250 per week', async () => {
    fake.events.push(...halfHours(300), ...halfHours(10, 300, -8));
    let before = fake.api.eventCalls;
    expect((await read('meeting-load')).json().data).toMatchObject({ value: 150, delta: { value: 145 } });
    // This week: 2 pages; the week before: 1.
    expect(fake.api.eventCalls - before).toBe(3);
    fake.events.push(...halfHours(1_000, 310));
    before = fake.api.eventCalls;
    // 1,300 half-hour meetings this week, of which the widget reads its bound: 1,250, 625 h.
    expect((await read('meeting-load', '?timeZone=Etc/GMT')).json().data).toMatchObject({ value: 625, delta: { value: 620 } });
    expect(fake.api.eventCalls - before).toBe(5 + 1);
  });

  it('refuses an unknown time zone or an empty calendar id with 400, before calling Google', async () => {
    const before = fake.api.calls;
    for (const [query, path] of [['?timeZone=Mars/Olympus', 'timeZone'], ['?calendarId=', 'calendarId']] as const) {
      const res = await read('meeting-load', query);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'validation_failed', errors: [{ path: `querystring.${path}` }] });
    }
    expect(fake.api.calls).toBe(before);
  });
});

describe.each([
  { widget: 'todays-meetings', calls: 1, data: { items: [expect.objectContaining({ id: 'e1' })] } },
  // Two events.list walks at once: this week and the week before.
  { widget: 'meeting-load', calls: 2, data: { value: 1, delta: { value: 1 } } },
])('$widget against a failing Google', ({ widget, calls, data }) => {
  beforeEach(() => {
    fake.events.push(meeting('e1', at(9), at(10)));
  });

  it('answers 429 provider_rate_limited with Retry-After when Google asks for longer than the hub waits', async () => {
    fake.api.failures.push({ status: 429, headers: { 'retry-after': '120' } });
    const res = await read(widget);
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('provider_rate_limited');
    expect(res.headers['retry-after']).toBe('120');
  });

  it('retries a 5xx and answers', async () => {
    fake.api.failures.push({ status: 503 });
    const before = fake.api.calls;
    const res = await read(widget);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ source: 'provider', data });
    expect(fake.api.calls - before).toBe(calls + 1);
  });

  it('refreshes the token on a 401 and answers with the new one', async () => {
    const grant = latestGrant();
    const before = fake.calls.refreshes;
    grant.accessToken = 'revoked-by-google';
    const res = await read(widget);
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject(data);
    // Exactly one refresh, even for a widget whose calls at once were all refused on the same old token.
    expect(fake.calls.refreshes - before).toBe(1);
  });

  it('answers reauth_required (409) when the grant is dead and the refresh fails', async () => {
    latestGrant().accessToken = 'revoked-by-google';
    latestGrant().revoked = true;
    const res = await read(widget);
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('reauth_required');
  });
});
