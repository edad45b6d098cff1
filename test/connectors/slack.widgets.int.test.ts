// Slack widgets end to end against a fake Slack Web API: cursor paging, the ok:false envelope, 429 + Retry-After.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SLACK_PATHS, startFakeSlack, type FakeSlack, type FakeSlackChannel, type FakeSlackMember } from '../fakes/slack.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';

let fake: FakeSlack;
let t: TestApp;
let ws: string;
let id: string;
let auth: { authorization: string };

beforeAll(async () => {
  fake = await startFakeSlack();
  t = await buildTestApp(providerEnvFor('SLACK', fake, SLACK_PATHS));
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

const latestGrant = () => [...fake.grants.values()].at(-1)!;

async function connect(install: Parameters<FakeSlack['nextInstall']>[0] = {}) {
  ws = t.newWorkspace();
  fake.nextInstall(install);
  id = (await connectViaOAuth(t, { workspaceId: ws, slug: 'slack' })).integrationId;
  auth = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
}

beforeEach(async () => {
  fake.api.failures.length = 0;
  fake.api.delayMs = 0;
  fake.workspace.members.length = 0;
  fake.workspace.channels.length = 0;
  await connect();
});

const read = (widget: string, query = '') => t.app.inject({ url: `/workspaces/${ws}/integrations/${id}/widgets/${widget}/data${query}`, headers: auth });
const calls = (method: string) => fake.api.methodCalls[method] ?? 0;

const people = (n: number, extra: Partial<FakeSlackMember> = {}): FakeSlackMember[] =>
  Array.from({ length: n }, (_, i) => ({ id: `U${String(i).padStart(6, '0')}${extra.is_restricted ? 'G' : ''}`, name: `person${i}`, ...extra }));
const channel = (id: string, name: string, members: number, extra: Partial<FakeSlackChannel> = {}): FakeSlackChannel => ({ id, name, num_members: members, ...extra });

describe('active-members', () => {
  it('counts full members, leaving out guests, bots, apps, Slackbot and deactivated accounts', async () => {
    fake.workspace.members.push(
      ...people(5),
      ...people(2, { is_restricted: true }),
      { id: 'UGUEST1', name: 'single-channel guest', is_restricted: true, is_ultra_restricted: true },
      { id: 'B0BOT', name: 'deploybot', is_bot: true },
      { id: 'UAPP', name: 'app', is_app_user: true },
      { id: 'USLACKBOT', name: 'slackbot' },
      { id: 'UGONE', name: 'left', deleted: true },
    );
    const res = await read('active-members');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ kind: 'metric', source: 'provider', data: { value: 5, label: 'Active members, besides 3 guests', delta: null } });
  });

  it('follows next_cursor across pages of 200', async () => {
    fake.workspace.members.push(...people(450));
    const before = calls('users.list');
    expect((await read('active-members')).json().data).toMatchObject({ value: 450, label: 'Active members' });
    expect(calls('users.list') - before).toBe(3);
  });

  it('stops at its bound of 10 pages and says the count is partial', async () => {
    fake.workspace.members.push(...people(2_100));
    const before = calls('users.list');
    expect((await read('active-members')).json().data).toMatchObject({ value: 2_000, label: 'Active members (first 2000 accounts)' });
    expect(calls('users.list') - before).toBe(10);
  });

  it('answers 0 for a workspace with nobody but Slackbot', async () => {
    fake.workspace.members.push({ id: 'USLACKBOT', name: 'slackbot' });
    expect((await read('active-members')).json().data).toEqual({ value: 0, label: 'Active members', delta: null });
  });
});

describe('top-channels', () => {
  it('ranks public, unarchived channels by members, with links into the team', async () => {
    fake.workspace.channels.push(
      channel('C01', 'general', 120, { topic: 'Company-wide announcements' }),
      channel('C02', 'random', 80, { purpose: 'Water cooler' }),
      channel('C03', 'old-project', 500, { is_archived: true }),
      channel('C04', 'exec', 9, { is_private: true }),
      channel('C05', 'sales', 80),
      channel('C06', 'solo', 1),
    );
    const res = await read('top-channels', '?limit=3');
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({
      items: [
        { id: 'C01', title: '#general', subtitle: '120 members · Company-wide announcements', url: 'https://app.slack.com/client/T0HQ1/C01' },
        { id: 'C02', title: '#random', subtitle: '80 members · Water cooler', url: 'https://app.slack.com/client/T0HQ1/C02' },
        { id: 'C05', title: '#sales', subtitle: '80 members', url: 'https://app.slack.com/client/T0HQ1/C05' },
      ],
      total: 4,
    });
  });

  it('finds the largest channels on any page', async () => {
    for (let i = 0; i < 350; i++) fake.workspace.channels.push(channel(`C${1000 + i}`, `ch-${i}`, i === 333 ? 999 : i === 260 ? 500 : i % 50));
    const before = calls('conversations.list');
    const data = (await read('top-channels', '?limit=2')).json().data;
    expect(data.items.map((i: { id: string }) => i.id)).toEqual(['C1333', 'C1260']);
    expect(data.total).toBe(350);
    expect(calls('conversations.list') - before).toBe(2);
  });

  it('answers an empty list for a workspace without public channels, and no links for an org-wide install', async () => {
    expect((await read('top-channels')).json().data).toEqual({ items: [], total: 0 });
    await connect({ enterprise: { id: 'E0GRID', name: 'Acme Group' } });
    fake.workspace.channels.push(channel('C01', 'general', 3));
    expect((await read('top-channels')).json().data.items).toEqual([{ id: 'C01', title: '#general', subtitle: '3 members' }]);
  });

  it('refuses a limit outside 1–50 with 400, before calling Slack', async () => {
    const before = fake.api.calls;
    const res = await read('top-channels', '?limit=0');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'validation_failed', errors: [{ path: 'querystring.limit' }] });
    expect((await read('top-channels', '?limit=many')).statusCode).toBe(400);
    expect((await read('top-channels', '?limit=51')).statusCode).toBe(400);
    expect(fake.api.calls).toBe(before);
  });
});

describe.each([
  { widget: 'active-members', method: 'users.list', data: { value: 3 } },
  { widget: 'top-channels', method: 'conversations.list', data: { total: 1 } },
])('$widget against a failing Slack', ({ widget, method, data }) => {
  beforeEach(() => {
    fake.workspace.members.push(...people(3));
    fake.workspace.channels.push(channel('C01', 'general', 3));
  });

  it("answers 429 provider_rate_limited with Slack's Retry-After when it is longer than the hub waits", async () => {
    fake.api.failures.push({ status: 429, headers: { 'retry-after': '120' } });
    const res = await read(widget);
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('provider_rate_limited');
    expect(res.headers['retry-after']).toBe('120');
  });

  it('retries a 5xx and answers', async () => {
    fake.api.failures.push({ status: 503 });
    const before = calls(method);
    const res = await read(widget);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ source: 'provider', data });
    expect(calls(method) - before).toBe(2);
  });

  it('refreshes once when Slack no longer accepts the token (invalid_auth, its 401) and answers', async () => {
    const refreshes = fake.calls.refreshes;
    latestGrant().accessToken = 'xoxb-rotated-away';
    const res = await read(widget);
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject(data);
    expect(fake.calls.refreshes).toBe(refreshes + 1);
  });
});

describe('Slack failures', () => {
  it('waits out a short Retry-After and retries a 5xx', async () => {
    fake.workspace.channels.push(channel('C01', 'general', 3));
    fake.api.failures.push({ status: 429, headers: { 'retry-after': '1' } }, { status: 503 });
    const before = calls('conversations.list');
    const res = await read('top-channels');
    expect(res.statusCode).toBe(200);
    expect(res.json().data.total).toBe(1);
    expect(calls('conversations.list') - before).toBe(3);
  });

  it('maps HTTP 200 ok:false errors: a dead token refreshes once, a dead grant is reauth_required, a missing scope insufficient_scope', async () => {
    // Slack answers a rotated-away token with HTTP 200 `invalid_auth`, never a 401: the connector's apiError
    // hook says what it means, so the hub refreshes once and retries.
    const refreshes = fake.calls.refreshes;
    latestGrant().accessToken = 'xoxb-rotated-away';
    const renewed = await read('active-members');
    expect(renewed.statusCode).toBe(200);
    expect(fake.calls.refreshes).toBe(refreshes + 1);
    // A revoked grant cannot be refreshed: the widget reports that the connection needs the user.
    latestGrant().accessToken = 'xoxb-revoked';
    latestGrant().revoked = true;
    const dead = await read('active-members', '?refresh=true');
    expect(dead.statusCode).toBe(409);
    expect(dead.json().code).toBe('reauth_required');
    await connect();
    latestGrant().scope = 'team:read,users:read';
    const scoped = await read('top-channels');
    expect(scoped.statusCode).toBe(403);
    expect(scoped.json().code).toBe('insufficient_scope');
  });

  it('maps a 5xx that outlasts the retries to provider_unavailable', async () => {
    fake.api.failures.push({ status: 500 }, { status: 502 }, { status: 503 });
    const res = await read('active-members');
    expect(res.statusCode).toBe(502);
    expect(res.json().code).toBe('provider_unavailable');
  });
});
