// A provider that keeps failing is left alone for a while: the circuit opens after five failed fetches.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOGLE_PATHS, startFakeGoogle, type FakeGoogle } from '../fakes/google.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';

let fake: FakeGoogle;
let t: TestApp;

beforeAll(async () => {
  fake = await startFakeGoogle();
  t = await buildTestApp(providerEnvFor('GOOGLE', fake, GOOGLE_PATHS));
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

describe('circuit breaker', () => {
  it('opens after five failed fetches and answers provider_unavailable without calling the provider', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'google-calendar' });
    const headers = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
    const read = (tz: string) => t.app.inject({ url: `/workspaces/${ws}/integrations/${integrationId}/widgets/todays-meetings/data?timeZone=${tz}`, headers });
    const zones = ['Europe/Paris', 'Europe/Berlin', 'Europe/Madrid', 'Europe/Rome', 'Europe/Vienna'];
    // Each fetch is tried three times before it counts as one failure.
    fake.api.failures.push(...Array.from({ length: zones.length * 3 }, () => ({ status: 503 })));
    for (const zone of zones) expect((await read(zone)).statusCode).toBe(502);
    expect(fake.api.failures).toHaveLength(0);
    const calls = fake.api.eventCalls;
    const apiCalls = fake.api.calls;
    const open = await read('Asia/Tokyo');
    expect(open.statusCode).toBe(502);
    expect(open.json().code).toBe('provider_unavailable');
    expect(fake.api.eventCalls).toBe(calls);
    expect(fake.api.calls).toBe(apiCalls);
  });
});
