// Microsoft Graph change notifications end to end against a fake Graph that behaves as Graph does: creating a
// subscription makes Graph validate the hub's URLs (validationToken echo, text/plain, within 10 s) before it
// answers; notifications carry the subscription's clientState, which the hub checks item by item; lifecycle
// notifications renew or recreate the subscription; disconnecting deletes it at Graph.
import type { AddressInfo } from 'node:net';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookSubscriptions } from '../../src/db/schema.js';
import { MICROSOFT_PATHS, startFakeMicrosoft, type FakeMicrosoft } from '../fakes/microsoft.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';
import { deliver, inboxEvents, metricValue, openEventStream, processNow, readsRecorded } from '../support/webhooks.js';

const SLUG = 'microsoft-teams';
/** The hub's public origin; the fake reaches the test hub behind it, as Graph reaches a hub behind TLS. */
const PUBLIC_URL = 'https://hub.example.test';
const MAX_MINUTES = 4230;

let fake: FakeMicrosoft;
let t: TestApp;
let baseUrl: string;

beforeAll(async () => {
  fake = await startFakeMicrosoft();
  t = await buildTestApp({
    ...providerEnvFor('MICROSOFT', fake, { api: MICROSOFT_PATHS.api }),
    MICROSOFT_AUTHORIZE_URL: `${fake.url}/{tenant}/oauth2/v2.0/authorize`,
    MICROSOFT_TOKEN_URL: `${fake.url}/{tenant}/oauth2/v2.0/token`,
    MICROSOFT_TENANT: 'organizations',
    PUBLIC_URL,
    WEBHOOK_SUBSCRIPTIONS: 'true',
  });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  fake.forwardHub(PUBLIC_URL, baseUrl);
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

/** A connection with its Graph subscription made, as the webhooks.subscribe job does after connect. */
async function connected() {
  const ws = t.newWorkspace();
  const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: SLUG });
  expect(await t.deps.webhookSubscriptions.subscribe(integrationId)).toBe(1);
  const [row] = await rowsOf(integrationId);
  return { ws, integrationId, row: row!, graph: fake.subscriptions.get(row!.externalId!)! };
}
const rowsOf = (connectionId: string) => t.deps.database.db.select().from(webhookSubscriptions).where(eq(webhookSubscriptions.connectionId, connectionId)).orderBy(asc(webhookSubscriptions.createdAt));
const eventsOf = async (connectionId: string) => (await inboxEvents(t, SLUG)).filter((e) => e.connectionId === connectionId);
/** Reads today's meetings once (an empty calendar), so the hub knows the widget is on a dashboard. */
async function readMeetings(ws: string, integrationId: string) {
  const token = await t.token({ workspaces: [ws] });
  const read = () => t.app.inject({ url: `/workspaces/${ws}/integrations/${integrationId}/widgets/todays-meetings/data`, headers: { authorization: `Bearer ${token}` } });
  fake.events.length = 0;
  expect((await read()).json().data.items).toEqual([]);
  // The read is recorded for syncs and webhooks a moment later (never on the read's own path).
  await readsRecorded(t);
  return { token, read };
}
const graphNotification = (items: unknown[]) => ({ body: JSON.stringify({ value: items }), headers: { 'content-type': 'application/json; charset=utf-8' } });

describe('validation handshake', () => {
  it('echoes the URL-decoded validationToken as text/plain with 200, and stores nothing', async () => {
    const before = (await inboxEvents(t, SLUG)).length;
    const token = 'Validation: Testing client application reachability for subscription Request-Id: 3b3f9821-ce3f-4ac9-8b5e-cb6e8f8a6d4c';
    const res = await deliver(t, SLUG, { path: `?validationToken=${encodeURIComponent(token).replace(/%20/g, '+')}`, body: '', headers: { 'content-type': 'text/plain; charset=utf-8' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain\b/);
    expect(res.body).toBe(token);
    expect((await inboxEvents(t, SLUG)).length).toBe(before);
  });

  it('refuses an empty validationToken', async () => {
    const res = await deliver(t, SLUG, { path: '?validationToken=', body: '', headers: { 'content-type': 'text/plain' } });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'webhook_signature_invalid' });
  });
});

describe('subscriptions', () => {
  it('creates /me/events with the secret as clientState, after Graph validated both URLs against the hub', async () => {
    const validationsBefore = fake.validations.length;
    const { integrationId, row, graph } = await connected();
    expect(graph).toMatchObject({
      resource: '/me/events',
      changeType: 'created,updated,deleted',
      notificationUrl: `${PUBLIC_URL}/webhooks/${SLUG}`,
      lifecycleNotificationUrl: `${PUBLIC_URL}/webhooks/${SLUG}`,
    });
    // Graph checked the notification URL and the lifecycle URL, and the hub echoed each token as Graph requires.
    const validations = fake.validations.slice(validationsBefore);
    expect(validations).toHaveLength(2);
    for (const v of validations) expect(v).toMatchObject({ status: 200, contentType: expect.stringMatching(/^text\/plain/), body: v.token });
    // The clientState is the subscription's own random secret, kept sealed by the hub.
    const secret = (await t.deps.webhookSubscriptions.secretOfExternal(SLUG, graph.id))!;
    expect(secret).toMatchObject({ connectionId: integrationId, subscriptionId: row.id });
    expect(graph.clientState).toBe(secret.secret);
    expect(graph.clientState!.length).toBeLessThanOrEqual(128);
    expect(row.secret).not.toContain(secret.secret);
    expect(row).toMatchObject({ status: 'active', resource: '/me/events', externalId: graph.id });
    // As long as Graph allows, but never past its cap.
    const lifetimeMinutes = (row.expiresAt!.getTime() - Date.now()) / 60_000;
    expect(lifetimeMinutes).toBeGreaterThan(MAX_MINUTES - 60);
    expect(lifetimeMinutes).toBeLessThanOrEqual(MAX_MINUTES);
    expect(row.expiresAt!.getTime()).toBe(Date.parse(graph.expirationDateTime));
    expect(row.nextRenewAt!.getTime()).toBeLessThan(row.expiresAt!.getTime());
  });

  it('renews with PATCH /subscriptions/{id}, keeping the subscription (validated again if Graph asks)', async () => {
    const { row, graph } = await connected();
    // The renewal is due: as the renewal scan would see it once next_renew_at has passed.
    const earlier = new Date(Date.now() - 3_600_000);
    graph.expirationDateTime = earlier.toISOString();
    fake.validateOnRenew = true;
    try {
      const renewalsBefore = fake.subscriptionCalls.renewals;
      const validationsBefore = fake.validations.length;
      await t.deps.webhookSubscriptions.renew({ ...row, expiresAt: earlier });
      expect(fake.subscriptionCalls.renewals).toBe(renewalsBefore + 1);
      expect(fake.validations.slice(validationsBefore)).toEqual([expect.objectContaining({ status: 200, url: `${PUBLIC_URL}/webhooks/${SLUG}` })]);
    } finally {
      fake.validateOnRenew = false;
    }
    const [after] = await rowsOf(row.connectionId);
    expect(after).toMatchObject({ id: row.id, externalId: graph.id, status: 'active', failures: 0, lastError: null });
    expect(after!.expiresAt!.getTime()).toBe(Date.parse(graph.expirationDateTime));
    expect(after!.expiresAt!.getTime()).toBeGreaterThan(Date.now() + (MAX_MINUTES - 60) * 60_000);
  });

  it('the renewal scan takes a subscription once its renewal time has passed, and leaves others', async () => {
    const due = await connected();
    const notDue = await connected();
    await t.deps.database.db.update(webhookSubscriptions).set({ nextRenewAt: new Date(Date.now() - 1000) }).where(eq(webhookSubscriptions.id, due.row.id));
    const renewalsBefore = fake.subscriptionCalls.renewals;
    expect(await t.deps.subscriptionScheduler.scanOnce()).toBeGreaterThanOrEqual(1);
    expect(fake.subscriptionCalls.renewals).toBeGreaterThanOrEqual(renewalsBefore + 1);
    const [renewed] = await rowsOf(due.row.connectionId);
    expect(renewed).toMatchObject({ id: due.row.id, status: 'active', failures: 0 });
    expect(renewed!.nextRenewAt!.getTime()).toBeGreaterThan(Date.now() + 3_600_000);
    const [untouched] = await rowsOf(notDue.row.connectionId);
    expect(untouched!.nextRenewAt!.getTime()).toBe(notDue.row.nextRenewAt!.getTime());
  });

  it('keeps nothing when Graph cannot validate the notification URL (the hub is unreachable)', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: SLUG });
    fake.forwardHub(PUBLIC_URL, 'http://127.0.0.1:9');
    try {
      await expect(t.deps.webhookSubscriptions.subscribe(integrationId)).rejects.toThrow();
    } finally {
      fake.forwardHub(PUBLIC_URL, baseUrl);
    }
    expect(await rowsOf(integrationId)).toEqual([]);
    expect([...fake.subscriptions.values()].filter((s) => s.notificationUrl.includes(integrationId))).toEqual([]);
  });

  it('deletes the subscription at Graph when the connection is disconnected', async () => {
    const { ws, integrationId, graph } = await connected();
    const res = await t.app.inject({
      method: 'POST',
      url: `/workspaces/${ws}/integrations/${integrationId}/disconnect`,
      headers: { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` },
    });
    expect(res.statusCode).toBe(200);
    expect(fake.subscriptions.has(graph.id)).toBe(false);
    expect(await rowsOf(integrationId)).toEqual([]);
  });
});

describe('notifications', () => {
  it("stores Graph's notification (202), without its clientState, and routes it to the subscription's connection", async () => {
    const { integrationId, graph } = await connected();
    const sent = await fake.notify(graph.id, { changeType: 'updated', eventId: 'AAMkAGI2-evt-1' });
    expect(sent.status).toBe(202);
    const [event] = await eventsOf(integrationId);
    expect(event).toMatchObject({ eventType: 'updated', connectionId: integrationId, routingKeys: [], status: 'received' });
    expect(event!.payload).toMatchObject({ subscriptionId: graph.id, changeType: 'updated', resourceData: { id: 'AAMkAGI2-evt-1' } });
    expect(JSON.stringify(event!.payload)).not.toContain(graph.clientState!);
    expect(await processNow(t, SLUG, event!.deliveryId)).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId] });
  });

  it('stores one event per valid item of a batch and drops the items that do not verify', async () => {
    const a = await connected();
    const b = await connected();
    const good1 = fake.notificationItem(a.graph.id, { changeType: 'created', eventId: 'evt-a' });
    const good2 = fake.notificationItem(b.graph.id, { changeType: 'deleted', eventId: 'evt-b' });
    const forged = { ...fake.notificationItem(a.graph.id, { changeType: 'updated', eventId: 'evt-x' }), clientState: b.graph.clientState };
    const stranger = { ...good1, subscriptionId: '7f105c7d-2dc5-4530-97cd-4e7ae6534c07' };
    const rejected = (reason: string) => metricValue(t, 'hub_webhook_rejections_total', { connector: SLUG, reason });
    const [badBefore, unknownBefore] = [await rejected('bad_signature'), await rejected('unknown_subscription')];
    const res = await fake.postToHub(`${PUBLIC_URL}/webhooks/${SLUG}`, { value: [good1, forged, stranger, good2] });
    expect(res.status).toBe(202);
    // The dropped items are counted, each under its reason.
    expect(await rejected('bad_signature')).toBe(badBefore + 1);
    expect(await rejected('unknown_subscription')).toBe(unknownBefore + 1);
    expect((await eventsOf(a.integrationId)).map((e) => e.eventType)).toEqual(['created']);
    expect((await eventsOf(b.integrationId)).map((e) => e.eventType)).toEqual(['deleted']);
  });

  it('refuses a wrong or missing clientState and an unknown subscription with 401, storing nothing', async () => {
    const { integrationId, graph } = await connected();
    const other = await connected();
    const item = fake.notificationItem(graph.id, { changeType: 'updated', eventId: 'evt-1' });
    const cases = {
      bad_signature: [{ ...item, clientState: other.graph.clientState }],
      missing_signature: [{ ...item, clientState: undefined }],
      unknown_subscription: [{ ...item, subscriptionId: '0b2d4f6a-1111-4222-8333-944455556666' }],
    } as const;
    for (const [reason, items] of Object.entries(cases)) {
      const before = await metricValue(t, 'hub_webhook_rejections_total', { connector: SLUG, reason });
      const res = await deliver(t, SLUG, graphNotification([...items]));
      expect(res.statusCode, reason).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ code: 'webhook_signature_invalid', status: 401 });
      expect(await metricValue(t, 'hub_webhook_rejections_total', { connector: SLUG, reason })).toBe(before + 1);
    }
    const malformed = await deliver(t, SLUG, { body: 'not json', headers: { 'content-type': 'application/json' } });
    expect(malformed.statusCode).toBe(401);
    expect(await eventsOf(integrationId)).toEqual([]);
    expect(await eventsOf(other.integrationId)).toEqual([]);
  });

  it('acknowledges a redelivered notification without storing it again', async () => {
    const { integrationId, graph } = await connected();
    const item = fake.notificationItem(graph.id, { changeType: 'updated', eventId: 'evt-r', etag: 'W/"DwAAABYAAAAQ"' });
    const duplicatesBefore = await metricValue(t, 'hub_webhook_deliveries_total', { connector: SLUG, outcome: 'duplicate' });
    expect((await deliver(t, SLUG, graphNotification([item]))).statusCode).toBe(202);
    expect((await deliver(t, SLUG, graphNotification([item]))).statusCode).toBe(202);
    expect(await eventsOf(integrationId)).toHaveLength(1);
    expect(await metricValue(t, 'hub_webhook_deliveries_total', { connector: SLUG, outcome: 'duplicate' })).toBe(duplicatesBefore + 1);
    // A later version of the same event is a new change.
    expect((await deliver(t, SLUG, graphNotification([{ ...item, resourceData: { ...(item.resourceData as object), '@odata.etag': 'W/"DwAAABYAAAAR"' } }]))).statusCode).toBe(202);
    expect(await eventsOf(integrationId)).toHaveLength(2);
  });

  it("refreshes today's meetings the event changes and announces it live", async () => {
    const { ws, integrationId, graph } = await connected();
    const { token, read } = await readMeetings(ws, integrationId);
    const stream = await openEventStream(baseUrl, ws, token);
    try {
      fake.events.push({ id: 'evt-live', subject: 'Board sync', start: new Date(Date.now() - 60_000).toISOString(), end: new Date(Date.now() + 30 * 60_000).toISOString() });
      const callsBefore = fake.api.calendarCalls;
      await fake.notify(graph.id, { changeType: 'created', eventId: 'evt-live' });
      const [event] = await eventsOf(integrationId);
      expect(await processNow(t, SLUG, event!.deliveryId)).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId], error: null });
      expect(fake.api.calendarCalls).toBe(callsBefore + 1);
      const live = await stream.next((e) => e.event === 'widget.updated');
      expect(JSON.parse(live.data!)).toMatchObject({ integrationId, slug: SLUG, widgetId: 'todays-meetings' });
      const after = await read();
      expect(after.json()).toMatchObject({ source: 'cache', stale: false });
      expect(after.json().data.items.map((i: { id: string }) => i.id)).toEqual(['evt-live']);
    } finally {
      await stream.close();
      fake.events.length = 0;
    }
  });
});

describe('lifecycle notifications', () => {
  it('reauthorizationRequired renews the subscription at Graph', async () => {
    const { integrationId, row, graph } = await connected();
    graph.expirationDateTime = new Date(Date.now() + 3_600_000).toISOString();
    const renewalsBefore = fake.subscriptionCalls.renewals;
    expect((await fake.notifyLifecycle(graph.id, 'reauthorizationRequired')).status).toBe(202);
    const [event] = await eventsOf(integrationId);
    expect(event).toMatchObject({ eventType: 'lifecycle:reauthorizationRequired', connectionId: integrationId });
    expect(await processNow(t, SLUG, event!.deliveryId)).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId] });
    expect(fake.subscriptionCalls.renewals).toBe(renewalsBefore + 1);
    const [after] = await rowsOf(integrationId);
    expect(after!.id).toBe(row.id);
    expect(after!.expiresAt!.getTime()).toBeGreaterThan(Date.now() + (MAX_MINUTES - 60) * 60_000);
  });

  it('subscriptionRemoved makes a new subscription (validated again) in place of the removed one', async () => {
    const { integrationId, row, graph } = await connected();
    expect((await fake.notifyLifecycle(graph.id, 'subscriptionRemoved')).status).toBe(202);
    // Graph has removed it on its side.
    fake.subscriptions.delete(graph.id);
    const [event] = await eventsOf(integrationId);
    expect(await processNow(t, SLUG, event!.deliveryId)).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId] });
    const rows = await rowsOf(integrationId);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id).not.toBe(row.id);
    expect(rows[0]).toMatchObject({ status: 'active', resource: '/me/events' });
    expect(fake.subscriptions.get(rows[0]!.externalId!)).toMatchObject({ resource: '/me/events', notificationUrl: `${PUBLIC_URL}/webhooks/${SLUG}` });
  });

  it('missed re-reads the calendar widgets', async () => {
    const { ws, integrationId, graph } = await connected();
    await readMeetings(ws, integrationId);
    expect((await fake.notifyLifecycle(graph.id, 'missed')).status).toBe(202);
    const [event] = await eventsOf(integrationId);
    expect(event).toMatchObject({ eventType: 'lifecycle:missed', connectionId: integrationId });
    const callsBefore = fake.api.calendarCalls;
    expect(await processNow(t, SLUG, event!.deliveryId)).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId] });
    expect(fake.api.calendarCalls).toBe(callsBefore + 1);
  });
});
