// Asana widgets end to end against a fake Asana API: opt_fields, offset paging, the errors envelope, 429, refresh on 401.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dateIn } from '../../src/connectors/asana/widgets.js';
import { ASANA_PATHS, startFakeAsana, type FakeAsana, type FakeAsanaTask } from '../fakes/asana.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';

let fake: FakeAsana;
let t: TestApp;
let ws: string;
let id: string;
let auth: { authorization: string };
let me: string;
let workspace: string;
let seq = 0;

beforeAll(async () => {
  fake = await startFakeAsana();
  t = await buildTestApp(providerEnvFor('ASANA', fake, ASANA_PATHS));
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
beforeEach(async () => {
  fake.api.failures.length = 0;
  fake.api.delayMs = 0;
  fake.tasks.length = 0;
  fake.projects.clear();
  ws = t.newWorkspace();
  id = (await connectViaOAuth(t, { workspaceId: ws, slug: 'asana' })).integrationId;
  auth = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
  const user = [...fake.grants.values()].at(-1)!.extra as { gid: string; workspaces: { gid: string }[] };
  me = user.gid;
  workspace = user.workspaces[0]!.gid;
});

const read = (widget: string, query = '') => t.app.inject({ url: `/workspaces/${ws}/integrations/${id}/widgets/${widget}/data${query}`, headers: auth });
const day = (offset: number) => dateIn(new Date(Date.now() + offset * 86_400_000), 'UTC');
const mine = (task: Partial<FakeAsanaTask>): FakeAsanaTask => ({ gid: String(1_000_000 + seq++), name: `task ${seq}`, assigneeGid: me, workspaceGid: workspace, ...task });
const inProject = (project: string, task: Partial<FakeAsanaTask>): FakeAsanaTask => ({ gid: String(1_000_000 + seq++), name: `task ${seq}`, projectGids: [project], ...task });

describe('overdue-tasks', () => {
  it("lists the user's own open tasks past due in their workspace, most overdue first", async () => {
    const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, '.000Z');
    fake.tasks.push(
      mine({ gid: '11', name: 'Sign the lease', due_on: day(-3) }),
      mine({ gid: '12', name: 'Approve budget', due_at: monthAgo }),
      mine({ gid: '13', name: 'Reply to board', due_on: day(-1) }),
      mine({ gid: '14', name: 'Due today', due_on: day(0) }),
      mine({ gid: '15', name: 'Due tomorrow', due_on: day(1) }),
      mine({ gid: '16', name: 'Done late', due_on: day(-5), completed: true }),
      mine({ gid: '17', name: 'No date' }),
      mine({ gid: '18', name: 'Someone else', due_on: day(-2), assigneeGid: '999' }),
      mine({ gid: '19', name: 'Other workspace', due_on: day(-2), workspaceGid: '888' }),
    );
    const res = await read('overdue-tasks');
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({
      items: [
        { id: '12', title: 'Approve budget', subtitle: `Due ${day(-30)} · 30 days late`, url: 'https://app.asana.com/0/0/12', status: 'overdue', timestamp: monthAgo },
        { id: '11', title: 'Sign the lease', subtitle: `Due ${day(-3)} · 3 days late`, url: 'https://app.asana.com/0/0/11', status: 'overdue', timestamp: `${day(-3)}T00:00:00.000Z` },
        { id: '13', title: 'Reply to board', subtitle: `Due ${day(-1)} · 1 day late`, url: 'https://app.asana.com/0/0/13', status: 'overdue', timestamp: `${day(-1)}T00:00:00.000Z` },
      ],
      total: 3,
    });
  });

  it("follows next_page across a project's open tasks and names assignees", async () => {
    fake.projects.set('5001', { name: 'Q3 Launch' });
    for (let i = 0; i < 250; i++) fake.tasks.push(inProject('5001', { name: `t${i}`, due_on: i % 2 ? day(-1 - (i % 7)) : day(3), assigneeGid: '42', assigneeName: 'Grace' }));
    const before = fake.api.tasksCalls;
    const data = (await read('overdue-tasks', '?project=5001&limit=2')).json().data;
    expect(fake.api.tasksCalls - before).toBe(3);
    expect(data.total).toBe(125);
    expect(data.items).toHaveLength(2);
    expect(data.items[0].subtitle).toBe(`Due ${day(-7)} · 7 days late · Grace`);
  });

  it('stops at its bound of 10 pages of 100', async () => {
    fake.projects.set('5002', { name: 'Big' });
    for (let i = 0; i < 1_050; i++) fake.tasks.push(inProject('5002', { due_on: day(-1) }));
    const before = fake.api.tasksCalls;
    expect((await read('overdue-tasks', '?project=5002')).json().data.total).toBe(1_000);
    expect(fake.api.tasksCalls - before).toBe(10);
  });

  it('decides "today" in the time zone asked for', async () => {
    // Kiritimati (UTC+14) is always at least a day ahead of Pago Pago (UTC-11).
    fake.tasks.push(mine({ gid: '21', name: 'Ship', due_on: dateIn(new Date(), 'Pacific/Pago_Pago') }));
    expect((await read('overdue-tasks', '?timeZone=Pacific/Pago_Pago')).json().data.total).toBe(0);
    expect((await read('overdue-tasks', '?timeZone=Pacific/Kiritimati')).json().data.items.map((i: { id: string }) => i.id)).toEqual(['21']);
  });

  it('answers an empty list when nothing is overdue', async () => {
    fake.tasks.push(mine({ due_on: day(2) }));
    expect((await read('overdue-tasks')).json().data).toEqual({ items: [], total: 0 });
  });

  it('answers 400 for bad params and for a project Asana does not know', async () => {
    for (const [query, path] of [['?project=abc', 'project'], ['?limit=0', 'limit'], ['?timeZone=Mars/Base', 'timeZone'], ['?project=404404', 'project']] as const) {
      const res = await read('overdue-tasks', query);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'validation_failed', errors: [{ path: `querystring.${path}` }] });
    }
  });
});

describe('project-progress', () => {
  it('answers the share of tasks completed, from task_counts, with the project name', async () => {
    fake.projects.set('6001', { name: 'Q3 Launch' });
    for (let i = 0; i < 8; i++) fake.tasks.push(inProject('6001', { completed: i < 6 }));
    const res = await read('project-progress', '?project=6001');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ kind: 'metric', data: { value: 75, unit: '%', label: 'Q3 Launch: 6 of 8 tasks done', delta: null } });
  });

  it('answers 0 % for a project without tasks', async () => {
    fake.projects.set('6002', { name: 'Empty' });
    expect((await read('project-progress', '?project=6002')).json().data).toMatchObject({ value: 0, label: 'Empty: 0 of 0 tasks done' });
  });

  it('answers 400 without a project, or for one Asana does not know', async () => {
    expect((await read('project-progress')).statusCode).toBe(400);
    const unknown = await read('project-progress', '?project=404404');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ code: 'validation_failed', errors: [{ path: 'querystring.project' }] });
  });
});

describe.each([
  { widget: 'overdue-tasks', query: '', calls: 1, data: { total: 1 } },
  // Two single-object reads at once: the project and its task counts.
  { widget: 'project-progress', query: '?project=7001', calls: 2, data: { value: 50 } },
])('$widget against a failing Asana', ({ widget, query, calls, data }) => {
  beforeEach(() => {
    fake.projects.set('7001', { name: 'Launch' });
    fake.tasks.push(mine({ due_on: day(-1) }), inProject('7001', { completed: true }), inProject('7001', {}));
  });

  it("answers 429 provider_rate_limited with Asana's Retry-After when it is longer than the hub waits", async () => {
    fake.api.failures.push({ status: 429, headers: { 'retry-after': '30' } });
    const res = await read(widget, query);
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('provider_rate_limited');
    expect(res.headers['retry-after']).toBe('30');
  });

  it('retries a 5xx and answers', async () => {
    fake.api.failures.push({ status: 500 });
    const before = fake.api.calls;
    const res = await read(widget, query);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ source: 'provider', data });
    expect(fake.api.calls - before).toBe(calls + 1);
  });

  it('refreshes the token on a 401 and answers with the new one', async () => {
    const grant = [...fake.grants.values()].at(-1)!;
    const before = fake.calls.refreshes;
    grant.accessToken = 'revoked-by-asana';
    const res = await read(widget, query);
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject(data);
    // Exactly one refresh, even for a widget whose calls at once were all refused on the same old token.
    expect(fake.calls.refreshes - before).toBe(1);
    expect(fake.grantOfAccessToken(grant.accessToken)).toBe(grant);
  });
});

describe('Asana failures', () => {
  it('maps a 5xx that outlasts the retries to provider_unavailable', async () => {
    fake.api.failures.push({ status: 500 }, { status: 502 }, { status: 503 });
    const res = await read('overdue-tasks');
    expect(res.statusCode).toBe(502);
    expect(res.json().code).toBe('provider_unavailable');
  });

  it('maps a 403 for a scope the token lacks to insufficient_scope', async () => {
    [...fake.grants.values()].at(-1)!.scope = 'users:read tasks:read';
    fake.projects.set('6003', { name: 'Secret' });
    const res = await read('project-progress', '?project=6003');
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('insufficient_scope');
  });
});
