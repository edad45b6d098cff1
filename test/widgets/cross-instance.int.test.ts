// Two hub instances on one database and one store: one provider call for concurrent cold reads on both, and a
// disconnect on one is seen at once by the other (its cached connection is dropped through the channel).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
