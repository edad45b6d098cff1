// Google Calendar push notifications end to end against a fake Calendar that runs channels as Google does: the
// hub watches the primary calendar with its secret as the channel token, Google opens the channel with a `sync`
// message (acknowledged, not stored) and then notifies with X-Goog-* headers and an empty body; the token is
// checked against the channel's secret; channels are replaced (new one, old stopped) and stopped on disconnect.
import type { AddressInfo } from 'node:net';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookSubscriptions } from '../../src/db/schema.js';
import { GOOGLE_PATHS, startFakeGoogle, type FakeGoogle } from '../fakes/google.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';
import { deliver, inboxEvents, metricValue, openEventStream, processNow, readsRecorded } from '../support/webhooks.js';

const SLUG = 'google-calendar';
/** The hub's public origin; the fake reaches the test hub behind it, as Google reaches a hub behind TLS. */
const PUBLIC_URL = 'https://hub.example.test';
const EMAIL = 'ceo@example.com';
const DAY_MS = 86_400_000;

let fake: FakeGoogle;
let t: TestApp;
let baseUrl: string;

beforeAll(async () => {
  fake = await startFakeGoogle({ email: EMAIL });
  t = await buildTestApp({ ...providerEnvFor('GOOGLE', fake, GOOGLE_PATHS), PUBLIC_URL, WEBHOOK_SUBSCRIPTIONS: 'true' });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  fake.forwardHub(PUBLIC_URL, baseUrl);
});
afterAll(async () => {
  await fake.settled();
  await t.close();
  await fake.close();
});

/** A connection with its channel open, as the webhooks.subscribe job leaves it after connect. */
async function connected() {
  const ws = t.newWorkspace();
  const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: SLUG });
  expect(await t.deps.webhookSubscriptions.subscribe(integrationId)).toBe(1);
  await fake.settled();
  const [row] = await rowsOf(integrationId);
  return { ws, integrationId, row: row!, channel: fake.channels.get(row!.externalId!)! };
}
const rowsOf = (connectionId: string) => t.deps.database.db.select().from(webhookSubscriptions).where(eq(webhookSubscriptions.connectionId, connectionId)).orderBy(asc(webhookSubscriptions.createdAt));
const eventsOf = async (connectionId: string) => (await inboxEvents(t, SLUG)).filter((e) => e.connectionId === connectionId);
const hubUrl = `${PUBLIC_URL}/webhooks/${SLUG}`;
/** Google's notification headers, as a direct delivery (inject). */
const delivery = (headers: Record<string, string>) => ({ body: '', headers });

describe('channels', () => {
  it("watches the primary calendar's events with the secret as token, and acknowledges Google's sync without storing it", async () => {
    const { integrationId, row, channel } = await connected();
    expect(channel).toMatchObject({ id: row.id, calendarId: EMAIL, address: hubUrl, stopped: false });
    // Seven days asked for, both ways Google documents it.
    expect(channel.requested).toEqual({ expiration: expect.any(Number), params: { ttl: String(7 * 24 * 3600) } });
    // The channel token is the subscription's own random secret, kept sealed by the hub.
    const secret = (await t.deps.webhookSubscriptions.secretOfExternal(SLUG, channel.id))!;
    expect(secret.connectionId).toBe(integrationId);
    expect(channel.token).toBe(secret.secret);
    expect(row.secret).not.toContain(secret.secret);
    expect(row).toMatchObject({ status: 'active', resource: EMAIL, externalId: row.id, metadata: { resourceId: channel.resourceId } });
    // The answered expiration is the one kept (seven days here), renewed ahead of it.
    expect(row.expiresAt!.getTime()).toBe(channel.expiration);
    expect(channel.expiration).toBeGreaterThan(Date.now() + 7 * DAY_MS - 3_600_000);
    expect(row.nextRenewAt!.getTime()).toBeLessThan(row.expiresAt!.getTime());
    expect(channel.replies).toEqual([{ state: 'sync', status: 200 }]);
    expect(await eventsOf(integrationId)).toEqual([]);
  });

  it('keeps the shorter lifetime Google answers (the one-hour variant) and renews within it', async () => {
    const lifetime = { ...fake.channelLifetime };
    Object.assign(fake.channelLifetime, { defaultSeconds: 3600, maxSeconds: 3600 });
    try {
      const { row, channel } = await connected();
      expect(channel.expiration).toBeLessThanOrEqual(Date.now() + 3_600_000);
      expect(row.expiresAt!.getTime()).toBe(channel.expiration);
      // Half the lifetime ahead, not past the expiry.
      expect(row.nextRenewAt!.getTime()).toBeLessThanOrEqual(channel.expiration - 29 * 60_000);
      expect(row.nextRenewAt!.getTime()).toBeGreaterThan(Date.now());
    } finally {
      Object.assign(fake.channelLifetime, lifetime);
    }
  });

  it('replaces a channel on renewal: a new channel first, then the old one stopped', async () => {
    const { integrationId, row, channel } = await connected();
    await t.deps.webhookSubscriptions.renew(row);
    await fake.settled();
    const rows = await rowsOf(integrationId);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id).not.toBe(row.id);
    const replacement = fake.channels.get(rows[0]!.externalId!)!;
    expect(replacement).toMatchObject({ calendarId: EMAIL, address: hubUrl, stopped: false });
    expect(replacement.token).not.toBe(channel.token);
    expect(channel.stopped).toBe(true);
    // The new channel delivers; the old one's token no longer verifies anything.
    expect(await fake.notify(replacement.id)).toBe(200);
    const stale = fake.nextMessage(replacement.id, 'exists');
    expect((await deliver(t, SLUG, delivery({ ...stale, 'x-goog-channel-id': channel.id, 'x-goog-channel-token': channel.token! }))).statusCode).toBe(401);
  });

  it('stops the channel at Google when the connection is disconnected', async () => {
    const { ws, integrationId, channel } = await connected();
    const res = await t.app.inject({
      method: 'POST',
      url: `/workspaces/${ws}/integrations/${integrationId}/disconnect`,
      headers: { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` },
    });
    expect(res.statusCode).toBe(200);
    expect(channel.stopped).toBe(true);
    expect(await rowsOf(integrationId)).toEqual([]);
  });
});

describe('notifications', () => {
  it("stores a notification carrying the channel's token and routes it to the channel's connection", async () => {
    const { integrationId, channel } = await connected();
    expect(await fake.notify(channel.id, 'exists')).toBe(200);
    const [event] = await eventsOf(integrationId);
    expect(event).toMatchObject({ eventType: 'exists', connectionId: integrationId, routingKeys: [], deliveryId: `${channel.id}:2` });
    expect(event!.payload).toMatchObject({ channelId: channel.id, resourceState: 'exists', messageNumber: 2, resourceId: channel.resourceId });
    expect(event!.headers).not.toHaveProperty('x-goog-channel-token');
    expect(JSON.stringify(event)).not.toContain(channel.token!);
    expect(await processNow(t, SLUG, event!.deliveryId)).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId] });
  });

  it('refuses a wrong or missing token and an unknown channel with 401, storing nothing', async () => {
    const { integrationId, channel } = await connected();
    const other = await connected();
    const cases: Record<string, Record<string, string>> = {
      bad_signature: { ...fake.nextMessage(channel.id, 'exists'), 'x-goog-channel-token': other.channel.token! },
      missing_signature: Object.fromEntries(Object.entries(fake.nextMessage(channel.id, 'exists')).filter(([k]) => k !== 'x-goog-channel-token')),
      unknown_subscription: { ...fake.nextMessage(channel.id, 'exists'), 'x-goog-channel-id': 'whs_01jzzzzzzzzzzzzzzzzzzzzzzz' },
    };
    for (const [reason, headers] of Object.entries(cases)) {
      const before = await metricValue(t, 'hub_webhook_rejections_total', { connector: SLUG, reason });
      const res = await deliver(t, SLUG, delivery(headers));
      expect(res.statusCode, reason).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ code: 'webhook_signature_invalid', status: 401 });
      expect(await metricValue(t, 'hub_webhook_rejections_total', { connector: SLUG, reason })).toBe(before + 1);
    }
    // A known channel's sync with another channel's token is refused as well.
    expect((await deliver(t, SLUG, delivery({ ...fake.nextMessage(channel.id, 'sync'), 'x-goog-channel-token': other.channel.token! }))).statusCode).toBe(401);
    expect((await deliver(t, SLUG, delivery({}))).statusCode).toBe(401);
    expect(await eventsOf(integrationId)).toEqual([]);
  });

  it("acknowledges a sync for a channel the hub has not activated yet (Google's race), storing nothing", async () => {
    const before = (await inboxEvents(t, SLUG)).length;
    const res = await deliver(t, SLUG, delivery({ 'x-goog-channel-id': 'whs_01jyyyyyyyyyyyyyyyyyyyyyyy', 'x-goog-channel-token': 'whatever', 'x-goog-resource-state': 'sync', 'x-goog-message-number': '1' }));
    expect(res.statusCode).toBe(200);
    expect((await inboxEvents(t, SLUG)).length).toBe(before);
  });

  it('acknowledges a redelivered message (same channel and message number) without storing it again', async () => {
    const { integrationId, channel } = await connected();
    const message = fake.nextMessage(channel.id, 'not_exists');
    const duplicatesBefore = await metricValue(t, 'hub_webhook_deliveries_total', { connector: SLUG, outcome: 'duplicate' });
    expect(await fake.postToHub(hubUrl, message)).toBe(200);
    expect(await fake.postToHub(hubUrl, message)).toBe(200);
    expect(await eventsOf(integrationId)).toHaveLength(1);
    expect(await metricValue(t, 'hub_webhook_deliveries_total', { connector: SLUG, outcome: 'duplicate' })).toBe(duplicatesBefore + 1);
  });

  it("refreshes today's meetings and announces it live", async () => {
    const { ws, integrationId, channel } = await connected();
    const token = await t.token({ workspaces: [ws] });
    const read = () => t.app.inject({ url: `/workspaces/${ws}/integrations/${integrationId}/widgets/todays-meetings/data`, headers: { authorization: `Bearer ${token}` } });
    fake.events.length = 0;
    expect((await read()).json().data.items).toEqual([]);
    // The read is recorded for syncs and webhooks a moment later (never on the read's own path).
    await readsRecorded(t);
    const stream = await openEventStream(baseUrl, ws, token);
    try {
      fake.events.push({ id: 'evt-live', summary: 'Board sync', status: 'confirmed', start: { dateTime: new Date(Date.now() - 60_000).toISOString() }, end: { dateTime: new Date(Date.now() + 30 * 60_000).toISOString() } });
      const callsBefore = fake.api.eventCalls;
      expect(await fake.notify(channel.id, 'exists')).toBe(200);
      const [event] = await eventsOf(integrationId);
      expect(await processNow(t, SLUG, event!.deliveryId)).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId], error: null });
      expect(fake.api.eventCalls).toBe(callsBefore + 1);
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
