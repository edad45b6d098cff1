// GitHub webhooks end to end: deliveries signed by GitHub's own library (@octokit/webhooks-methods) are stored
// once and processed; tampered bodies, wrong secrets and missing headers are refused and counted; `ping` is
// acknowledged without storing; events route by installation to the connection, refresh the widgets they change
// and announce them live; an uninstalled App disconnects the connection.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { sign } from '@octokit/webhooks-methods';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents, connections } from '../../src/db/schema.js';
import { GITHUB_PATHS, startFakeGitHub, type FakeGitHub } from '../fakes/github.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';
import { deliver, inboxEvents, metricValue, openEventStream, processNow, readsRecorded } from '../support/webhooks.js';

const SECRET = 'It\'s a Secret to Everybody';
// Unique per run: a database kept between local runs still holds earlier runs' connections.
const INSTALLATION = 4_000_000 + Math.floor(Math.random() * 1_000_000);
const REPO = 'acme/platform';

let fake: FakeGitHub;
let t: TestApp;
let baseUrl: string;

beforeAll(async () => {
  fake = await startFakeGitHub({ installations: [INSTALLATION] });
  t = await buildTestApp({ ...providerEnvFor('GITHUB', fake, GITHUB_PATHS), GITHUB_WEBHOOK_SECRET: SECRET });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
beforeEach(() => {
  fake.repos.clear();
  fake.repos.set(REPO, { pulls: [], runs: [] });
});

/** A delivery as GitHub sends it: JSON body, event and delivery headers, the HMAC from GitHub's library. */
async function signed(event: string, payload: unknown, options: { secret?: string; delivery?: string } = {}) {
  const body = JSON.stringify(payload);
  return {
    body,
    deliveryId: options.delivery ?? randomUUID(),
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': options.delivery ?? randomUUID(),
      'x-github-hook-id': '292430182',
      'x-hub-signature-256': await sign(options.secret ?? SECRET, body),
      'user-agent': 'GitHub-Hookshot/044aadd',
    },
  };
}

async function post(event: string, payload: unknown, options: { secret?: string; delivery?: string } = {}) {
  const delivery = options.delivery ?? randomUUID();
  const d = await signed(event, payload, { ...options, delivery });
  return { res: await deliver(t, 'github', d), delivery, body: d.body, headers: d.headers };
}

const pullRequestOpened = (installation = INSTALLATION) => ({
  action: 'opened',
  number: 12,
  pull_request: { id: 1000012, number: 12, title: 'Add SSO', state: 'open' },
  repository: { id: 1296269, full_name: REPO, owner: { id: 9919, login: 'acme', type: 'Organization' } },
  organization: { id: 9919, login: 'acme' },
  installation: { id: installation, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==' },
  sender: { id: 583231, login: 'octocat', type: 'User' },
});

describe('verification', () => {
  it('stores a genuinely signed delivery once, without its signature, and answers 200', async () => {
    const { res, delivery } = await post('pull_request', pullRequestOpened(987));
    expect(res.statusCode).toBe(200);
    const [event] = await inboxEvents(t, 'github', delivery);
    expect(event).toMatchObject({ eventType: 'pull_request.opened', status: 'received', routingKeys: ['installation:987', 'org:9919'] });
    expect(event!.headers).toMatchObject({ 'x-github-event': 'pull_request', 'x-github-delivery': delivery });
    expect(event!.headers).not.toHaveProperty('x-hub-signature-256');
    expect(event!.payload).toMatchObject({ action: 'opened', number: 12 });
  });

  it('acknowledges a redelivery (same X-GitHub-Delivery) without storing or processing it again', async () => {
    const first = await post('pull_request', pullRequestOpened(987));
    const again = await post('pull_request', pullRequestOpened(987), { delivery: first.delivery });
    expect(again.res.statusCode).toBe(200);
    expect(await inboxEvents(t, 'github', first.delivery)).toHaveLength(1);
    expect(await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'github', outcome: 'duplicate' })).toBeGreaterThanOrEqual(1);
  });

  it('refuses a tampered body, a wrong secret, a missing or malformed signature, and a missing event header', async () => {
    const before = await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'github', outcome: 'rejected' });
    const genuine = await signed('pull_request', pullRequestOpened());
    const cases = {
      tampered: { ...genuine, body: genuine.body.replace('Add SSO', 'Add S5O') },
      wrongSecret: await signed('pull_request', pullRequestOpened(), { secret: 'not the secret' }),
      noSignature: { ...genuine, headers: { ...genuine.headers, 'x-hub-signature-256': '' } },
      sha1Only: { ...genuine, headers: { ...genuine.headers, 'x-hub-signature-256': '', 'x-hub-signature': 'sha1=0000' } },
      garbage: { ...genuine, headers: { ...genuine.headers, 'x-hub-signature-256': 'sha256=zz' } },
      noEvent: { ...genuine, headers: Object.fromEntries(Object.entries(genuine.headers).filter(([k]) => k !== 'x-github-event')) },
    };
    for (const [name, d] of Object.entries(cases)) {
      const res = await deliver(t, 'github', d);
      expect(res.statusCode, name).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ code: 'webhook_signature_invalid', status: 401 });
      expect(await inboxEvents(t, 'github', d.headers['x-github-delivery'])).toEqual([]);
    }
    expect(await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'github', outcome: 'rejected' })).toBe(before + 6);
    expect(await metricValue(t, 'hub_webhook_rejections_total', { connector: 'github', reason: 'bad_signature' })).toBeGreaterThanOrEqual(3);
    expect(await metricValue(t, 'hub_webhook_rejections_total', { connector: 'github', reason: 'missing_signature' })).toBeGreaterThanOrEqual(2);
  });

  it('accepts a form-encoded delivery (payload=…) verified over the raw form body', async () => {
    const form = new URLSearchParams({ payload: JSON.stringify(pullRequestOpened(555)) }).toString();
    const delivery = randomUUID();
    const res = await deliver(t, 'github', {
      body: form,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-github-event': 'pull_request', 'x-github-delivery': delivery, 'x-hub-signature-256': await sign(SECRET, form) },
    });
    expect(res.statusCode).toBe(200);
    expect((await inboxEvents(t, 'github', delivery))[0]).toMatchObject({ eventType: 'pull_request.opened', routingKeys: ['installation:555', 'org:9919'] });
  });

  it('verifies a body sent without a Content-Type instead of refusing its media type', async () => {
    const d = await signed('pull_request', pullRequestOpened(556));
    const res = await deliver(t, 'github', { body: d.body, headers: { ...d.headers, 'content-type': '' } });
    expect(res.statusCode).toBe(200);
    expect(await inboxEvents(t, 'github', d.headers['x-github-delivery'])).toHaveLength(1);
  });

  it('answers ping with 200 and stores nothing', async () => {
    const { res, delivery } = await post('ping', { zen: 'Keep it logically awesome.', hook_id: 292430182, hook: { type: 'App' } });
    expect(res.statusCode).toBe(200);
    expect(await inboxEvents(t, 'github', delivery)).toEqual([]);
  });

  it('answers 503 webhook_not_configured, storing nothing, when GITHUB_WEBHOOK_SECRET is not set', async () => {
    const bare = await buildTestApp(providerEnvFor('GITHUB', fake, GITHUB_PATHS));
    try {
      const d = await signed('pull_request', pullRequestOpened());
      const res = await deliver(bare, 'github', d);
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'webhook_not_configured' });
      expect(await inboxEvents(bare, 'github', d.headers['x-github-delivery'])).toEqual([]);
    } finally {
      await bare.close();
    }
  });

  it('answers 404 for a connector it does not know', async () => {
    const res = await deliver(t, 'myspace', { body: '{}', headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'integration_not_found' });
  });
});

describe('processing', () => {
  it('routes by installation, refreshes the widget the event changes, and announces it live', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'github' });
    const token = await t.token({ workspaces: [ws] });
    const read = await t.app.inject({ url: `/workspaces/${ws}/integrations/${integrationId}/widgets/open-pull-requests/data?repo=${REPO}`, headers: { authorization: `Bearer ${token}` } });
    expect(read.statusCode).toBe(200);
    expect(read.json().data.items).toEqual([]);
    // The read is recorded for syncs and webhooks a moment later (never on the read's own path).
    await readsRecorded(t);

    const stream = await openEventStream(baseUrl, ws, token);
    try {
      fake.repos.get(REPO)!.pulls.push({ number: 12, title: 'Add SSO', user: 'octocat', createdAt: new Date().toISOString() });
      const callsBefore = fake.api.routeCalls.pulls;
      const { delivery } = await post('pull_request', pullRequestOpened());
      const event = await processNow(t, 'github', delivery);
      expect(event).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId], attempts: 1, error: null });
      expect(fake.api.routeCalls.pulls).toBe(callsBefore + 1);

      const live = await stream.next((e) => e.event === 'widget.updated');
      expect(JSON.parse(live.data!)).toEqual({ integrationId, slug: 'github', widgetId: 'open-pull-requests', params: { repo: REPO } });
      expect(live.id).toMatch(/^\d+-\d+$/);
      const after = await t.app.inject({ url: `/workspaces/${ws}/integrations/${integrationId}/widgets/open-pull-requests/data?repo=${REPO}`, headers: { authorization: `Bearer ${token}` } });
      expect(after.json()).toMatchObject({ source: 'cache', stale: false });
      expect(after.json().data.items).toHaveLength(1);
    } finally {
      await stream.close();
    }
  });

  it('keeps an event no connection matches as unmatched', async () => {
    const { delivery } = await post('pull_request', pullRequestOpened(31337));
    expect(await processNow(t, 'github', delivery)).toMatchObject({ status: 'unmatched', matchedConnectionIds: [] });
  });

  it('disconnects the connection when the App is uninstalled, with an audit event and a live update', async () => {
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'github' });
    const stream = await openEventStream(baseUrl, ws, await t.token({ workspaces: [ws] }));
    try {
      const { delivery } = await post('installation', { action: 'deleted', installation: { id: INSTALLATION, account: { id: 9919, login: 'acme' } }, sender: { id: 583231 } });
      expect(await processNow(t, 'github', delivery)).toMatchObject({ status: 'processed', matchedConnectionIds: expect.arrayContaining([integrationId]) });
      const [row] = await t.deps.database.db.select().from(connections).where(eq(connections.id, integrationId));
      expect(row).toMatchObject({ status: 'disconnected', credentials: null, dataKey: null, lastError: 'provider: installation.deleted' });
      const audit = await t.deps.database.db.select().from(auditEvents).where(eq(auditEvents.connectionId, integrationId));
      expect(audit.map((a) => [a.action, a.actor])).toContainEqual(['disconnected', 'provider:github']);
      const live = await stream.next((e) => e.event === 'connection.updated');
      expect(JSON.parse(live.data!)).toEqual({ integrationId, slug: 'github', status: 'disconnected' });
    } finally {
      await stream.close();
    }
  });
});
