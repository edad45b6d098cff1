// Jira widgets end to end against a fake Atlassian API gateway: a board's active sprint, the enhanced JQL search
// paged by nextPageToken to the bound, the approximate count beyond it, 429 + Retry-After, 5xx retried, 401 refreshed.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SITES, JIRA_PATHS, startFakeJira, type FakeIssue, type FakeJira } from '../fakes/jira.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';

let fake: FakeJira;
let t: TestApp;
let ws: string;
let id: string;
let auth: { authorization: string };

const DAY = 86_400_000;
const daysFromNow = (d: number) => new Date(Date.now() + d * DAY).toISOString();
const issues = (n: number, extra: Partial<FakeIssue> = {}, from = 1): FakeIssue[] =>
  Array.from({ length: n }, (_, i) => ({ key: `ACME-${from + i}`, status: 'To Do', priority: 'Medium', ...extra }));

beforeAll(async () => {
  fake = await startFakeJira();
  t = await buildTestApp(providerEnvFor('JIRA', fake, JIRA_PATHS));
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
beforeEach(async () => {
  fake.setSites(DEFAULT_SITES);
  fake.api.delayMs = 0;
  fake.api.failures.length = 0;
  fake.data.projects.splice(0, fake.data.projects.length, 'ACME', 'OPS');
  fake.data.issues.length = 0;
  fake.data.boards.clear();
  fake.data.boards.set(7, [
    { id: 1, name: 'Sprint 1', state: 'closed', startDate: daysFromNow(-14), endDate: daysFromNow(-4) },
    { id: 2, name: 'Sprint 2', state: 'active', startDate: daysFromNow(-4), endDate: daysFromNow(6) },
    { id: 3, name: 'Sprint 3', state: 'future' },
  ]);
  ws = t.newWorkspace();
  id = (await connectViaOAuth(t, { workspaceId: ws, slug: 'jira' })).integrationId;
  auth = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
});

const read = (widget: string, query: string) => t.app.inject({ url: `/workspaces/${ws}/integrations/${id}/widgets/${widget}/data${query}`, headers: auth });

describe('sprint-progress', () => {
  it("measures the active sprint's done share against the time gone", async () => {
    fake.data.issues.push(
      ...issues(5, { sprintId: 2, status: 'Done' }),
      ...issues(3, { sprintId: 2, status: 'In Progress' }, 6),
      ...issues(2, { sprintId: 2 }, 9),
      ...issues(4, { sprintId: 1, status: 'Done' }, 11),
      ...issues(6, {}, 15),
    );
    const res = await read('sprint-progress', '?boardId=7');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ kind: 'metric', source: 'provider' });
    // Half the issues done, 40 % of the sprint gone: 10 points ahead.
    expect(res.json().data).toEqual({
      value: 50,
      unit: '%',
      label: `Sprint 2: 5 of 10 issues done, 3 in progress, ends ${daysFromNow(6).slice(0, 10)}`,
      delta: { value: 10, period: 'against time elapsed' },
    });
    expect(fake.api.jql.at(-1)).toBe('sprint = 2');
  });

  it('takes the sprint that ends first when a board runs several', async () => {
    fake.data.boards.get(7)!.push({ id: 4, name: 'Hotfix sprint', state: 'active', startDate: daysFromNow(-1), endDate: daysFromNow(1) });
    fake.data.issues.push(...issues(4, { sprintId: 4 }), ...issues(1, { sprintId: 4, status: 'Done' }, 5));
    const data = (await read('sprint-progress', '?boardId=7')).json().data;
    expect(data).toMatchObject({ value: 20, label: expect.stringMatching(/^Hotfix sprint: 1 of 5 issues done/), delta: { value: -30 } });
  });

  it('follows nextPageToken across pages of 100, and stops at its bound of 10 pages', async () => {
    fake.data.issues.push(...issues(250, { sprintId: 2, status: 'Done' }));
    let before = fake.api.routeCalls.search;
    expect((await read('sprint-progress', '?boardId=7')).json().data).toMatchObject({ value: 100, label: expect.stringContaining('250 of 250 issues done') });
    expect(fake.api.routeCalls.search - before).toBe(3);
    fake.data.boards.set(8, [{ id: 2, name: 'Sprint 2', state: 'active' }]);
    fake.data.issues.push(...issues(900, { sprintId: 2 }, 251));
    before = fake.api.routeCalls.search;
    expect((await read('sprint-progress', '?boardId=8')).json().data).toEqual({ value: 25, unit: '%', label: 'Sprint 2: 250 of 1000+ issues done, 0 in progress', delta: null });
    expect(fake.api.routeCalls.search - before).toBe(10);
  });

  it('answers 0 % for a board with no active sprint or an empty sprint, and 404 for an unknown board', async () => {
    const empty = (await read('sprint-progress', '?boardId=7')).json().data;
    expect(empty).toMatchObject({ value: 0, label: expect.stringContaining('0 of 0 issues done') });
    fake.data.boards.set(9, [{ id: 5, name: 'Done sprint', state: 'closed' }]);
    expect((await read('sprint-progress', '?boardId=9')).json().data).toEqual({ value: 0, unit: '%', label: 'No active sprint on board 9', delta: null });
    const missing = await read('sprint-progress', '?boardId=404');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('not_found');
  });

  it.each([[''], ['?boardId=abc'], ['?boardId=0'], ['?boardId=-3'], ['?boardId=1.5']])('refuses bad params %s with 400', async (query) => {
    const before = fake.api.calls;
    const res = await read('sprint-progress', query);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'validation_failed', errors: [{ path: 'querystring.boardId' }] });
    expect(fake.api.calls).toBe(before);
  });
});

describe('open-issues-by-priority', () => {
  const columns = [
    { key: 'priority', label: 'Priority' },
    { key: 'issues', label: 'Open issues' },
    { key: 'share', label: 'Share %' },
  ];

  it('counts issues not done by priority, highest first', async () => {
    fake.data.issues.push(
      ...issues(3, { priority: 'Medium' }),
      ...issues(2, { priority: 'Highest', status: 'In Progress' }, 4),
      ...issues(1, { priority: 'High' }, 6),
      { key: 'ACME-7', status: 'To Do' },
      ...issues(5, { priority: 'Highest', status: 'Done' }, 8),
      { key: 'OPS-1', status: 'To Do', priority: 'Low' },
    );
    const res = await read('open-issues-by-priority', '');
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({
      columns,
      rows: [
        { priority: 'Highest', issues: 2, share: 25 },
        { priority: 'High', issues: 1, share: 12.5 },
        { priority: 'Medium', issues: 3, share: 37.5 },
        { priority: 'Low', issues: 1, share: 12.5 },
        { priority: 'No priority', issues: 1, share: 12.5 },
      ],
    });
    expect(fake.api.jql.at(-1)).toBe('statusCategory != Done ORDER BY priority DESC');
    const acme = (await read('open-issues-by-priority', '?project=ACME')).json().data;
    expect(acme.rows.map((r: { priority: string }) => r.priority)).not.toContain('Low');
    expect(fake.api.jql.at(-1)).toBe('statusCategory != Done AND project = "ACME" ORDER BY priority DESC');
  });

  it('follows nextPageToken, and beyond its bound of 10 pages counts the rest with approximate-count', async () => {
    fake.data.issues.push(...issues(250, { priority: 'High' }));
    let before = { ...fake.api.routeCalls };
    expect((await read('open-issues-by-priority', '')).json().data.rows).toEqual([{ priority: 'High', issues: 250, share: 100 }]);
    expect(fake.api.routeCalls.search - before.search).toBe(3);
    expect(fake.api.routeCalls.count).toBe(before.count);
    fake.data.issues.push(...issues(790, { priority: 'Low' }, 251));
    before = { ...fake.api.routeCalls };
    expect((await read('open-issues-by-priority', '?project=ACME')).json().data.rows).toEqual([
      { priority: 'High', issues: 250, share: 24 },
      { priority: 'Low', issues: 750, share: 72.1 },
      { priority: 'Not read (beyond the first 1000)', issues: 40, share: 3.8 },
    ]);
    expect(fake.api.routeCalls.search - before.search).toBe(10);
    expect(fake.api.routeCalls.count - before.count).toBe(1);
    expect(fake.api.jql.at(-1)).toBe('statusCategory != Done AND project = "ACME"');
  });

  it('answers an empty table when everything is done, and 400 for a project Jira does not have', async () => {
    fake.data.issues.push(...issues(3, { status: 'Done' }));
    expect((await read('open-issues-by-priority', '')).json().data).toEqual({ columns, rows: [] });
    const unknown = await read('open-issues-by-priority', '?project=NOPE');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().code).toBe('bad_request');
  });

  it.each([['?project=acme'], ['?project=A'], ['?project=ACME%22%20OR%20project%20%3D%20%22OPS']])('refuses bad params %s with 400', async (query) => {
    const before = fake.api.calls;
    const res = await read('open-issues-by-priority', query);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'validation_failed', errors: [{ path: 'querystring.project' }] });
    expect(fake.api.calls).toBe(before);
  });
});

describe.each([
  ['sprint-progress', '?boardId=7'],
  ['open-issues-by-priority', ''],
])('%s against a failing Jira', (widget, query) => {
  it('answers 429 provider_rate_limited with Retry-After when Jira asks for longer than the hub waits', async () => {
    fake.api.failures.push({ status: 429, headers: { 'retry-after': '75', 'x-ratelimit-reset': daysFromNow(0.001), 'ratelimit-reason': 'jira-burst-based' } });
    const res = await read(widget, query);
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('provider_rate_limited');
    expect(res.headers['retry-after']).toBe('75');
  });

  it('retries a 5xx and answers', async () => {
    fake.api.failures.push({ status: 503 });
    const before = fake.api.calls;
    expect((await read(widget, query)).statusCode).toBe(200);
    expect(fake.api.calls - before).toBeGreaterThanOrEqual(2);
    expect(fake.api.failures).toHaveLength(0);
  });

  it('refreshes the rotating token once on a 401 and answers', async () => {
    const grant = [...fake.grants.values()].at(-1)!;
    const refreshes = fake.calls.refreshes;
    grant.accessToken = 'revoked-at-atlassian';
    expect((await read(widget, query)).statusCode).toBe(200);
    expect(fake.calls.refreshes).toBe(refreshes + 1);
  });
});
