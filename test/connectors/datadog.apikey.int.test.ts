// Datadog end to end against a fake Datadog site: API key + application key checked before they are stored,
// refusals and bad fields answered 400 with nothing stored, keys sealed, disconnect without a provider call.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connections } from '../../src/db/schema.js';
import { startFakeDatadog, type FakeDatadog } from '../fakes/datadog.js';
import { buildTestApp, type TestApp } from '../support/app.js';

const API_KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const APP_KEY = 'ddapp_0123456789abcdef0123456789abcdef01234567';

let fake: FakeDatadog;
let t: TestApp;

beforeAll(async () => {
  fake = await startFakeDatadog({ apiKey: API_KEY, appKey: APP_KEY });
  // DATADOG_API_URL wins over https://api.{site}: every site's calls reach the fake.
  t = await buildTestApp({ DATADOG_API_URL: fake.url });
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
beforeEach(() => Object.assign(fake.keys, { apiKey: API_KEY, appKey: APP_KEY }));

const rowsIn = (ws: string) => t.deps.database.db.select().from(connections).where(eq(connections.workspaceId, ws));

async function connect(ws: string, credentials: Record<string, string>) {
  return t.app.inject({
    method: 'POST',
    url: `/workspaces/${ws}/integrations/datadog/connect`,
    headers: { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` },
    payload: { credentials },
  });
}

describe('Datadog API-key connect', () => {
  it('checks both keys, answers 201 with the account, and keeps the keys only sealed', async () => {
    const ws = t.newWorkspace();
    const seen = fake.requests.length;
    const res = await connect(ws, { apiKey: API_KEY, appKey: APP_KEY, site: 'datadoghq.eu' });
    expect(res.statusCode).toBe(201);
    const integration = res.json().integration;
    expect(integration).toMatchObject({ slug: 'datadog', status: 'active', account: { id: 'datadoghq.eu', name: 'Datadog (datadoghq.eu)' }, scopes: [], expiresAt: null });
    expect(res.body).not.toContain(API_KEY);
    expect(res.body).not.toContain(APP_KEY);
    // The API key alone to /api/v1/validate, both to /api/v2/validate_keys.
    expect(fake.requests.slice(seen)).toEqual([
      { path: '/api/v1/validate', apiKey: API_KEY, appKey: undefined },
      { path: '/api/v2/validate_keys', apiKey: API_KEY, appKey: APP_KEY },
    ]);
    const [row] = await rowsIn(ws);
    expect(row).toMatchObject({ id: integration.id, externalAccountId: 'datadoghq.eu', metadata: { site: 'datadoghq.eu' }, nextRefreshAt: null });
    expect(row!.credentials).not.toContain(API_KEY);
    expect(t.deps.sealer.open(row!.id, row!.credentials!)).toEqual({ type: 'apiKey', fields: { apiKey: API_KEY, appKey: APP_KEY, site: 'datadoghq.eu' } });
    expect(t.logs.text()).not.toContain(API_KEY);
    expect(t.logs.text()).not.toContain(APP_KEY);
  });

  it('connecting again on the same site with rotated keys updates the connection in place', async () => {
    const ws = t.newWorkspace();
    const first = (await connect(ws, { apiKey: API_KEY, appKey: APP_KEY, site: 'us5.datadoghq.com' })).json().integration;
    Object.assign(fake.keys, { apiKey: 'f'.repeat(32), appKey: 'e'.repeat(40) });
    const second = await connect(ws, { apiKey: 'f'.repeat(32), appKey: 'e'.repeat(40), site: 'us5.datadoghq.com' });
    expect(second.statusCode).toBe(201);
    expect(second.json().integration.id).toBe(first.id);
    const rows = await rowsIn(ws);
    expect(rows).toHaveLength(1);
    expect(t.deps.sealer.open(rows[0]!.id, rows[0]!.credentials!)).toMatchObject({ fields: { apiKey: 'f'.repeat(32), appKey: 'e'.repeat(40) } });
  });

  it.each([
    ['API key', { apiKey: 'wrong'.padEnd(32, '0'), appKey: APP_KEY }],
    ['application key', { apiKey: API_KEY, appKey: 'wrong'.padEnd(40, '0') }],
  ])('a rejected %s is 400 invalid_credentials, and nothing is stored', async (_name, keys) => {
    const ws = t.newWorkspace();
    const res = await connect(ws, { ...keys, site: 'datadoghq.com' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'invalid_credentials' });
    expect(res.body).not.toContain(keys.apiKey);
    expect(await rowsIn(ws)).toEqual([]);
  });

  it.each([
    ['an unknown site', { apiKey: API_KEY, appKey: APP_KEY, site: 'evil.example.com' }, 'body.credentials.site'],
    ['a missing application key', { apiKey: API_KEY, site: 'datadoghq.com' }, 'body.credentials.appKey'],
    ['an unknown field', { apiKey: API_KEY, appKey: APP_KEY, site: 'datadoghq.com', region: 'eu' }, 'body.credentials.region'],
  ])('%s is 400 before Datadog is called, and nothing is stored', async (_name, credentials, path) => {
    const ws = t.newWorkspace();
    const seen = fake.requests.length;
    const res = await connect(ws, credentials);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'validation_failed' });
    expect(res.json().errors).toEqual([expect.objectContaining({ path })]);
    expect(fake.requests.length).toBe(seen);
    expect(await rowsIn(ws)).toEqual([]);
  });

  it('Datadog unavailable is provider_unavailable (try again), not invalid_credentials, and nothing is stored', async () => {
    const ws = t.newWorkspace();
    fake.failNext(503);
    const res = await connect(ws, { apiKey: API_KEY, appKey: APP_KEY, site: 'datadoghq.com' });
    expect(res.statusCode).toBe(502);
    expect(res.json()).toMatchObject({ code: 'provider_unavailable' });
    expect(await rowsIn(ws)).toEqual([]);
  });

  it('disconnects without calling Datadog, forgets the keys, and has nothing to refresh', async () => {
    const ws = t.newWorkspace();
    const { id } = (await connect(ws, { apiKey: API_KEY, appKey: APP_KEY, site: 'ap1.datadoghq.com' })).json().integration;
    expect(await t.deps.refresh.refresh(id, { force: true })).toBe('not_refreshable');
    const seen = fake.requests.length;
    const res = await t.app.inject({
      method: 'POST',
      url: `/workspaces/${ws}/integrations/${id}/disconnect`,
      headers: { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().integration).toMatchObject({ status: 'disconnected', lastError: null });
    expect(fake.requests.length).toBe(seen);
    expect((await rowsIn(ws))[0]).toMatchObject({ credentials: null, status: 'disconnected' });
  });
});
