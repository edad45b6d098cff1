// Two hub instances on one database and one store: one provider call for concurrent cold reads on both, a
// forced refresh (?refresh=true) at most once per key per window across both, and a disconnect on one is seen at
// once by the other (its cached connection is dropped through the channel).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KV_TTL_MS, widgetForcedRefresh } from '../../src/lib/kv-keys.js';
import { hashParams } from '../../src/modules/widgets/widget-cache.js';
import { GOOGLE_PATHS, startFakeGoogle, type FakeGoogle } from '../fakes/google.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';

let fake: FakeGoogle;
let a: TestApp;
let b: TestApp;

beforeAll(async () => {
  fake = await startFakeGoogle();
  a = await buildTestApp(providerEnvFor('GOOGLE', fake, GOOGLE_PATHS));
  b = await buildTestApp({}, { secondInstanceOf: a });
  await Promise.all([a.app.ready(), b.app.ready()]);
});
afterAll(async () => {
  await b.close();
  await a.close();
  await fake.close();
});

describe('two instances', () => {
  it('make one provider call for 60 concurrent cold reads spread over both', async () => {
    const ws = a.newWorkspace();
    const { integrationId } = await connectViaOAuth(a, { workspaceId: ws, slug: 'google-calendar' });
    const headers = { authorization: `Bearer ${await a.token({ workspaces: [ws] })}` };
    fake.api.delayMs = 200;
    const before = fake.api.eventCalls;
    const url = `/workspaces/${ws}/integrations/${integrationId}/widgets/todays-meetings/data?timeZone=America/New_York`;
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? b : a).app.inject({ url, headers })));
    fake.api.delayMs = 0;
    expect(answers.map((r) => r.statusCode)).toEqual(Array(60).fill(200));
    expect(fake.api.eventCalls - before).toBe(1);
    expect(new Set(answers.map((r) => r.json().fetchedAt)).size).toBe(1);
  });

  it('force at most one provider fetch per key per window between them: a second ?refresh=true is answered from the cache', async () => {
    const ws = a.newWorkspace();
    const { integrationId } = await connectViaOAuth(a, { workspaceId: ws, slug: 'google-calendar' });
    const headers = { authorization: `Bearer ${await a.token({ workspaces: [ws] })}` };
    const url = `/workspaces/${ws}/integrations/${integrationId}/widgets/todays-meetings/data`;
    const cold = await a.app.inject({ url, headers });
    expect(cold.json().source).toBe('provider');
    const calls = fake.api.eventCalls;

    const forced = await b.app.inject({ url: `${url}?refresh=true`, headers });
    expect(forced.statusCode).toBe(200);
    expect(forced.json()).toMatchObject({ source: 'provider', stale: false });
    expect(fake.api.eventCalls).toBe(calls + 1);
    // The window is held in the shared store, for KV_TTL_MS.widgetForcedRefresh (10 s) at most.
    const window = await a.deps.kv.ttl(widgetForcedRefresh(integrationId, 'todays-meetings', hashParams({ calendarId: 'primary', timeZone: 'UTC' })));
    expect(window).toBeGreaterThan(0);
    expect(window).toBeLessThanOrEqual(KV_TTL_MS.widgetForcedRefresh);

    // Within the window, forcing again on either instance is served the value the forced fetch stored.
    for (const instance of [a, b]) {
      const again = await instance.app.inject({ url: `${url}?refresh=true`, headers });
      expect(again.statusCode).toBe(200);
      expect(again.json()).toMatchObject({ source: 'cache', stale: false, fetchedAt: forced.json().fetchedAt });
    }
    expect(fake.api.eventCalls).toBe(calls + 1);

    // The window is per key: other params may be forced at once.
    expect((await a.app.inject({ url: `${url}?refresh=true&timeZone=Asia/Tokyo`, headers })).json().source).toBe('provider');
    expect(fake.api.eventCalls).toBe(calls + 2);
  });

  it('see a disconnect made on the other at once', async () => {
    const ws = a.newWorkspace();
    const { integrationId } = await connectViaOAuth(a, { workspaceId: ws, slug: 'google-calendar' });
    const headers = { authorization: `Bearer ${await a.token({ workspaces: [ws] })}` };
    const url = `/workspaces/${ws}/integrations/${integrationId}/widgets/todays-meetings/data`;
    expect((await b.app.inject({ url, headers })).statusCode).toBe(200); // b now holds the connection in its cache
    expect((await a.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/${integrationId}/disconnect`, headers })).statusCode).toBe(200);
    // The announcement travels through the store's pub/sub; give it a moment, well under the cache's TTL.
    let status = 0;
    for (let i = 0; i < 20 && status !== 409; i++) {
      await new Promise((r) => setTimeout(r, 25));
      status = (await b.app.inject({ url, headers })).statusCode;
    }
    expect(status).toBe(409);
  });
});
