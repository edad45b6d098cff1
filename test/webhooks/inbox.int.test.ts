// The webhook inbox beyond one connector: a failing event is retried with backoff, marked failed once its
// attempts are spent, listed and inspected by an operator and replayed; live events resume with Last-Event-ID,
// send heartbeats, and fan out across instances.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { sign } from '@octokit/webhooks-methods';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookEvents } from '../../src/db/schema.js';
import { GITHUB_PATHS, startFakeGitHub, type FakeGitHub } from '../fakes/github.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';
import { deliver, eventually, inboxEvents, metricValue, openEventStream, processNow, readsRecorded } from '../support/webhooks.js';

const SECRET = 'inbox-test-secret';
// Unique per run: a database kept between local runs still holds earlier runs' connections.
const INSTALLATION = 7_000_000 + Math.floor(Math.random() * 1_000_000);
const REPO = 'acme/inbox';

let fake: FakeGitHub;
let t: TestApp;
let baseUrl: string;

beforeAll(async () => {
  fake = await startFakeGitHub({ installations: [INSTALLATION] });
  t = await buildTestApp({ ...providerEnvFor('GITHUB', fake, GITHUB_PATHS), GITHUB_WEBHOOK_SECRET: SECRET, WEBHOOK_MAX_ATTEMPTS: '2', EVENTS_HEARTBEAT_SECONDS: '1' });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

async function pullRequestEvent(installation = INSTALLATION) {
  const body = JSON.stringify({ action: 'synchronize', number: 3, repository: { id: 1, owner: { id: 1, type: 'Organization' } }, installation: { id: installation } });
  const delivery = randomUUID();
  const res = await deliver(t, 'github', {
    body,
    headers: { 'content-type': 'application/json', 'x-github-event': 'pull_request', 'x-github-delivery': delivery, 'x-hub-signature-256': await sign(SECRET, body) },
  });
  expect(res.statusCode).toBe(200);
  return delivery;
}

/** Makes a retried event due now instead of after its backoff. */
const dueNow = (delivery: string) =>
  t.deps.database.db.update(webhookEvents).set({ nextAttemptAt: sql`now()` }).where(eq(webhookEvents.deliveryId, delivery));

describe('retries, failure and replay', () => {
  it('retries a transient failure with backoff, fails after the last attempt, and an operator can replay it', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'github' });
    fake.repos.set(REPO, { pulls: [], runs: [] });
    const headers = { authorization: `Bearer ${await t.token({ workspaces: [ws] })}` };
    expect((await t.app.inject({ url: `/workspaces/${ws}/integrations/${integrationId}/widgets/open-pull-requests/data?repo=${REPO}`, headers })).statusCode).toBe(200);
    await readsRecorded(t);

    // GitHub is down for a while: every call of the refresh (and its retries) answers 502.
    for (let i = 0; i < 12; i++) fake.api.failures.push({ status: 502 });
    const delivery = await pullRequestEvent();
    const first = await processNow(t, 'github', delivery);
    expect(first).toMatchObject({ status: 'received', attempts: 1, error: expect.stringMatching(/^provider_unavailable/) });
    expect(first.nextAttemptAt.getTime()).toBeGreaterThan(Date.now() + 500);
    // Not due yet: nobody takes it before its backoff.
    expect(await t.deps.webhookProcessor.processOne(first.id)).toBe(false);

    await dueNow(delivery);
    const failed = await processNow(t, 'github', delivery);
    expect(failed).toMatchObject({ status: 'failed', attempts: 2, error: expect.stringMatching(/^provider_unavailable/) });
    expect(await metricValue(t, 'hub_webhook_events_total', { connector: 'github', status: 'failed' })).toBeGreaterThanOrEqual(1);

    const admin = { authorization: `Bearer ${await t.token({ admin: true })}` };
    const listed = await t.app.inject({ url: '/admin/webhook-events?status=failed&connector=github&limit=200', headers: admin });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().events).toContainEqual(expect.objectContaining({ id: failed.id, status: 'failed', attempts: 2, deliveryId: delivery }));
    const shown = await t.app.inject({ url: `/admin/webhook-events/${failed.id}`, headers: admin });
    expect(shown.json().event).toMatchObject({ id: failed.id, eventType: 'pull_request.synchronize', payload: { number: 3 }, headers: { 'x-github-delivery': delivery } });
    expect(shown.json().event.headers).not.toHaveProperty('x-hub-signature-256');

    // GitHub is back; the replay starts over with fresh attempts.
    fake.api.failures.length = 0;
    const replayed = await t.app.inject({ method: 'POST', url: `/admin/webhook-events/${failed.id}/replay`, headers: admin });
    expect(replayed.statusCode).toBe(202);
    expect(replayed.json().event).toMatchObject({ id: failed.id, status: 'received', attempts: 0, error: null });
    const done = await processNow(t, 'github', delivery);
    expect(done).toMatchObject({ status: 'processed', attempts: 1, error: null, matchedConnectionIds: [integrationId] });
  });

  it('answers 404 for an unknown event and 400 for a malformed id', async () => {
    const admin = { authorization: `Bearer ${await t.token({ admin: true })}` };
    const unknown = await t.app.inject({ method: 'POST', url: '/admin/webhook-events/whe_01jzzzzzzzzzzzzzzzzzzzzzzz/replay', headers: admin });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('webhook_event_not_found');
    const malformed = await t.app.inject({ url: '/admin/webhook-events/nope', headers: admin });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().code).toBe('validation_failed');
  });

  it('a worker that dies holding an event leaves it to be taken again when its lease runs out', async () => {
    const delivery = await pullRequestEvent(31337);
    const [stored] = await inboxEvents(t, 'github', delivery);
    // Claimed (attempt counted, hidden for the lease) and then the worker is gone.
    await t.deps.database.db.update(webhookEvents).set({ attempts: 1, nextAttemptAt: sql`now() + interval '1 hour'` }).where(eq(webhookEvents.id, stored!.id));
    expect(await t.deps.webhookProcessor.processOne(stored!.id)).toBe(false);
    await dueNow(delivery); // the lease ran out
    expect(await processNow(t, 'github', delivery)).toMatchObject({ status: 'unmatched', attempts: 2 });
  });
});

describe('live events', () => {
  const widgetEvent = (n: number) => ({ type: 'widget.updated' as const, data: { integrationId: 'conn_x', slug: 'github', widgetId: 'open-pull-requests', params: { n } } });

  it('resumes after Last-Event-ID, in order, then continues live', async () => {
    const ws = t.newWorkspace();
    const token = await t.token({ workspaces: [ws] });
    const first = await openEventStream(baseUrl, ws, token);
    await t.deps.liveEvents.publish(ws, widgetEvent(1));
    const seen = await first.next((e) => JSON.parse(e.data!).params.n === 1);
    await first.close();

    await t.deps.liveEvents.publish(ws, widgetEvent(2));
    await t.deps.liveEvents.publish(ws, widgetEvent(3));
    const resumed = await openEventStream(baseUrl, ws, token, seen.id);
    try {
      await t.deps.liveEvents.publish(ws, widgetEvent(4));
      await resumed.next((e) => JSON.parse(e.data!).params.n === 4);
      expect(resumed.events.map((e) => JSON.parse(e.data!).params.n)).toEqual([2, 3, 4]);
      expect(resumed.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    } finally {
      await resumed.close();
    }
  });

  it('asks a client that resumes from too far back to resync, and sends heartbeats', async () => {
    const ws = t.newWorkspace();
    const stream = await openEventStream(baseUrl, ws, await t.token({ workspaces: [ws] }), '1-0');
    try {
      const resync = await stream.next((e) => e.event === 'resync');
      expect(resync.id).toBeUndefined();
      await eventually(async () => stream.comments.includes('heartbeat'), 10_000, 'a heartbeat');
    } finally {
      await stream.close();
    }
  });

  it('delivers an event published by another instance', async () => {
    const second = await buildTestApp({}, { secondInstanceOf: t });
    try {
      const ws = t.newWorkspace();
      const stream = await openEventStream(baseUrl, ws, await t.token({ workspaces: [ws] }));
      try {
        await second.deps.liveEvents.publish(ws, widgetEvent(7));
        const got = await stream.next((e) => e.event === 'widget.updated');
        expect(JSON.parse(got.data!)).toEqual(widgetEvent(7).data);
      } finally {
        await stream.close();
      }
    } finally {
      await second.close();
    }
  });

  it('keeps workspaces apart', async () => {
    const mine = t.newWorkspace();
    const theirs = t.newWorkspace();
    const stream = await openEventStream(baseUrl, mine, await t.token({ workspaces: [mine] }));
    try {
      await t.deps.liveEvents.publish(theirs, widgetEvent(8));
      await t.deps.liveEvents.publish(mine, widgetEvent(9));
      await stream.next((e) => JSON.parse(e.data!).params.n === 9);
      expect(stream.events.map((e) => JSON.parse(e.data!).params.n)).toEqual([9]);
    } finally {
      await stream.close();
    }
  });
});
