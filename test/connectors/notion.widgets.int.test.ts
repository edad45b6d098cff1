// Notion widgets end to end against a fake Notion API: Notion-Version, cursor paging, the error envelope, 429, refresh on 401.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NOTION_PATHS, startFakeNotion, type FakeDataSource, type FakeNotion } from '../fakes/notion.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';

let fake: FakeNotion;
let t: TestApp;
let ws: string;
let id: string;
let auth: { authorization: string };

beforeAll(async () => {
  fake = await startFakeNotion();
  t = await buildTestApp(providerEnvFor('NOTION', fake, NOTION_PATHS));
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
beforeEach(async () => {
  fake.api.failures.length = 0;
  fake.api.delayMs = 0;
  fake.pages.length = 0;
  fake.dataSources.clear();
  ws = t.newWorkspace();
  id = (await connectViaOAuth(t, { workspaceId: ws, slug: 'notion' })).integrationId;
  auth = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
});

const read = (widget: string, query = '') => t.app.inject({ url: `/workspaces/${ws}/integrations/${id}/widgets/${widget}/data${query}`, headers: auth });
const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, '.000Z');
const pages = (n: number, stepMinutes: number) => Array.from({ length: n }, (_, i) => ({ id: randomUUID(), title: `Page ${i}`, lastEditedTime: ago(1 + i * stepMinutes) }));

function dataSource(source: Partial<FakeDataSource> & Pick<FakeDataSource, 'items'>): string {
  const dsId = randomUUID();
  fake.dataSources.set(dsId, { statusProperty: 'Status', statusType: 'status', ...source });
  return dsId;
}
const items = (spec: Record<string, number>) =>
  Object.entries(spec).flatMap(([status, n]) => Array.from({ length: n }, (_, i) => ({ id: randomUUID(), title: `${status} ${i}`, status: status === 'null' ? null : status })));

describe('recent-pages', () => {
  it('lists pages edited in the window, newest first, with Notion links, calling with Notion-Version', async () => {
    const memo = { id: randomUUID(), title: 'Board memo', lastEditedTime: ago(60) };
    fake.pages.push(
      { id: randomUUID(), title: 'Old plan', lastEditedTime: ago(10 * 1440) },
      memo,
      { id: randomUUID(), title: 'Deleted draft', lastEditedTime: ago(30), inTrash: true },
      { id: randomUUID(), title: '', lastEditedTime: ago(2 * 1440) },
    );
    const res = await read('recent-pages');
    expect(res.statusCode).toBe(200);
    expect(fake.api.lastVersion).toBe('2025-09-03');
    const data = res.json().data;
    expect(data.total).toBe(2);
    expect(data.items[0]).toEqual({ id: memo.id, title: 'Board memo', url: `https://www.notion.so/Board-memo-${memo.id.replace(/-/g, '')}`, timestamp: memo.lastEditedTime });
    expect(data.items[1]).toMatchObject({ title: 'Untitled' });
  });

  it('follows next_cursor until the window ends, and no further', async () => {
    fake.pages.push(...pages(250, 10));
    let before = fake.api.searchCalls;
    const week = (await read('recent-pages', '?limit=5')).json().data;
    expect(week.total).toBe(250);
    expect(week.items.map((i: { title: string }) => i.title)).toEqual(['Page 0', 'Page 1', 'Page 2', 'Page 3', 'Page 4']);
    expect(fake.api.searchCalls - before).toBe(3);
    before = fake.api.searchCalls;
    // One day holds pages 0…143 (every 10 minutes): the second page already reaches older edits.
    const day = (await read('recent-pages', '?days=1&limit=100')).json().data;
    expect(day.total).toBe(144);
    expect(day.items).toHaveLength(100);
    expect(fake.api.searchCalls - before).toBe(2);
  });

  it('stops at its bound of 5 pages of 100', async () => {
    fake.pages.push(...pages(620, 1));
    const before = fake.api.searchCalls;
    expect((await read('recent-pages')).json().data.total).toBe(500);
    expect(fake.api.searchCalls - before).toBe(5);
  });

  it('answers an empty list when nothing was edited', async () => {
    expect((await read('recent-pages')).json().data).toEqual({ items: [], total: 0 });
  });

  it('refuses days or limit out of range with 400', async () => {
    for (const query of ['?days=0', '?days=91', '?limit=101', '?limit=two']) {
      const res = await read('recent-pages', query);
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
  });
});

describe('items-by-status', () => {
  it('counts items per status, most common first, with their share', async () => {
    const ds = dataSource({ items: items({ Done: 3, 'In progress': 2, 'Not started': 1, null: 1 }) });
    const res = await read('items-by-status', `?dataSourceId=${ds}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ kind: 'table' });
    expect(res.json().data).toEqual({
      columns: [{ key: 'status', label: 'Status' }, { key: 'count', label: 'Items' }, { key: 'share', label: 'Share (%)' }],
      rows: [
        { status: 'Done', count: 3, share: 42.9 },
        { status: 'In progress', count: 2, share: 28.6 },
        { status: '(no status)', count: 1, share: 14.3 },
        { status: 'Not started', count: 1, share: 14.3 },
      ],
    });
  });

  it('pages through the whole data source, takes a select property by name and ids without dashes', async () => {
    const ds = dataSource({ statusProperty: 'Stage', statusType: 'select', items: items({ Won: 130, Lost: 120 }) });
    const before = fake.api.queryCalls;
    const data = (await read('items-by-status', `?dataSourceId=${ds.replace(/-/g, '')}&property=Stage`)).json().data;
    expect(data.rows).toEqual([{ status: 'Won', count: 130, share: 52 }, { status: 'Lost', count: 120, share: 48 }]);
    expect(data.columns[0]).toEqual({ key: 'status', label: 'Stage' });
    expect(fake.api.queryCalls - before).toBe(3);
  });

  it('says when its bound of 10 pages cut the count short', async () => {
    const ds = dataSource({ items: items({ Open: 1_050 }) });
    const data = (await read('items-by-status', `?dataSourceId=${ds}`)).json().data;
    expect(data.rows).toEqual([{ status: 'Open', count: 1_000, share: 100 }]);
    expect(data.columns[1].label).toBe('Items (first 1000 read)');
  });

  it('answers no rows for an empty database', async () => {
    const ds = dataSource({ items: [] });
    expect((await read('items-by-status', `?dataSourceId=${ds}`)).json().data.rows).toEqual([]);
  });

  it('answers 400 naming the param for a missing, malformed or unknown data source, or an unusable property', async () => {
    const expectBad = async (query: string, path: string) => {
      const res = await read('items-by-status', query);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'validation_failed', errors: [{ path }] });
    };
    await expectBad('', 'querystring.dataSourceId');
    await expectBad('?dataSourceId=../../users', 'querystring.dataSourceId');
    await expectBad(`?dataSourceId=${randomUUID()}`, 'querystring.dataSourceId');
    const ds = dataSource({ statusType: 'rich_text', items: items({ Done: 2 }) });
    await expectBad(`?dataSourceId=${ds}`, 'querystring.property');
    await expectBad(`?dataSourceId=${ds}&property=Priority`, 'querystring.property');
  });
});

describe.each([
  { widget: 'recent-pages', data: { total: 1 } },
  { widget: 'items-by-status', data: { rows: [{ status: 'Done', count: 1, share: 100 }] } },
])('$widget against a failing Notion', ({ widget, data }) => {
  let query = '';
  beforeEach(() => {
    fake.pages.push(...pages(1, 1));
    query = widget === 'items-by-status' ? `?dataSourceId=${dataSource({ items: items({ Done: 1 }) })}` : '';
  });

  it("answers 429 provider_rate_limited with Notion's Retry-After when it is longer than the hub waits", async () => {
    fake.api.failures.push({ status: 429, headers: { 'retry-after': '45' } });
    const res = await read(widget, query);
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('provider_rate_limited');
    expect(res.headers['retry-after']).toBe('45');
  });

  it('retries a 5xx and answers', async () => {
    fake.api.failures.push({ status: 503 });
    const before = fake.api.calls;
    const res = await read(widget, query);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ source: 'provider', data });
    expect(fake.api.calls - before).toBe(2);
  });

  it('refreshes once on a 401 and retries with the new token', async () => {
    const grant = [...fake.grants.values()].at(-1)!;
    const before = fake.calls.refreshes;
    grant.accessToken = 'ntn_revoked_by_notion';
    const res = await read(widget, query);
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject(data);
    expect(fake.calls.refreshes).toBe(before + 1);
  });
});

describe('Notion failures', () => {
  it('maps a 5xx that outlasts the retries to provider_unavailable', async () => {
    fake.api.failures.push({ status: 500 }, { status: 503 }, { status: 529 });
    const res = await read('recent-pages');
    expect(res.statusCode).toBe(502);
    expect(res.json().code).toBe('provider_unavailable');
  });
});
