// GitLab widgets end to end against a fake GitLab API: offset pagination (x-next-page, x-total) to the bound,
// projects by id or full path, RateLimit-* quota, 429 + Retry-After, a 5xx retried, a 401 refreshed once.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GITLAB_PATHS, startFakeGitLab, type FakeGitLab, type FakeProject } from '../fakes/gitlab.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';

let fake: FakeGitLab;
let t: TestApp;
let ws: string;
let id: string;
let auth: { authorization: string };
let project: FakeProject;

const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();

beforeAll(async () => {
  fake = await startFakeGitLab();
  t = await buildTestApp(providerEnvFor('GITLAB', fake, GITLAB_PATHS));
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
beforeEach(async () => {
  Object.assign(fake.api, { delayMs: 0, rateLimitRemaining: 2000 });
  fake.api.failures.length = 0;
  project = { id: 278964, path: 'acme/backend/api', mergeRequests: [], pipelines: [] };
  fake.projects.splice(0, fake.projects.length, project);
  ws = t.newWorkspace();
  id = (await connectViaOAuth(t, { workspaceId: ws, slug: 'gitlab' })).integrationId;
  auth = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
});

const read = (widget: string, query = '?project=acme/backend/api') => t.app.inject({ url: `/workspaces/${ws}/integrations/${id}/widgets/${widget}/data${query}`, headers: auth });
const mrs = (n: number) => Array.from({ length: n }, (_, i) => ({ iid: i + 1, title: `MR ${i + 1}`, author: 'dev', createdAt: hoursAgo(n - i) }));
const pipelines = (n: number, ref = 'main', status = 'success') => Array.from({ length: n }, (_, i) => ({ id: i + 1, ref, status, updatedAt: hoursAgo(1 + i / 100) }));

describe('open-merge-requests', () => {
  it('lists open merge requests newest first, with author, branches and their state', async () => {
    project.mergeRequests.push(
      { iid: 12, title: 'Rate limit the export API', author: 'ana', createdAt: hoursAgo(40), mergeStatus: 'not_approved' },
      { iid: 14, title: 'Draft: new search', author: 'bo', createdAt: hoursAgo(3), draft: true, source: 'search' },
      { iid: 13, title: 'Bump deps', author: 'cy', createdAt: hoursAgo(8), conflicts: true, target: 'stable' },
    );
    const res = await read('open-merge-requests');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ kind: 'list', source: 'provider' });
    expect(res.json().data).toEqual({
      items: [
        { id: '27896400014', title: '!14 Draft: new search', subtitle: 'bo · search → main', url: 'https://gitlab.example.com/acme/backend/api/-/merge_requests/14', status: 'draft', timestamp: project.mergeRequests[1]!.createdAt },
        { id: '27896400013', title: '!13 Bump deps', subtitle: 'cy · feature-13 → stable', url: 'https://gitlab.example.com/acme/backend/api/-/merge_requests/13', status: 'conflict', timestamp: project.mergeRequests[2]!.createdAt },
        { id: '27896400012', title: '!12 Rate limit the export API', subtitle: 'ana · feature-12 → main', url: 'https://gitlab.example.com/acme/backend/api/-/merge_requests/12', status: 'not_approved', timestamp: project.mergeRequests[0]!.createdAt },
      ],
    });
  });

  it('finds the project by numeric id as well as by full path', async () => {
    project.mergeRequests.push(...mrs(2));
    expect((await read('open-merge-requests', '?project=278964')).json().data.items).toHaveLength(2);
  });

  it('follows x-next-page across pages of 100, and stops at its bound of 5 pages with x-total as the total', async () => {
    project.mergeRequests.push(...mrs(230));
    let before = fake.api.routeCalls.mergeRequests;
    const some = (await read('open-merge-requests')).json().data;
    expect(some.items).toHaveLength(230);
    expect(some.total).toBeUndefined();
    expect(some.items[0].title).toBe('!230 MR 230');
    expect(fake.api.routeCalls.mergeRequests - before).toBe(3);
    project.mergeRequests.push(...mrs(400).map((m) => ({ ...m, iid: m.iid + 1000 })));
    before = fake.api.routeCalls.mergeRequests;
    const many = (await read('open-merge-requests', '?project=278964')).json().data;
    expect(many.items).toHaveLength(500);
    expect(many.total).toBe(630);
    expect(fake.api.routeCalls.mergeRequests - before).toBe(5);
  });

  it('stops following pages when RateLimit-Remaining reaches 0, keeping what it read', async () => {
    project.mergeRequests.push(...mrs(250));
    fake.api.rateLimitRemaining = 1;
    const data = (await read('open-merge-requests')).json().data;
    expect(data.items).toHaveLength(100);
    expect(data.total).toBe(250);
  });

  it('answers an empty list when nothing is open, and 404 for a project GitLab does not show', async () => {
    expect((await read('open-merge-requests')).json().data).toEqual({ items: [] });
    const missing = await read('open-merge-requests', '?project=acme/secret');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('not_found');
  });

  it.each([[''], ['?project=acme'], ['?project=acme/../x'], ['?project=acme/.hidden'], ['?project=a%20b/c']])('refuses bad params %s with 400', async (query) => {
    const before = fake.api.calls;
    const res = await read('open-merge-requests', query);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'validation_failed', errors: [{ path: 'querystring.project' }] });
    expect(fake.api.calls).toBe(before);
  });
});

describe('pipeline-status', () => {
  it('gives each branch its latest status, failures and success rate, broken branches first', async () => {
    project.pipelines.push(
      { id: 50, ref: 'main', status: 'success', updatedAt: hoursAgo(1) },
      { id: 49, ref: 'main', status: 'failed', updatedAt: hoursAgo(2) },
      { id: 48, ref: 'main', status: 'success', updatedAt: hoursAgo(3) },
      { id: 47, ref: 'main', status: 'canceled', updatedAt: hoursAgo(4) },
      { id: 46, ref: 'release-2.1', status: 'failed', updatedAt: hoursAgo(5) },
      { id: 45, ref: 'feature-x', status: 'running', updatedAt: hoursAgo(0.2) },
      { id: 10, ref: 'old-branch', status: 'failed', updatedAt: hoursAgo(24 * 9) },
    );
    const res = await read('pipeline-status');
    expect(res.statusCode).toBe(200);
    const data = res.json().data;
    expect(data.columns.map((c: { key: string }) => c.key)).toEqual(['ref', 'status', 'pipelines', 'failed', 'successRate', 'updatedAt', 'url']);
    expect(data.rows).toEqual([
      { ref: 'release-2.1', status: 'failed', pipelines: 1, failed: 1, successRate: 0, updatedAt: project.pipelines[4]!.updatedAt, url: 'https://gitlab.example.com/acme/backend/api/-/pipelines/46' },
      { ref: 'main', status: 'success', pipelines: 4, failed: 1, successRate: 66.7, updatedAt: project.pipelines[0]!.updatedAt, url: 'https://gitlab.example.com/acme/backend/api/-/pipelines/50' },
      { ref: 'feature-x', status: 'running', pipelines: 1, failed: 0, successRate: null, updatedAt: project.pipelines[5]!.updatedAt, url: 'https://gitlab.example.com/acme/backend/api/-/pipelines/45' },
    ]);
    const wider = (await read('pipeline-status', '?project=acme/backend/api&days=10')).json().data;
    expect(wider.rows.map((r: { ref: string }) => r.ref)).toContain('old-branch');
    const one = (await read('pipeline-status', '?project=acme/backend/api&ref=main')).json().data;
    expect(one.rows).toEqual([expect.objectContaining({ ref: 'main', pipelines: 4 })]);
  });

  it('follows pages and stops at its bound of 10 pages (1,000 pipelines)', async () => {
    project.pipelines.push(...pipelines(1_080));
    const before = fake.api.routeCalls.pipelines;
    expect((await read('pipeline-status')).json().data.rows).toEqual([expect.objectContaining({ ref: 'main', pipelines: 1000, successRate: 100 })]);
    expect(fake.api.routeCalls.pipelines - before).toBe(10);
  });

  it('answers an empty table when nothing ran', async () => {
    expect((await read('pipeline-status')).json().data.rows).toEqual([]);
  });

  it.each([['&days=0'], ['&days=100'], ['&ref=a%20b'], ['&days=x']])('refuses bad params %s with 400', async (extra) => {
    const res = await read('pipeline-status', `?project=acme/backend/api${extra}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('validation_failed');
  });
});

describe.each([['open-merge-requests'], ['pipeline-status']])('%s against a failing GitLab', (widget) => {
  it('answers 429 provider_rate_limited with Retry-After when GitLab asks for longer than the hub waits', async () => {
    fake.api.failures.push({ status: 429, headers: { 'retry-after': '90' } });
    const res = await read(widget);
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('provider_rate_limited');
    expect(res.headers['retry-after']).toBe('90');
  });

  it('retries a 5xx and answers', async () => {
    fake.api.failures.push({ status: 500 });
    const before = fake.api.calls;
    expect((await read(widget)).statusCode).toBe(200);
    expect(fake.api.calls - before).toBe(2);
  });

  it('refreshes the token once on a 401 and answers', async () => {
    const grant = [...fake.grants.values()].at(-1)!;
    const refreshes = fake.calls.refreshes;
    grant.accessToken = 'revoked-at-gitlab';
    expect((await read(widget)).statusCode).toBe(200);
    expect(fake.calls.refreshes).toBe(refreshes + 1);
  });

  it('maps GitLab insufficient_scope (403) to insufficient_scope', async () => {
    [...fake.grants.values()].at(-1)!.scope = 'read_user';
    const res = await read(widget);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('insufficient_scope');
  });
});
