// Datadog widgets end to end against a fake Datadog site: both keys on every call, monitor search and SLO search
// paged to their bounds, the per-endpoint X-RateLimit-* quota, 429s, a 5xx retried, 401 and rejected keys, params validated.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents } from '../../src/db/schema.js';
import { startFakeDatadog, type FakeDatadog, type FakeMonitor, type FakeSlo } from '../fakes/datadog.js';
import { buildTestApp, type TestApp } from '../support/app.js';

const API_KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const APP_KEY = 'ddapp_0123456789abcdef0123456789abcdef01234567';

let fake: FakeDatadog;
let t: TestApp;
let ws: string;
let id: string;
let auth: { authorization: string };

beforeAll(async () => {
  fake = await startFakeDatadog({ apiKey: API_KEY, appKey: APP_KEY });
  t = await buildTestApp({ DATADOG_API_URL: fake.url });
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
beforeEach(async () => {
  Object.assign(fake.keys, { apiKey: API_KEY, appKey: APP_KEY });
  Object.assign(fake.api, { delayMs: 0, rateLimitRemaining: 1000 });
  fake.api.failures.length = 0;
  fake.data.monitors.length = 0;
  fake.data.slos.length = 0;
  ws = t.newWorkspace();
  auth = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
  const res = await t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/datadog/connect`, headers: auth, payload: { credentials: { apiKey: API_KEY, appKey: APP_KEY, site: 'datadoghq.eu' } } });
  id = res.json().integration.id;
});

const statusOf = async () =>
  (await t.app.inject({ url: `/workspaces/${ws}/integrations/${id}`, headers: auth })).json().integration as { status: string };
const read = (widget: string, query = '') => t.app.inject({ url: `/workspaces/${ws}/integrations/${id}/widgets/${widget}/data${query}`, headers: auth });
const alerting = (n: number, from = 1): FakeMonitor[] => Array.from({ length: n }, (_, i) => ({ id: from + i, name: `monitor ${from + i}`, status: 'Alert', lastTriggered: 1_700_000_000 + i }));
const slos = (n: number): FakeSlo[] =>
  Array.from({ length: n }, (_, i) => ({ id: `slo${i}`, name: `SLO ${i}`, statuses: [{ timeframe: '30d', target: 99.9, sli: 99.95, budget: 50, state: 'ok' }] }));

describe('alerting-monitors', () => {
  it('lists monitors in Alert then Warn, newest trigger first, linked to the site’s web app, sending both keys', async () => {
    fake.data.monitors.push(
      { id: 11, name: 'API latency p99', status: 'Alert', type: 'metric alert', tags: ['env:prod', 'team:api'], lastTriggered: 1_700_000_100 },
      { id: 12, name: 'Disk filling', status: 'Warn', tags: ['env:prod'], lastTriggered: 1_700_000_900 },
      { id: 13, name: 'All fine', status: 'OK' },
      { id: 14, name: 'Checkout errors', status: 'Alert', type: 'query alert', lastTriggered: 1_700_000_500 },
      { id: 15, name: 'Silent host', status: 'No Data' },
    );
    const res = await read('alerting-monitors');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ kind: 'list', source: 'provider' });
    expect(res.json().data).toEqual({
      items: [
        { id: '14', title: 'Checkout errors', subtitle: 'query alert', url: 'https://app.datadoghq.eu/monitors/14', status: 'Alert', timestamp: new Date(1_700_000_500_000).toISOString() },
        { id: '11', title: 'API latency p99', subtitle: 'metric alert · env:prod · team:api', url: 'https://app.datadoghq.eu/monitors/11', status: 'Alert', timestamp: new Date(1_700_000_100_000).toISOString() },
        { id: '12', title: 'Disk filling', subtitle: 'metric alert · env:prod', url: 'https://app.datadoghq.eu/monitors/12', status: 'Warn', timestamp: new Date(1_700_000_900_000).toISOString() },
      ],
    });
    expect(fake.api.queries.at(-1)).toBe('status:(alert OR warn)');
    expect(fake.requests.at(-1)).toMatchObject({ apiKey: API_KEY, appKey: APP_KEY });
  });

  it('leaves Warn out and filters by tags when asked', async () => {
    fake.data.monitors.push(
      { id: 1, name: 'prod alert', status: 'Alert', tags: ['env:prod', 'team:core'] },
      { id: 2, name: 'staging alert', status: 'Alert', tags: ['env:staging', 'team:core'] },
      { id: 3, name: 'prod warn', status: 'Warn', tags: ['env:prod', 'team:core'] },
    );
    const data = (await read('alerting-monitors', '?includeWarn=false&tags=env:prod,team:core')).json().data;
    expect(data.items.map((i: { id: string }) => i.id)).toEqual(['1']);
    expect(fake.api.queries.at(-1)).toBe('status:alert tag:"env:prod" tag:"team:core"');
  });

  it('follows pages of 100, and stops at its bound of 5 pages with total_count as the total', async () => {
    fake.data.monitors.push(...alerting(230));
    let before = fake.api.routeCalls.monitors;
    const some = (await read('alerting-monitors')).json().data;
    expect(some.items).toHaveLength(230);
    expect(some.total).toBeUndefined();
    expect(fake.api.routeCalls.monitors - before).toBe(3);
    fake.data.monitors.push(...alerting(390, 1000));
    before = fake.api.routeCalls.monitors;
    // Another key than the first read (every monitor is in Alert, so the answer is the same set).
    const many = (await read('alerting-monitors', '?includeWarn=false')).json().data;
    expect(many.items).toHaveLength(500);
    expect(many.total).toBe(620);
    expect(fake.api.routeCalls.monitors - before).toBe(5);
  });

  it('stops paging when X-RateLimit-Remaining reaches 0, keeping what it read', async () => {
    fake.data.monitors.push(...alerting(250));
    fake.api.rateLimitRemaining = 1;
    const data = (await read('alerting-monitors')).json().data;
    expect(data.items).toHaveLength(100);
    expect(data.total).toBe(250);
  });

  it('answers an empty list when nothing alerts', async () => {
    fake.data.monitors.push({ id: 1, name: 'ok', status: 'OK' });
    expect((await read('alerting-monitors')).json().data).toEqual({ items: [] });
  });

  it.each([['?includeWarn=maybe', 'includeWarn'], ['?tags=env%20prod', 'tags'], ['?tags=env:%22prod', 'tags'], ['?tags=a,,b', 'tags']])('refuses bad params %s with 400', async (query, field) => {
    const before = fake.api.calls;
    const res = await read('alerting-monitors', query);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'validation_failed', errors: [{ path: `querystring.${field}` }] });
    expect(fake.api.calls).toBe(before);
  });
});

describe('slo-status', () => {
  const columns = ['name', 'timeframe', 'target', 'sli', 'errorBudgetRemaining', 'state'];

  it('lists each SLO against its target, breached first, then by error budget left', async () => {
    fake.data.slos.push(
      { id: 'a', name: 'Checkout availability', tags: ['service:checkout'], statuses: [{ timeframe: '30d', target: 99.9, sli: 99.95123, budget: 48.7, state: 'ok' }, { timeframe: '7d', target: 99.9, sli: 99.8, budget: -100, state: 'breached' }] },
      { id: 'b', name: 'Search latency', statuses: [{ timeframe: '7d', target: 99, sli: 98.5, budget: -50, state: 'breached' }] },
      { id: 'c', name: 'Login success', statuses: [{ timeframe: '30d', target: 99.5, sli: 99.52, budget: 4, state: 'warning' }] },
      { id: 'd', name: 'API uptime', statuses: [{ timeframe: '30d', target: 99.9, sli: 99.99, budget: 90, state: 'ok' }] },
    );
    const res = await read('slo-status');
    expect(res.statusCode).toBe(200);
    const data = res.json().data;
    expect(data.columns.map((c: { key: string }) => c.key)).toEqual(columns);
    expect(data.rows).toEqual([
      { name: 'Search latency', timeframe: '7d', target: 99, sli: 98.5, errorBudgetRemaining: -50, state: 'breached' },
      { name: 'Login success', timeframe: '30d', target: 99.5, sli: 99.52, errorBudgetRemaining: 4, state: 'warning' },
      { name: 'Checkout availability', timeframe: '30d', target: 99.9, sli: 99.951, errorBudgetRemaining: 48.7, state: 'ok' },
      { name: 'API uptime', timeframe: '30d', target: 99.9, sli: 99.99, errorBudgetRemaining: 90, state: 'ok' },
    ]);
    const weekly = (await read('slo-status', '?timeframe=7d&query=service:checkout')).json().data;
    expect(weekly.rows).toEqual([{ name: 'Checkout availability', timeframe: '7d', target: 99.9, sli: 99.8, errorBudgetRemaining: -100, state: 'breached' }]);
    expect(fake.api.queries.at(-1)).toBe('service:checkout');
  });

  it('follows page[number] across pages of 50, and stops at its bound of 10 pages', async () => {
    fake.data.slos.push(...slos(120));
    let before = fake.api.routeCalls.slos;
    expect((await read('slo-status')).json().data.rows).toHaveLength(120);
    expect(fake.api.routeCalls.slos - before).toBe(3);
    fake.data.slos.push(...slos(430).map((s) => ({ ...s, id: `x${s.id}` })));
    before = fake.api.routeCalls.slos;
    expect((await read('slo-status', '?timeframe=30d')).json().data.rows).toHaveLength(500);
    expect(fake.api.routeCalls.slos - before).toBe(10);
  });

  it('answers an empty table when there are no SLOs', async () => {
    expect((await read('slo-status')).json().data.rows).toEqual([]);
  });

  it.each([['?timeframe=1y', 'timeframe'], ['?query=', 'query'], ['?query=a%3Cb', 'query']])('refuses bad params %s with 400', async (query, field) => {
    const res = await read('slo-status', query);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('validation_failed');
    expect(res.json().errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: `querystring.${field}` })]));
  });
});

describe.each([['alerting-monitors'], ['slo-status']])('%s against a failing Datadog', (widget) => {
  it('answers 429 provider_rate_limited with Retry-After from X-RateLimit-Reset when Datadog throttles', async () => {
    fake.api.failures.push({ status: 429, headers: { 'x-ratelimit-limit': '1000', 'x-ratelimit-period': '60', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '45' } });
    const res = await read(widget);
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('provider_rate_limited');
    expect(res.headers['retry-after']).toBe('45');
  });

  it('answers 429 once the endpoint quota is spent', async () => {
    fake.api.rateLimitRemaining = 0;
    const res = await read(widget);
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('37');
  });

  it('retries a 5xx and answers', async () => {
    fake.api.failures.push({ status: 503 });
    const before = fake.api.calls;
    expect((await read(widget)).statusCode).toBe(200);
    expect(fake.api.calls - before).toBe(2);
  });

  it('answers a 401 that persists as reauth_required (409): there is no token to refresh, one retry, no key echoed', async () => {
    // Datadog answers 401 when a key is missing from the request. The shared client treats a 401 as an expired
    // token: it asks for a refresh (an API-key connection has none: not_refreshable) and retries once.
    fake.api.failures.push({ status: 401 }, { status: 401 });
    const before = fake.api.calls;
    const validateKeysBefore = fake.calls.validateKeys;
    const res = await read(widget);
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('reauth_required');
    expect(fake.api.calls - before).toBe(2);
    expect(res.body).not.toContain(API_KEY);
    expect(res.body).not.toContain(APP_KEY);
    // The keys were checked again with Datadog's own validation calls, which accept them: the connection stays active.
    expect(fake.calls.validateKeys).toBe(validateKeysBefore + 1);
    expect((await statusOf()).status).toBe('active');
  });

  it('answers after a single 401, on the retry', async () => {
    fake.api.failures.push({ status: 401 });
    const before = fake.api.calls;
    const res = await read(widget);
    expect(res.statusCode).toBe(200);
    expect(res.json().source).toBe('provider');
    expect(fake.api.calls - before).toBe(2);
    expect(fake.requests.at(-1)).toMatchObject({ apiKey: API_KEY, appKey: APP_KEY });
  });

  it('maps keys Datadog no longer accepts (403) to insufficient_scope, with no refresh to try', async () => {
    fake.keys.appKey = 'rotated'.padEnd(40, '0');
    const res = await read(widget);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('insufficient_scope');
    expect(res.body).not.toContain(APP_KEY);
    // Datadog's key check refuses the stored pair too: the keys are dead, the connection needs new ones.
    expect(await statusOf()).toMatchObject({ status: 'needs_reauth' });
    const audits = await t.deps.database.db.select().from(auditEvents).where(eq(auditEvents.connectionId, id));
    expect(audits.find((a) => a.action === 'needs_reauth')?.detail).toEqual({ reason: 'api_key_refused' });
    expect(JSON.stringify(audits)).not.toContain(APP_KEY);
    const again = await read(widget);
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('reauth_required');
  });

  it('checks a refused key at most once per window, and leaves a key the check accepts alone', async () => {
    const validateBefore = fake.calls.validate;
    fake.api.failures.push({ status: 403 }, { status: 403 });
    expect((await read(widget)).statusCode).toBe(403);
    expect((await read(widget)).statusCode).toBe(403);
    expect(fake.calls.validate).toBe(validateBefore + 1);
    expect((await statusOf()).status).toBe('active');
  });
});
