// Microsoft Teams widgets end to end against a fake Graph: calendarView in UTC, chats with their last message,
// @odata.nextLink paging, Graph's error envelope, 429 + Retry-After, refresh on 401, scopes.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MICROSOFT_PATHS, startFakeMicrosoft, type FakeGraphChat, type FakeGraphEvent, type FakeMicrosoft } from '../fakes/microsoft.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';

let fake: FakeMicrosoft;
let t: TestApp;
let ws: string;
let id: string;
let auth: { authorization: string };
const ME = '6b1f6d1e-3a2b-4c5d-8e9f-0a1b2c3d4e5f';

beforeAll(async () => {
  fake = await startFakeMicrosoft();
  t = await buildTestApp({
    ...providerEnvFor('MICROSOFT', fake, { api: MICROSOFT_PATHS.api }),
    MICROSOFT_AUTHORIZE_URL: `${fake.url}/{tenant}/oauth2/v2.0/authorize`,
    MICROSOFT_TOKEN_URL: `${fake.url}/{tenant}/oauth2/v2.0/token`,
    MICROSOFT_TENANT: 'organizations',
  });
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

async function connect(scopes?: string[]) {
  ws = t.newWorkspace();
  fake.nextUser({ userId: ME });
  id = (await connectViaOAuth(t, { workspaceId: ws, slug: 'microsoft-teams', scopes })).integrationId;
  auth = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
}

beforeEach(async () => {
  fake.api.failures.length = 0;
  fake.api.delayMs = 0;
  fake.events.length = 0;
  fake.chats.length = 0;
  await connect();
});

const read = (widget: string, query = '') => t.app.inject({ url: `/workspaces/${ws}/integrations/${id}/widgets/${widget}/data${query}`, headers: auth });
const latestGrant = () => [...fake.grants.values()].at(-1)!;
/** Today (UTC) at h:m, `days` days from today. */
const at = (h: number, m = 0, days = 0) => {
  const d = new Date();
  d.setUTCHours(h, m, 0, 0);
  return new Date(d.getTime() + days * 86_400_000).toISOString();
};
const meeting = (id: string, start: string, end: string, extra: Partial<FakeGraphEvent> = {}): FakeGraphEvent => ({ id, subject: id, start, end, ...extra });
const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000).toISOString();

describe('todays-meetings', () => {
  it("lists today's timed meetings in order, in UTC, with join links", async () => {
    fake.events.push(
      meeting('e2', at(14), at(15), { subject: 'Board prep', joinUrl: 'https://teams.microsoft.com/l/meetup-join/abc', showAs: 'tentative' }),
      meeting('e1', at(9), at(9, 30), { subject: 'Standup', location: 'Room 4' }),
      meeting('x', at(11), at(12), { isCancelled: true }),
      meeting('holiday', at(0), at(0, 0, 1), { isAllDay: true }),
      meeting('yesterday', at(9, 0, -1), at(10, 0, -1)),
    );
    const res = await read('todays-meetings');
    expect(res.statusCode).toBe(200);
    expect(fake.api.lastPrefer).toBe('outlook.timezone="UTC"');
    const items = res.json().data.items;
    expect(items.map((i: { id: string }) => i.id)).toEqual(['e1', 'e2']);
    expect(items[0]).toMatchObject({ title: 'Standup', subtitle: 'Room 4', status: 'busy', timestamp: at(9) });
    expect(items[0].url).toMatch(/^https:\/\/outlook\.office365\.com\/owa\/\?itemid=e1/);
    expect(items[1]).toEqual({ id: 'e2', title: 'Board prep', subtitle: 'Teams meeting', url: 'https://teams.microsoft.com/l/meetup-join/abc', status: 'tentative', timestamp: at(14) });
  });

  it('follows @odata.nextLink to its bound of 5 pages of 100', async () => {
    for (let i = 0; i < 250; i++) fake.events.push(meeting(`m${i}`, at(8), at(8, 30)));
    let before = fake.api.calendarCalls;
    expect((await read('todays-meetings')).json().data.items).toHaveLength(250);
    expect(fake.api.calendarCalls - before).toBe(3);
    for (let i = 250; i < 620; i++) fake.events.push(meeting(`m${i}`, at(8), at(8, 30)));
    before = fake.api.calendarCalls;
    expect((await read('todays-meetings', '?timeZone=Etc/GMT')).json().data.items).toHaveLength(500);
    expect(fake.api.calendarCalls - before).toBe(5);
  });

  it('answers an empty day as an empty list, and refuses an unknown time zone', async () => {
    expect((await read('todays-meetings')).json().data).toEqual({ items: [] });
    const bad = await read('todays-meetings', '?timeZone=Mars/Olympus');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'validation_failed', errors: [{ path: 'querystring.timeZone' }] });
  });
});

describe('meeting-load', () => {
  it('sums busy hours over the last 7 days against the 7 before', async () => {
    fake.events.push(
      meeting('a', at(9), at(11)),
      meeting('b', at(10, 0, -3), at(11, 0, -3)),
      meeting('focus', at(13), at(14), { showAs: 'free' }),
      meeting('off', at(15), at(17), { isCancelled: true }),
      meeting('old', at(10, 0, -10), at(11, 0, -10)),
    );
    const res = await read('meeting-load');
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({ value: 3, unit: 'h', label: 'Hours in meetings, last 7 days', delta: { value: 2, period: 'previous 7 days' } });
  });

  it('answers 0 h for an empty calendar', async () => {
    expect((await read('meeting-load')).json().data).toMatchObject({ value: 0, delta: { value: 0 } });
  });

  it('follows @odata.nextLink in each week, and stops at its bound of 5 pages of 100 per week', async () => {
    for (let i = 0; i < 250; i++) fake.events.push(meeting(`m${i}`, at(8), at(8, 30)));
    fake.events.push(meeting('before', at(8, 0, -9), at(10, 0, -9)));
    let before = fake.api.calendarCalls;
    expect((await read('meeting-load')).json().data).toEqual({ value: 125, unit: 'h', label: 'Hours in meetings, last 7 days', delta: { value: 123, period: 'previous 7 days' } });
    // This week: 3 pages of 100; the week before: 1.
    expect(fake.api.calendarCalls - before).toBe(4);
    for (let i = 250; i < 620; i++) fake.events.push(meeting(`m${i}`, at(8), at(8, 30)));
    before = fake.api.calendarCalls;
    // 620 half-hour meetings this week, of which the widget reads its bound: 500, 250 h.
    expect((await read('meeting-load', '?timeZone=Etc/GMT')).json().data).toMatchObject({ value: 250, delta: { value: 248 } });
    expect(fake.api.calendarCalls - before).toBe(5 + 1);
  });
});

describe('recent-chats', () => {
  const chat = (id: string, minutes: number, extra: Partial<FakeGraphChat> = {}, message: Partial<NonNullable<FakeGraphChat['lastMessage']>> = {}): FakeGraphChat => ({
    id,
    chatType: 'group',
    lastMessage: { at: minutesAgo(minutes), fromId: 'u-ops', fromName: 'Ops Lead', content: 'hello', ...message },
    ...extra,
  });

  it('is refused by the hub, before any Graph call, without the Chat.Read scope', async () => {
    const before = fake.api.chatCalls;
    const res = await read('recent-chats');
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'insufficient_scope' });
    expect(fake.api.chatCalls).toBe(before);
  });

  it('lists chats by latest message, named and previewed, within the window', async () => {
    await connect(['Chat.Read']);
    fake.chats.push(
      chat('19:old@thread.v2', 9 * 1440, { topic: 'Last month' }),
      chat('19:board@thread.v2', 5, { topic: 'Board' }, { contentType: 'html', content: '<p>Deck&nbsp;is <b>ready</b> &amp; sent</p>' }),
      chat('19:ada@unq.gbl.spaces', 30, { chatType: 'oneOnOne' }, { fromName: 'Ada Lovelace', content: 'Can we talk?' }),
      chat('19:mine@unq.gbl.spaces', 60, { chatType: 'oneOnOne' }, { fromId: ME, fromName: 'Grace CTO', content: 'Sure' }),
      chat('19:meeting@thread.v2', 90, { chatType: 'meeting' }, { isDeleted: true, content: '' }),
      { id: '19:silent@thread.v2', chatType: 'group', topic: 'No messages yet' },
    );
    const res = await read('recent-chats');
    expect(res.statusCode).toBe(200);
    const data = res.json().data;
    expect(data.total).toBe(4);
    expect(data.items.map((i: { title: string; subtitle?: string; status: string }) => [i.title, i.subtitle, i.status])).toEqual([
      ['Board', 'Ops Lead: Deck is ready & sent', 'group'],
      ['Ada Lovelace', 'Ada Lovelace: Can we talk?', 'oneOnOne'],
      ['1:1 chat', 'Grace CTO: Sure', 'oneOnOne'],
      ['Meeting chat', 'Message deleted', 'meeting'],
    ]);
    expect(data.items[0]).toMatchObject({ id: '19:board@thread.v2', timestamp: fake.chats[1]!.lastMessage!.at });
    expect(data.items[0].url).toMatch(/^https:\/\/teams\.microsoft\.com\/l\/chat\//);
  });

  it('follows @odata.nextLink until the window ends, and no further', async () => {
    await connect(['Chat.Read']);
    for (let i = 0; i < 120; i++) fake.chats.push(chat(`19:c${i}@thread.v2`, 1 + i * 30, { topic: `c${i}` }));
    let before = fake.api.chatCalls;
    const week = (await read('recent-chats', '?limit=3')).json().data;
    expect(week.total).toBe(120);
    expect(week.items.map((i: { title: string }) => i.title)).toEqual(['c0', 'c1', 'c2']);
    expect(fake.api.chatCalls - before).toBe(3);
    before = fake.api.chatCalls;
    // Every 30 minutes: one day holds c0…c47, all on the first page of 50.
    expect((await read('recent-chats', '?days=1')).json().data.total).toBe(48);
    expect(fake.api.chatCalls - before).toBe(1);
  });

  it('answers an empty list without recent chats, and 400 for params out of range', async () => {
    await connect(['Chat.Read']);
    expect((await read('recent-chats')).json().data).toEqual({ items: [], total: 0 });
    for (const query of ['?days=0', '?days=31', '?limit=51']) expect((await read('recent-chats', query)).statusCode).toBe(400);
  });
});

describe.each([
  { widget: 'todays-meetings', calls: 1, data: { items: [expect.objectContaining({ id: 'e1' })] } },
  // Two calendarView walks at once: this week and the week before.
  { widget: 'meeting-load', calls: 2, data: { value: 1, delta: { value: 1, period: 'previous 7 days' } } },
  { widget: 'recent-chats', calls: 1, data: { total: 1, items: [expect.objectContaining({ title: 'Board' })] } },
])('$widget against a failing Graph', ({ widget, calls, data }) => {
  beforeEach(async () => {
    // Chat.Read on top of the defaults, so every widget of the connector can be read.
    await connect(['Chat.Read']);
    fake.events.push(meeting('e1', at(9), at(10)));
    fake.chats.push({ id: '19:board@thread.v2', chatType: 'group', topic: 'Board', lastMessage: { at: minutesAgo(5), fromId: 'u-ops', fromName: 'Ops Lead', content: 'hello' } });
  });

  it("answers 429 provider_rate_limited with Graph's Retry-After when it is longer than the hub waits", async () => {
    fake.api.failures.push({ status: 429, headers: { 'retry-after': '60' } });
    const res = await read(widget);
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('provider_rate_limited');
    expect(res.headers['retry-after']).toBe('60');
  });

  it('retries a 5xx and answers', async () => {
    fake.api.failures.push({ status: 503 });
    const before = fake.api.calls;
    const res = await read(widget);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ source: 'provider', data });
    expect(fake.api.calls - before).toBe(calls + 1);
  });

  it('refreshes the token on a 401 and retries with the new one', async () => {
    const before = fake.calls.refreshes;
    latestGrant().accessToken = 'revoked-by-entra';
    const res = await read(widget);
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject(data);
    // Exactly one refresh, even for a widget whose calls at once were all refused on the same old token.
    expect(fake.calls.refreshes - before).toBe(1);
  });
});

describe('Graph failures', () => {
  it("maps Graph's 403 to insufficient_scope", async () => {
    latestGrant().scope = 'offline_access User.Read';
    const res = await read('meeting-load');
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('insufficient_scope');
  });
});
