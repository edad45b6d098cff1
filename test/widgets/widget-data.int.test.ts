// Widget data end to end (Google Calendar against its fake): cache hit, stale-while-revalidate, single flight,
// stale-if-error, purge on disconnect, provider errors mapped to problems, ETag, pagination, params.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { GOOGLE_PATHS, startFakeGoogle, type FakeGoogle } from '../fakes/google.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';

let fake: FakeGoogle;
let t: TestApp;
let ws: string;
let id: string;
let auth: { authorization: string };

const at = (h: number, m = 0) => {
  const d = new Date();
  d.setUTCHours(h, m, 0, 0);
  return d.toISOString();
};

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
  ws = t.newWorkspace();
  id = (await connectViaOAuth(t, { workspaceId: ws, slug: 'google-calendar' })).integrationId;
  auth = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
  fake.events.length = 0;
  fake.events.push(
    { id: 'e2', summary: 'Board prep', start: { dateTime: at(14) }, end: { dateTime: at(15) }, htmlLink: 'https://calendar.example.com/e2' },
    { id: 'e1', summary: 'Standup', start: { dateTime: at(9) }, end: { dateTime: at(9, 30) } },
    { id: 'x', summary: 'Cancelled', status: 'cancelled', start: { dateTime: at(11) }, end: { dateTime: at(12) } },
  );
});

const read = (widget: string, query = '', headers: Record<string, string> = {}) =>
  t.app.inject({ url: `/workspaces/${ws}/integrations/${id}/widgets/${widget}/data${query}`, headers: { ...auth, ...headers } });

describe('widget data', () => {
  it('fetches from the provider, then answers from the cache, with ETag and Cache-Control', async () => {
    const first = await read('todays-meetings');
    expect(first.statusCode).toBe(200);
    const body = first.json();
    expect(body).toMatchObject({ widgetId: 'todays-meetings', integrationId: id, kind: 'list', source: 'provider', stale: false });
    expect(body.data.items.map((i: { id: string }) => i.id)).toEqual(['e1', 'e2']);
    expect(body.data.items[1]).toMatchObject({ title: 'Board prep', url: 'https://calendar.example.com/e2', timestamp: at(14) });
    expect(first.headers['cache-control']).toMatch(/^private, max-age=(29\d|300)$/);
    const calls = fake.api.eventCalls;
    const second = await read('todays-meetings');
    expect(second.json()).toMatchObject({ source: 'cache', stale: false, fetchedAt: body.fetchedAt });
    expect(fake.api.eventCalls).toBe(calls);
    const notModified = await read('todays-meetings', '', { 'if-none-match': String(second.headers.etag) });
    expect(notModified.statusCode).toBe(304);
    expect(notModified.body).toBe('');
  });

  it('keys the cache by params and validates them', async () => {
    await read('todays-meetings');
    const calls = fake.api.eventCalls;
    const other = await read('todays-meetings', '?timeZone=Asia/Tokyo');
    expect(other.json().source).toBe('provider');
    expect(fake.api.eventCalls).toBe(calls + 1);
    const bad = await read('todays-meetings', '?timeZone=Mars/Olympus');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'validation_failed', errors: [{ path: 'querystring.timeZone' }] });
    expect((await read('no-such-widget')).json().code).toBe('widget_not_found');
  });

  it('serves stale data and revalidates in the background', async () => {
    const first = (await read('todays-meetings')).json();
    // Age the cached value past its freshness by rewriting it through the cache with an old freshUntil.
    const { hashParams } = await import('../../src/modules/widgets/widget-cache.js');
    const row = (await t.deps.connectionRepo.findById(id))!;
    const slot = { connectionId: id, widgetId: 'todays-meetings', paramsHash: hashParams({ calendarId: 'primary', timeZone: 'UTC' }), dataKey: t.deps.vault.unwrapDataKey(id, row.dataKey!) };
    const cached = (await t.deps.widgetCache.read(slot))!;
    expect(cached.fetchedAt).toBe(first.fetchedAt);
    await t.deps.widgetCache.write(slot, { ...cached, freshUntil: new Date(Date.now() - 1000).toISOString() });
    fake.events.push({ id: 'e3', summary: 'Late call', start: { dateTime: at(17) }, end: { dateTime: at(18) } });
    const stale = (await read('todays-meetings')).json();
    expect(stale).toMatchObject({ source: 'cache', stale: true });
    expect(stale.data.items).toHaveLength(2);
    for (let i = 0; i < 50; i++) {
      const now = (await read('todays-meetings')).json();
      if (!now.stale) {
        expect(now.data.items.map((x: { id: string }) => x.id)).toEqual(['e1', 'e2', 'e3']);
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('the background revalidation never landed');
  });

  it('tries one background revalidation per backoff window while the provider is down, not one per stale read', async () => {
    await read('todays-meetings');
    const { hashParams } = await import('../../src/modules/widgets/widget-cache.js');
    const row = (await t.deps.connectionRepo.findById(id))!;
    const slot = { connectionId: id, widgetId: 'todays-meetings', paramsHash: hashParams({ calendarId: 'primary', timeZone: 'UTC' }), dataKey: t.deps.vault.unwrapDataKey(id, row.dataKey!) };
    const cached = (await t.deps.widgetCache.read(slot))!;
    await t.deps.widgetCache.write(slot, { ...cached, freshUntil: new Date(Date.now() - 1000).toISOString() });
    fake.api.failures.push(...Array.from({ length: 30 }, () => ({ status: 503 })));
    const calls = fake.api.calls;
    expect((await read('todays-meetings')).json()).toMatchObject({ source: 'cache', stale: true, fetchedAt: cached.fetchedAt });
    // One revalidation: the client's three tries of a 5xx, then the failure is recorded.
    await vi.waitFor(() => expect(fake.api.calls - calls).toBe(3), { timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 20; i++) {
      const stale = await read('todays-meetings');
      expect(stale.statusCode).toBe(200);
      expect(stale.json()).toMatchObject({ source: 'cache', stale: true, fetchedAt: cached.fetchedAt });
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.api.calls - calls).toBe(3);
    expect(fake.api.failures).toHaveLength(27);
  });

  it('makes one provider call for 100 concurrent cold reads', async () => {
    fake.api.delayMs = 150;
    const calls = fake.api.eventCalls;
    const answers = await Promise.all(Array.from({ length: 100 }, () => read('todays-meetings')));
    expect(answers.every((a) => a.statusCode === 200)).toBe(true);
    expect(fake.api.eventCalls - calls).toBe(1);
    expect(new Set(answers.map((a) => a.json().fetchedAt)).size).toBe(1);
  });

  it('serves the last good value, marked stale, when the provider fails; maps errors when there is none', async () => {
    await read('todays-meetings');
    fake.api.failures.push({ status: 503 }, { status: 503 }, { status: 503 });
    const forced = await read('todays-meetings', '?refresh=true');
    expect(forced.statusCode).toBe(200);
    expect(forced.json()).toMatchObject({ stale: true, source: 'cache' });
    fake.api.failures.length = 0;
    // meeting-load makes two calls (this week, last week), each tried three times.
    fake.api.failures.push(...Array.from({ length: 6 }, () => ({ status: 503 })));
    const cold = await read('meeting-load');
    expect(cold.statusCode).toBe(502);
    expect(cold.json().code).toBe('provider_unavailable');
    // The answer leaves with the first failed call; let the other call's retries finish before the next test.
    await vi.waitFor(() => expect(fake.api.failures).toHaveLength(0), { timeout: 10_000 });
  });

  it('retries a 5xx and honours Retry-After on a 429', async () => {
    fake.api.failures.push({ status: 500 });
    const ok = await read('todays-meetings');
    expect(ok.statusCode).toBe(200);
    fake.api.failures.push({ status: 429, headers: { 'retry-after': '120' } });
    const limited = await read('todays-meetings', '?timeZone=Asia/Tokyo');
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('provider_rate_limited');
    expect(limited.headers['retry-after']).toBe('120');
  });

  it('refreshes once on a 401 and retries', async () => {
    const grant = [...fake.grants.values()].at(-1)!;
    const before = fake.calls.refreshes;
    grant.accessToken = 'revoked-by-provider';
    const res = await read('todays-meetings');
    expect(res.statusCode).toBe(200);
    expect(fake.calls.refreshes).toBe(before + 1);
  });

  it('refreshes nothing for a 401 on credentials already replaced: two refused calls on one old token cost one refresh', async () => {
    const used = await t.deps.refresh.credentialsForUse(id);
    expect(used).toBeDefined();
    const before = fake.calls.refreshes;
    // The first caller's 401: its credentials are the stored ones, so they are refreshed.
    expect(await t.deps.refresh.refresh(id, { force: true, rejectedVersion: used!.version })).toBe('refreshed');
    // A second caller that got its 401 on the same old token, after that refresh: nothing more to do.
    expect(await t.deps.refresh.refresh(id, { force: true, rejectedVersion: used!.version })).toBe('refreshed_elsewhere');
    expect(fake.calls.refreshes).toBe(before + 1);
    const now = await t.deps.refresh.credentialsForUse(id);
    expect(now!.version).toBeGreaterThan(used!.version);
    // Reads after the token was revoked, all at once on different keys: one refresh between them.
    const grant = [...fake.grants.values()].at(-1)!;
    grant.accessToken = 'revoked-again';
    const zones = ['Pacific/Auckland', 'America/Chicago', 'Europe/Berlin', 'Asia/Kolkata'];
    const reads = await Promise.all(zones.map((z) => read('todays-meetings', `?timeZone=${encodeURIComponent(z)}`)));
    expect(reads.map((r) => r.statusCode)).toEqual([200, 200, 200, 200]);
    expect(fake.calls.refreshes).toBe(before + 2);
  });

  it('follows pagination to its bound and drops cancelled and free time from the load', async () => {
    fake.events.length = 0;
    for (let i = 0; i < 300; i++) fake.events.push({ id: `m${i}`, summary: `m${i}`, start: { dateTime: at(8) }, end: { dateTime: at(8, 30) } });
    fake.events.push({ id: 'free', summary: 'focus', transparency: 'transparent', start: { dateTime: at(10) }, end: { dateTime: at(12) } });
    const list = (await read('todays-meetings')).json();
    expect(list.data.items).toHaveLength(301);
    const load = (await read('meeting-load')).json();
    expect(load.data).toMatchObject({ value: 150, unit: 'h', delta: { value: 150 } });
  });

  it('answers an empty day as an empty list', async () => {
    fake.events.length = 0;
    expect((await read('todays-meetings')).json().data).toEqual({ items: [] });
  });

  it('purges the cache on disconnect: a reconnect never sees old values', async () => {
    await read('todays-meetings');
    await t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/${id}/disconnect`, headers: auth });
    const gone = await read('todays-meetings');
    expect(gone.statusCode).toBe(409);
    expect(gone.json().code).toBe('connection_inactive');
  });
});
