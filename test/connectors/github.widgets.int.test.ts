// GitHub widgets end to end against a fake GitHub REST API: Link pagination to the bound, x-ratelimit-* quota,
// GitHub's headers, 429 + Retry-After, a 5xx retried, a 401 refreshed once, params validated.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GITHUB_PATHS, startFakeGitHub, type FakeGitHub, type FakePull, type FakeRun } from '../fakes/github.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';

let fake: FakeGitHub;
let t: TestApp;
let ws: string;
let id: string;
let auth: { authorization: string };

const REPO = 'acme/platform';
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();

beforeAll(async () => {
  fake = await startFakeGitHub();
  t = await buildTestApp(providerEnvFor('GITHUB', fake, GITHUB_PATHS));
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
beforeEach(async () => {
  Object.assign(fake.api, { delayMs: 0, rateLimit: { remaining: 5000, resetAt: 0 } });
  fake.api.failures.length = 0;
  fake.repos.clear();
  fake.repos.set(REPO, { pulls: [], runs: [] });
  fake.setKind('app');
  ws = t.newWorkspace();
  id = (await connectViaOAuth(t, { workspaceId: ws, slug: 'github' })).integrationId;
  auth = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
});

const read = (widget: string, query = `?repo=${REPO}`) => t.app.inject({ url: `/workspaces/${ws}/integrations/${id}/widgets/${widget}/data${query}`, headers: auth });
const repo = () => fake.repos.get(REPO)!;
const pulls = (n: number): FakePull[] => Array.from({ length: n }, (_, i) => ({ number: i + 1, title: `PR ${i + 1}`, user: 'dev', createdAt: hoursAgo(n - i) }));
const runs = (n: number, extra: Partial<FakeRun> = {}): FakeRun[] =>
  Array.from({ length: n }, (_, i) => ({ id: i + 1, name: 'CI', workflowId: 1, status: 'completed', conclusion: 'success', createdAt: hoursAgo(1 + i / 100), ...extra }));

describe('open-pull-requests', () => {
  it('lists open pull requests newest first, with author, branches and review state, sending GitHub headers', async () => {
    repo().pulls.push(
      { number: 7, title: 'Add billing export', user: 'ana', createdAt: hoursAgo(30), head: 'billing-export', reviewers: ['bo'] },
      { number: 9, title: 'WIP: new onboarding', user: 'cy', createdAt: hoursAgo(2), draft: true },
      { number: 8, title: 'Fix login redirect', user: 'bo', createdAt: hoursAgo(5), head: 'fix-login', base: 'release' },
    );
    const res = await read('open-pull-requests');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ kind: 'list', source: 'provider', stale: false });
    expect(res.json().data).toEqual({
      items: [
        { id: '1000009', title: '#9 WIP: new onboarding', subtitle: 'cy · feature-9 → main', url: 'https://github.com/acme/platform/pull/9', status: 'draft', timestamp: repo().pulls[1]!.createdAt },
        { id: '1000008', title: '#8 Fix login redirect', subtitle: 'bo · fix-login → release', url: 'https://github.com/acme/platform/pull/8', status: 'open', timestamp: repo().pulls[2]!.createdAt },
        { id: '1000007', title: '#7 Add billing export', subtitle: 'ana · billing-export → main', url: 'https://github.com/acme/platform/pull/7', status: 'review requested', timestamp: repo().pulls[0]!.createdAt },
      ],
    });
    expect(fake.api.headers.at(-1)).toEqual({ accept: 'application/vnd.github+json', version: '2022-11-28' });
  });

  it('follows the Link header across pages of 100', async () => {
    repo().pulls.push(...pulls(150));
    const before = fake.api.routeCalls.pulls;
    const data = (await read('open-pull-requests')).json().data;
    expect(data.items).toHaveLength(150);
    expect(data.total).toBeUndefined();
    expect(data.items[0].title).toBe('#150 PR 150');
    expect(fake.api.routeCalls.pulls - before).toBe(2);
  });

  it('stops at its bound of 5 pages and counts the rest from the last page', async () => {
    repo().pulls.push(...pulls(523));
    const before = fake.api.routeCalls.pulls;
    const data = (await read('open-pull-requests')).json().data;
    expect(data.items).toHaveLength(500);
    expect(data.total).toBe(523);
    expect(fake.api.routeCalls.pulls - before).toBe(6);
  });

  it('stops following pages when the quota is spent, keeping what it read', async () => {
    repo().pulls.push(...pulls(250));
    fake.api.rateLimit.remaining = 1;
    const before = fake.api.routeCalls.pulls;
    const data = (await read('open-pull-requests')).json().data;
    expect(data.items).toHaveLength(100);
    expect(fake.api.routeCalls.pulls - before).toBe(1);
  });

  it('answers an empty list when nothing is open, and 404 for a repository GitHub does not show', async () => {
    expect((await read('open-pull-requests')).json().data).toEqual({ items: [] });
    const missing = await read('open-pull-requests', '?repo=acme/secret');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('not_found');
  });

  it.each([['?repo=not-a-repo'], [''], ['?repo=acme/../x'], ['?repo=acme/a%20b']])('refuses bad params %s with 400', async (query) => {
    const before = fake.api.calls;
    const res = await read('open-pull-requests', query);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'validation_failed', errors: [{ path: 'querystring.repo' }] });
    expect(fake.api.calls).toBe(before);
  });
});

describe('recent-workflow-runs', () => {
  const columns = ['workflow', 'runs', 'failed', 'successRate', 'lastResult', 'lastRunAt', 'url'];

  it('sums the period per workflow, failing workflows first; cancelled and running runs leave the rate alone', async () => {
    repo().runs.push(
      { id: 1, name: 'Deploy', workflowId: 20, status: 'completed', conclusion: 'failure', createdAt: hoursAgo(1) },
      { id: 2, name: 'Deploy', workflowId: 20, status: 'completed', conclusion: 'success', createdAt: hoursAgo(3) },
      { id: 3, name: 'Deploy', workflowId: 20, status: 'completed', conclusion: 'timed_out', createdAt: hoursAgo(4) },
      { id: 4, name: 'Deploy', workflowId: 20, status: 'completed', conclusion: 'success', createdAt: hoursAgo(5) },
      { id: 5, name: 'CI', workflowId: 10, status: 'in_progress', conclusion: null, createdAt: hoursAgo(0.5) },
      { id: 6, name: 'CI', workflowId: 10, status: 'completed', conclusion: 'success', createdAt: hoursAgo(2) },
      { id: 7, name: 'CI', workflowId: 10, status: 'completed', conclusion: 'cancelled', createdAt: hoursAgo(6) },
      { id: 8, name: 'CI', workflowId: 10, status: 'completed', conclusion: 'failure', createdAt: hoursAgo(24 * 10) },
    );
    const res = await read('recent-workflow-runs');
    expect(res.statusCode).toBe(200);
    const data = res.json().data;
    expect(data.columns.map((c: { key: string }) => c.key)).toEqual(columns);
    expect(data.rows).toEqual([
      { workflow: 'Deploy', runs: 4, failed: 2, successRate: 50, lastResult: 'failure', lastRunAt: repo().runs[0]!.createdAt, url: 'https://github.com/acme/platform/actions/runs/1' },
      { workflow: 'CI', runs: 3, failed: 0, successRate: 100, lastResult: 'in_progress', lastRunAt: repo().runs[4]!.createdAt, url: 'https://github.com/acme/platform/actions/runs/5' },
    ]);
    // A 14-day window takes in the older failure.
    const wider = (await read('recent-workflow-runs', `?repo=${REPO}&days=14`)).json().data;
    expect(wider.rows.find((r: { workflow: string }) => r.workflow === 'CI')).toMatchObject({ runs: 4, failed: 1, successRate: 50 });
  });

  it('filters by branch', async () => {
    repo().runs.push(...runs(3), ...runs(2, { branch: 'release', conclusion: 'failure' }).map((r) => ({ ...r, id: r.id + 100 })));
    const data = (await read('recent-workflow-runs', `?repo=${REPO}&branch=release`)).json().data;
    expect(data.rows).toEqual([expect.objectContaining({ workflow: 'CI', runs: 2, failed: 2, successRate: 0 })]);
  });

  it('follows the Link header across pages and stops at its bound of 10 pages (1,000 runs)', async () => {
    repo().runs.push(...runs(250));
    let before = fake.api.routeCalls.runs;
    expect((await read('recent-workflow-runs')).json().data.rows).toEqual([expect.objectContaining({ runs: 250, successRate: 100 })]);
    expect(fake.api.routeCalls.runs - before).toBe(3);
    repo().runs.push(...runs(850).map((r) => ({ ...r, id: r.id + 1000 })));
    before = fake.api.routeCalls.runs;
    expect((await read('recent-workflow-runs', `?repo=${REPO}&days=8`)).json().data.rows).toEqual([expect.objectContaining({ runs: 1000 })]);
    expect(fake.api.routeCalls.runs - before).toBe(10);
  });

  it('answers an empty table when nothing ran', async () => {
    const data = (await read('recent-workflow-runs')).json().data;
    expect(data.rows).toEqual([]);
    expect(data.columns).toHaveLength(7);
  });

  it.each([['&days=0'], ['&days=91'], ['&days=soon'], ['&branch=a%20b']])('refuses bad params %s with 400', async (extra) => {
    const res = await read('recent-workflow-runs', `?repo=${REPO}${extra}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('validation_failed');
  });
});

describe.each([['open-pull-requests'], ['recent-workflow-runs']])('%s against a failing GitHub', (widget) => {
  it('answers 429 provider_rate_limited with Retry-After when GitHub asks for longer than the hub waits', async () => {
    fake.api.failures.push({ status: 429, headers: { 'retry-after': '120' } });
    const res = await read(widget);
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('provider_rate_limited');
    expect(res.headers['retry-after']).toBe('120');
  });

  it('reads an exhausted quota (403, x-ratelimit-remaining: 0) as a rate limit until x-ratelimit-reset', async () => {
    fake.api.rateLimit.remaining = 0;
    const res = await read(widget);
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('provider_rate_limited');
    const wait = Number(res.headers['retry-after']);
    expect(wait).toBeGreaterThan(3500);
    expect(wait).toBeLessThanOrEqual(3600);
  });

  it('retries a 5xx and answers', async () => {
    fake.api.failures.push({ status: 502 });
    const before = fake.api.calls;
    const res = await read(widget);
    expect(res.statusCode).toBe(200);
    expect(fake.api.calls - before).toBe(2);
  });

  it('refreshes the token once on a 401 and answers', async () => {
    const grant = [...fake.grants.values()].at(-1)!;
    const refreshes = fake.calls.refreshes;
    grant.accessToken = 'revoked-at-github';
    const res = await read(widget);
    expect(res.statusCode).toBe(200);
    expect(fake.calls.refreshes).toBe(refreshes + 1);
  });
});
