// The public catalog over HTTP: all 12 connectors, filters, details, 404s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
const SLUGS = ['slack', 'google-calendar', 'microsoft-teams', 'notion', 'asana', 'github', 'gitlab', 'jira', 'datadog', 'quickbooks', 'xero', 'stripe'];

beforeAll(async () => {
  t = await buildTestApp({ SLACK_CLIENT_ID: 'slack-id', SLACK_CLIENT_SECRET: 'slack-secret-value' });
  await t.app.ready();
});
afterAll(() => t.close());

describe('GET /integrations', () => {
  it('lists the 12 connectors, cacheable, without auth', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/integrations' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toContain('max-age');
    const { integrations } = res.json();
    expect(integrations.map((i: { slug: string }) => i.slug)).toEqual(SLUGS);
    for (const item of integrations) {
      expect(item).toMatchObject({
        slug: expect.any(String), name: expect.any(String), category: expect.any(String),
        roles: expect.any(Array), authType: expect.stringMatching(/^(oauth2|apiKey)$/),
        configured: expect.any(Boolean), scopes: expect.any(Array), widgets: expect.any(Array),
      });
    }
  });

  it('reports configured from the credentials and never leaks them', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/integrations' });
    const bySlug = Object.fromEntries(res.json().integrations.map((i: { slug: string }) => [i.slug, i]));
    expect(bySlug.slack.configured).toBe(true);
    expect(bySlug.github.configured).toBe(false);
    expect(bySlug.datadog.authType).toBe('apiKey');
    expect(res.body).not.toContain('slack-secret-value');
  });

  it('filters by role and by category', async () => {
    const cfo = (await t.app.inject({ method: 'GET', url: '/integrations?role=cfo' })).json().integrations;
    expect(cfo.map((i: { slug: string }) => i.slug)).toEqual(['quickbooks', 'xero', 'stripe']);
    const cto = (await t.app.inject({ method: 'GET', url: '/integrations?role=cto' })).json().integrations;
    expect(cto.map((i: { slug: string }) => i.slug)).toEqual(['github', 'gitlab', 'jira', 'datadog']);
    const common = (await t.app.inject({ method: 'GET', url: '/integrations?role=common' })).json().integrations;
    expect(common.map((i: { slug: string }) => i.slug)).toEqual(['slack', 'google-calendar', 'microsoft-teams', 'notion', 'asana']);
    const category = cfo[0].category;
    const byCategory = (await t.app.inject({ method: 'GET', url: `/integrations?category=${category}` })).json().integrations;
    expect(byCategory.length).toBeGreaterThan(0);
    expect(byCategory.every((i: { category: string }) => i.category === category)).toBe(true);
  });
});

describe('GET /integrations/:slug', () => {
  it('answers one integration', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/integrations/github' });
    expect(res.statusCode).toBe(200);
    expect(res.json().integration).toMatchObject({ slug: 'github', name: 'GitHub', roles: ['cto'], authType: 'oauth2' });
  });

  it('lists a connector\'s widgets with their kind, TTL, scopes and params schema', async () => {
    const { integration } = (await t.app.inject({ method: 'GET', url: '/integrations/google-calendar' })).json();
    const meetings = integration.widgets.find((w: { id: string }) => w.id === 'todays-meetings');
    expect(meetings).toMatchObject({ kind: 'list', ttlSeconds: expect.any(Number), scopes: [expect.stringContaining('calendar')] });
    expect(meetings.params).toMatchObject({ type: 'object', properties: { timeZone: { type: 'string', default: 'UTC' } } });
    expect(meetings.params.required ?? []).not.toContain('timeZone');
  });

  it('answers 404 problem+json for an unknown slug', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/integrations/myspace' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().code).toBe('integration_not_found');
  });
});

describe('GET /workspaces/:workspaceId/integrations', () => {
  it('answers an empty list for a workspace without connections', async () => {
    const ws = t.newWorkspace();
    const res = await t.app.inject({ method: 'GET', url: `/workspaces/${ws}/integrations`, headers: { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ integrations: [] });
  });

  it('answers 404 connection_not_found for an unknown connection id', async () => {
    const ws = t.newWorkspace();
    const res = await t.app.inject({ method: 'GET', url: `/workspaces/${ws}/integrations/conn_nope`, headers: { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` } });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('connection_not_found');
  });
});

describe('catalog caching', () => {
  it('answers an ETag and 304 when the client already has the same answer, per filter and per integration', async () => {
    for (const url of ['/integrations', '/integrations?role=cfo', '/integrations/slack']) {
      const first = await t.app.inject({ url });
      expect(first.statusCode).toBe(200);
      expect(first.headers['content-type']).toMatch(/^application\/json/);
      const etag = first.headers.etag as string;
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
      const again = await t.app.inject({ url, headers: { 'if-none-match': etag } });
      expect(again.statusCode, url).toBe(304);
      expect(again.body).toBe('');
      expect((await t.app.inject({ url, headers: { 'if-none-match': '"stale"' } })).statusCode).toBe(200);
    }
    const all = await t.app.inject({ url: '/integrations' });
    const cfo = await t.app.inject({ url: '/integrations?role=cfo' });
    expect(cfo.headers.etag).not.toBe(all.headers.etag);
    expect(cfo.json().integrations.every((i: { roles: string[] }) => i.roles.includes('cfo'))).toBe(true);
  });
});
