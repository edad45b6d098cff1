// Syncs: a durable job refreshes the connection's recently read widgets; one pending run per connection;
// status, counts and errors can be polled; scheduled syncs pick connections whose widgets are being read.
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Jobs travel through pg-boss polling; on a busy machine a run can take a while.
vi.setConfig({ testTimeout: 120_000 });
import { connections, syncRuns, widgetReads } from '../../src/db/schema.js';
import { registerJobHandlers } from '../../src/jobs/register.js';
import { GOOGLE_PATHS, startFakeGoogle, type FakeGoogle } from '../fakes/google.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { createScratchDatabase } from '../support/database.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';

let fake: FakeGoogle;
let t: TestApp;
// Job workers and the scheduled-sync scan act on every row they find: on PostgreSQL this file gets a database of
// its own, so it never takes (and misroutes) other files' connections or jobs.
let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;

beforeAll(async () => {
  fake = await startFakeGoogle();
  scratch = await createScratchDatabase('sync');
  t = await buildTestApp({ ...providerEnvFor('GOOGLE', fake, GOOGLE_PATHS), SYNC_INTERVAL_SECONDS: '60', ...(scratch ? { DATABASE_URL: scratch.url } : {}) });
  await t.app.ready();
  await t.deps.jobs.start();
  await registerJobHandlers(t.deps.jobs, t.deps);
});
afterAll(async () => {
  await t.close();
  await fake.close();
  await scratch?.drop();
});

async function connectedAndRead() {
  const ws = t.newWorkspace();
  const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'google-calendar' });
  const headers = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
  const res = await t.app.inject({ url: `/workspaces/${ws}/integrations/${integrationId}/widgets/todays-meetings/data?timeZone=Europe/Paris`, headers });
  expect(res.statusCode).toBe(200);
  // The read is recorded in the background.
  await vi.waitFor(async () => {
    const rows = await t.deps.database.db.select().from(widgetReads).where(eq(widgetReads.connectionId, integrationId));
    expect(rows).toHaveLength(1);
    // The query as the dashboard sent it (parsed again, defaults and all, when the sync refreshes it).
    expect(rows[0]!.params).toEqual({ timeZone: 'Europe/Paris' });
  });
  return { ws, integrationId, headers };
}

async function finished(ws: string, id: string, syncId: string, headers: Record<string, string>) {
  let body: Record<string, unknown> = {};
  await vi.waitFor(async () => {
    body = (await t.app.inject({ url: `/workspaces/${ws}/integrations/${id}/syncs/${syncId}`, headers })).json();
    expect(['succeeded', 'failed']).toContain(body.status);
  }, { timeout: 90_000, interval: 200 });
  return body;
}

describe('sync', () => {
  it('refreshes every recently read widget and records the outcome; a second request joins the pending run', async () => {
    const { ws, integrationId, headers } = await connectedAndRead();
    const calls = fake.api.eventCalls;
    const first = await t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/${integrationId}/sync`, headers });
    expect(first.statusCode).toBe(202);
    expect(first.json()).toMatchObject({ syncId: expect.stringMatching(/^sync_/), status: expect.stringMatching(/queued|running/) });
    const second = await t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/${integrationId}/sync`, headers });
    const { syncId } = first.json();
    if (second.json().status !== 'succeeded') expect(second.json().syncId).toBe(syncId);
    const done = await finished(ws, integrationId, syncId, headers);
    expect(done).toMatchObject({ status: 'succeeded', trigger: 'manual', widgetsTotal: 1, widgetsRefreshed: 1, widgetsFailed: 0, error: null });
    expect(done.startedAt).toEqual(expect.any(String));
    expect(fake.api.eventCalls).toBe(calls + 1);
    const connection = (await t.app.inject({ url: `/workspaces/${ws}/integrations/${integrationId}`, headers })).json().integration;
    expect(connection.lastSyncedAt).toEqual(expect.any(String));
    const runs = await t.deps.database.db.select().from(syncRuns).where(eq(syncRuns.connectionId, integrationId));
    expect(runs).toHaveLength(1);
  });

  it('reports failures with their error', async () => {
    const { ws, integrationId, headers } = await connectedAndRead();
    fake.api.failures.push(...Array.from({ length: 3 }, () => ({ status: 503 })));
    const { syncId } = (await t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/${integrationId}/sync`, headers })).json();
    const done = await finished(ws, integrationId, syncId, headers);
    expect(done).toMatchObject({ status: 'failed', widgetsTotal: 1, widgetsRefreshed: 0, widgetsFailed: 1, error: 'todays-meetings: provider_unavailable' });
    fake.api.failures.length = 0;
  });

  it('answers 404 for unknown syncs and for other workspaces', async () => {
    const { ws, integrationId, headers } = await connectedAndRead();
    expect((await t.app.inject({ url: `/workspaces/${ws}/integrations/${integrationId}/syncs/sync_nope`, headers })).json().code).toBe('sync_not_found');
    const other = t.newWorkspace();
    const otherHeaders = { authorization: `Bearer ${await t.token({ workspaces: [other] })}` };
    const res = await t.app.inject({ method: 'POST', url: `/workspaces/${other}/integrations/${integrationId}/sync`, headers: otherHeaders });
    expect(res.statusCode).toBe(404);
  });

  it('schedules syncs for connections whose widgets are read and that have not synced lately', async () => {
    const { integrationId } = await connectedAndRead();
    expect(await t.deps.sync.enqueueScheduled()).toBeGreaterThanOrEqual(1);
    const [run] = await t.deps.database.db.select().from(syncRuns).where(and(eq(syncRuns.connectionId, integrationId), eq(syncRuns.trigger, 'schedule')));
    expect(run).toBeDefined();
    await vi.waitFor(async () => {
      const [row] = await t.deps.database.db.select().from(connections).where(eq(connections.id, integrationId));
      expect(row!.lastSyncedAt).not.toBeNull();
    }, { timeout: 90_000, interval: 200 });
  });
});
