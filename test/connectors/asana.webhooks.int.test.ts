// Asana webhooks end to end against a fake Asana that runs them as Asana does: creating a webhook makes Asana
// POST an X-Hook-Secret handshake to the connection's own URL and fail the create unless it is echoed; deliveries
// are signed with X-Hook-Signature (hex HMAC-SHA256 of the raw body with that secret, computed by the fake);
// heartbeats carry no events; disconnecting deletes the webhooks.
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookSubscriptions } from '../../src/db/schema.js';
import { ASANA_PATHS, startFakeAsana, type FakeAsana } from '../fakes/asana.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';
import { deliver, inboxEvents, metricValue, openEventStream, processNow, readsRecorded } from '../support/webhooks.js';

const SLUG = 'asana';
/** The hub's public origin; the fake reaches the test hub behind it, as Asana reaches a hub behind TLS. */
const PUBLIC_URL = 'https://hub.example.test';
/** Granular scopes the webhooks need on top of the defaults. */
const WEBHOOK_SCOPES = ['webhooks:write', 'webhooks:delete'];

let fake: FakeAsana;
let t: TestApp;
let baseUrl: string;
let seq = 0;

beforeAll(async () => {
  fake = await startFakeAsana();
  t = await buildTestApp({ ...providerEnvFor('ASANA', fake, ASANA_PATHS), PUBLIC_URL, WEBHOOK_SUBSCRIPTIONS: 'true' });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  fake.forwardHub(PUBLIC_URL, baseUrl);
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

const newGid = () => String(8_000_000_000_000 + Date.now() * 10 + (seq++ % 10));

/** A connection (of a user in `workspaces` workspaces) with its webhooks made, as the webhooks.subscribe job leaves it. */
async function connected(workspaces = 1) {
  const ws = t.newWorkspace();
  const user = { gid: newGid(), workspaces: Array.from({ length: workspaces }, (_, i) => ({ gid: newGid(), name: `Workspace ${i}` })) };
  fake.nextUser(user);
  // No scopes asked for: with subscriptions on, the hub requests the webhook scopes itself.
  const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: SLUG });
  expect(await t.deps.webhookSubscriptions.subscribe(integrationId)).toBe(workspaces);
  const rows = await rowsOf(integrationId);
  return { ws, integrationId, user, rows, hooks: rows.map((r) => fake.webhooks.get(r.externalId!)!) };
}
// In creation order: an UPDATE moves a row in the heap, so an unordered SELECT has no stable order.
const rowsOf = (connectionId: string) => t.deps.database.db.select().from(webhookSubscriptions).where(eq(webhookSubscriptions.connectionId, connectionId)).orderBy(asc(webhookSubscriptions.createdAt));
const eventsOf = async (connectionId: string) => (await inboxEvents(t, SLUG)).filter((e) => e.connectionId === connectionId);
const taskEvent = (task: string, action = 'changed', extra: Record<string, unknown> = {}) => ({
  user: { gid: '1200000000000001', resource_type: 'user' },
  created_at: new Date().toISOString(),
  action,
  resource: { gid: task, resource_type: 'task', resource_subtype: 'default_task' },
  parent: null,
  ...(action === 'changed' ? { change: { field: 'completed', action: 'changed' } } : {}),
  ...extra,
});

describe('handshake', () => {
  it("echoes Asana's X-Hook-Secret while the hub creates a webhook on the user's My Tasks, one per workspace", async () => {
    const handshakesBefore = fake.handshakes.length;
    const { integrationId, user, rows, hooks } = await connected(2);
    const target = `${PUBLIC_URL}/webhooks/${SLUG}/${integrationId}`;
    // Asana POSTed the secret to the connection's URL and the hub answered 200 with the same header.
    const handshakes = fake.handshakes.slice(handshakesBefore);
    expect(handshakes).toHaveLength(2);
    for (const h of handshakes) expect(h).toMatchObject({ target, status: 200, echoed: h.secret });
    expect(hooks.map((h) => h.resource)).toEqual(user.workspaces.map((w) => ({ gid: fake.userTaskListOf(user.gid, w.gid), resource_type: 'user_task_list' })));
    for (const hook of hooks) {
      expect(hook.target).toBe(target);
      expect(hook.filters).toContainEqual({ resource_type: 'task', action: 'added' });
    }
    // The hub keeps Asana's secret for each webhook (sealed), and no expiry: Asana webhooks do not lapse.
    const secrets = await t.deps.webhookSubscriptions.secretsOfConnection(SLUG, integrationId);
    expect(secrets.map((s) => s.secret).sort()).toEqual(hooks.map((h) => h.secret).sort());
    for (const row of rows) {
      expect(row).toMatchObject({ status: 'active', expiresAt: null, nextRenewAt: null });
      expect(row.secret).not.toContain(fake.webhooks.get(row.externalId!)!.secret);
    }
    expect(await eventsOf(integrationId)).toEqual([]);
  });

  it('refuses an unsolicited handshake (401) and installs nothing', async () => {
    const { integrationId, hooks } = await connected();
    const before = await t.deps.webhookSubscriptions.secretsOfConnection(SLUG, integrationId);
    for (const path of [`/${integrationId}`, '/conn_01jzzzzzzzzzzzzzzzzzzzzzzz', '']) {
      const res = await deliver(t, SLUG, { path, body: '', headers: { 'x-hook-secret': 'attacker-chosen-secret' } });
      expect(res.statusCode, path).toBe(401);
      expect(res.headers['x-hook-secret']).toBeUndefined();
      expect(res.json()).toMatchObject({ code: 'webhook_signature_invalid' });
    }
    expect(await t.deps.webhookSubscriptions.secretsOfConnection(SLUG, integrationId)).toEqual(before);
    // A delivery signed with the attacker's secret is still refused.
    const body = JSON.stringify({ events: [taskEvent('1')] });
    const forged = { 'content-type': 'application/json', 'x-hook-signature': createHmac('sha256', 'attacker-chosen-secret').update(body).digest('hex') };
    expect((await deliver(t, SLUG, { path: `/${integrationId}`, body, headers: forged })).statusCode).toBe(401);
    expect(hooks).toHaveLength(1);
  });

  it('makes no webhook for a connection whose user did not grant the webhook scopes', async () => {
    fake.nextUser({ gid: newGid(), workspaces: [{ gid: newGid(), name: 'Acme' }] });
    fake.withholdScopesNext(WEBHOOK_SCOPES);
    const { integrationId } = await connectViaOAuth(t, { workspaceId: t.newWorkspace(), slug: SLUG });
    const created = fake.webhooks.size;
    expect(await t.deps.webhookSubscriptions.subscribe(integrationId)).toBe(0);
    expect(fake.webhooks.size).toBe(created);
    expect(await rowsOf(integrationId)).toEqual([]);
  });

  it('keeps nothing when Asana cannot complete the handshake (the target does not answer)', async () => {
    const ws = t.newWorkspace();
    fake.nextUser({ gid: newGid(), workspaces: [{ gid: newGid(), name: 'Acme' }] });
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: SLUG, scopes: WEBHOOK_SCOPES });
    fake.forwardHub(PUBLIC_URL, 'http://127.0.0.1:9');
    try {
      await expect(t.deps.webhookSubscriptions.subscribe(integrationId)).rejects.toThrow();
    } finally {
      fake.forwardHub(PUBLIC_URL, baseUrl);
    }
    expect(await rowsOf(integrationId)).toEqual([]);
    expect([...fake.webhooks.values()].filter((h) => h.target.endsWith(integrationId))).toEqual([]);
  });
});

describe('webhook lifecycle', () => {
  it('replaces a webhook when asked to renew it (Asana has no renewal): the new one first, then the old deleted', async () => {
    const { integrationId, rows, hooks } = await connected();
    await t.deps.webhookSubscriptions.renew(rows[0]!);
    const after = await rowsOf(integrationId);
    expect(after).toHaveLength(1);
    expect(after[0]!.externalId).not.toBe(hooks[0]!.gid);
    expect(fake.webhooks.has(hooks[0]!.gid)).toBe(false);
    const replacement = fake.webhooks.get(after[0]!.externalId!)!;
    expect(replacement.resource).toEqual(hooks[0]!.resource);
    // Only the new webhook's secret verifies now.
    expect(await fake.deliver(replacement.gid, [taskEvent('42')])).toBe(200);
    const stale = { ...hooks[0]! };
    fake.webhooks.set(stale.gid, stale);
    try {
      expect(await fake.deliver(stale.gid, [taskEvent('43')])).toBe(401);
    } finally {
      fake.webhooks.delete(stale.gid);
    }
  });

  it('deletes the webhooks at Asana when the connection is disconnected', async () => {
    const { ws, integrationId, hooks } = await connected(2);
    const res = await t.app.inject({
      method: 'POST',
      url: `/workspaces/${ws}/integrations/${integrationId}/disconnect`,
      headers: { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` },
    });
    expect(res.statusCode).toBe(200);
    for (const hook of hooks) expect(fake.webhooks.has(hook.gid)).toBe(false);
    expect(await rowsOf(integrationId)).toEqual([]);
  });
});

describe('deliveries', () => {
  it('stores each event of a signed delivery, routed to the connection its URL names', async () => {
    const { integrationId, hooks } = await connected();
    expect(await fake.deliver(hooks[0]!.gid, [taskEvent('101'), taskEvent('102', 'added', { parent: { gid: '555', resource_type: 'project' } })])).toBe(200);
    const events = await eventsOf(integrationId);
    expect(events.map((e) => e.eventType).sort()).toEqual(['task.added', 'task.changed']);
    for (const e of events) expect(e).toMatchObject({ connectionId: integrationId, routingKeys: [], status: 'received' });
    expect(events[0]!.headers).not.toHaveProperty('x-hook-signature');
    expect(await processNow(t, SLUG, events[0]!.deliveryId)).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId] });
  });

  it('verifies against whichever of the connection’s webhooks signed it', async () => {
    const { integrationId, hooks } = await connected(2);
    expect(await fake.deliver(hooks[1]!.gid, [taskEvent('201')])).toBe(200);
    expect(await eventsOf(integrationId)).toHaveLength(1);
  });

  it('acknowledges a heartbeat (no events) and stores nothing', async () => {
    const { integrationId, hooks } = await connected();
    const before = await metricValue(t, 'hub_webhook_deliveries_total', { connector: SLUG, outcome: 'handshake' });
    expect(await fake.deliver(hooks[0]!.gid, [])).toBe(200);
    expect(await eventsOf(integrationId)).toEqual([]);
    expect(await metricValue(t, 'hub_webhook_deliveries_total', { connector: SLUG, outcome: 'handshake' })).toBe(before + 1);
  });

  it('refuses a tampered body, a wrong secret, a missing signature and another connection’s URL with 401, storing nothing', async () => {
    const { integrationId, hooks } = await connected();
    const other = await connected();
    const genuine = fake.signedDelivery(hooks[0]!.gid, [taskEvent('301')]);
    const cases: Record<string, { path: string; body: string; headers: Record<string, string>; reason: string }> = {
      tampered: { path: `/${integrationId}`, ...genuine, body: genuine.body.replace('301', '302'), reason: 'bad_signature' },
      wrongSecret: { path: `/${integrationId}`, ...fake.signedDelivery(other.hooks[0]!.gid, [taskEvent('301')]), reason: 'bad_signature' },
      missing: { path: `/${integrationId}`, body: genuine.body, headers: { 'content-type': 'application/json' }, reason: 'missing_signature' },
      otherConnection: { path: `/${other.integrationId}`, ...genuine, reason: 'bad_signature' },
      noConnection: { path: '', ...genuine, reason: 'unknown_subscription' },
      unknownConnection: { path: '/conn_01jxxxxxxxxxxxxxxxxxxxxxxx', ...genuine, reason: 'unknown_subscription' },
    };
    for (const [name, { reason, ...d }] of Object.entries(cases)) {
      const before = await metricValue(t, 'hub_webhook_rejections_total', { connector: SLUG, reason });
      const res = await deliver(t, SLUG, d);
      expect(res.statusCode, name).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ code: 'webhook_signature_invalid', status: 401 });
      expect(await metricValue(t, 'hub_webhook_rejections_total', { connector: SLUG, reason }), name).toBe(before + 1);
    }
    expect(await eventsOf(integrationId)).toEqual([]);
    expect(await eventsOf(other.integrationId)).toEqual([]);
  });

  it('acknowledges a redelivery without storing it again', async () => {
    const { integrationId, hooks } = await connected();
    const delivery = fake.signedDelivery(hooks[0]!.gid, [taskEvent('401')]);
    const duplicatesBefore = await metricValue(t, 'hub_webhook_deliveries_total', { connector: SLUG, outcome: 'duplicate' });
    expect(await fake.postToHub(hooks[0]!.target, delivery)).toBe(200);
    expect(await fake.postToHub(hooks[0]!.target, delivery)).toBe(200);
    expect(await eventsOf(integrationId)).toHaveLength(1);
    expect(await metricValue(t, 'hub_webhook_deliveries_total', { connector: SLUG, outcome: 'duplicate' })).toBe(duplicatesBefore + 1);
  });

  it('refreshes the overdue tasks an event changes and announces it live', async () => {
    const { ws, integrationId, user, hooks } = await connected();
    const token = await t.token({ workspaces: [ws] });
    const read = () => t.app.inject({ url: `/workspaces/${ws}/integrations/${integrationId}/widgets/overdue-tasks/data`, headers: { authorization: `Bearer ${token}` } });
    expect((await read()).json().data.items).toEqual([]);
    // The read is recorded for syncs and webhooks a moment later (never on the read's own path).
    await readsRecorded(t);
    const stream = await openEventStream(baseUrl, ws, token);
    const task = newGid();
    try {
      fake.tasks.push({ gid: task, name: 'Sign the lease', due_on: '2020-01-02', assigneeGid: user.gid, workspaceGid: user.workspaces[0]!.gid });
      const callsBefore = fake.api.tasksCalls;
      expect(await fake.deliver(hooks[0]!.gid, [taskEvent(task, 'added', { parent: { gid: hooks[0]!.resource.gid, resource_type: 'user_task_list' } })])).toBe(200);
      const [event] = await eventsOf(integrationId);
      expect(await processNow(t, SLUG, event!.deliveryId)).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId], error: null });
      expect(fake.api.tasksCalls).toBe(callsBefore + 1);
      const live = await stream.next((e) => e.event === 'widget.updated');
      expect(JSON.parse(live.data!)).toMatchObject({ integrationId, slug: SLUG, widgetId: 'overdue-tasks' });
      const after = await read();
      expect(after.json()).toMatchObject({ source: 'cache', stale: false });
      expect(after.json().data.items.map((i: { id: string }) => i.id)).toEqual([task]);
    } finally {
      await stream.close();
      fake.tasks.splice(fake.tasks.findIndex((x) => x.gid === task), 1);
    }
  });
});
