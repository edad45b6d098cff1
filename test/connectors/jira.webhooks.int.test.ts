// Jira webhooks end to end: app webhooks (a bearer JWT signed with the OAuth client secret, as the fake Atlassian
// signs them) and admin webhooks (X-Hub-Signature, computed here from the documented algorithm) are stored once and
// processed; tampered bodies, wrong secrets, expired tokens and missing headers are refused and counted; events route
// by the site of their `self` links, app webhooks also by matchedWebhookIds; the hub registers, refreshes and deletes
// each connection's app webhook at the fake.
import { createHmac, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connector } from '../../src/connectors/jira/index.js';
import { connections, webhookSubscriptions } from '../../src/db/schema.js';
import { JIRA_PATHS, startFakeJira, type AtlassianSite, type FakeJira } from '../fakes/jira.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';
import { deliver, inboxEvents, metricValue, openEventStream, processNow, readsRecorded } from '../support/webhooks.js';

const ADMIN_SECRET = 'jira-admin-webhook-secret';
const PUBLIC_URL = 'https://hub.example.test';
const DAY = 86_400_000;

let fake: FakeJira;
let t: TestApp;
let baseUrl: string;

beforeAll(async () => {
  fake = await startFakeJira();
  t = await buildTestApp({ ...providerEnvFor('JIRA', fake, JIRA_PATHS), JIRA_WEBHOOK_SECRET: ADMIN_SECRET, WEBHOOK_SUBSCRIPTIONS: 'true', PUBLIC_URL });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
beforeEach(() => {
  fake.data.projects.splice(0, fake.data.projects.length, 'ACME');
  fake.data.issues.length = 0;
  fake.data.boards.clear();
});

/** A Jira site of this test alone: test files and runs share the database's connections and their site keys. */
function newSite(): AtlassianSite {
  const name = `acme-${randomUUID().slice(0, 12)}`;
  return { id: randomUUID(), url: `https://${name}.atlassian.net`, name, scopes: ['read:jira-work', 'read:jira-user'], avatarUrl: 'https://example.com/a.png' };
}
const hostOf = (site: AtlassianSite) => new URL(site.url).host;
const WITH_WEBHOOKS = [...connector.auth.type === 'oauth2' ? connector.auth.scopes.default : [], 'manage:jira-webhook'];

async function rowsOfConnection(id: string) {
  const [row] = await t.deps.database.db.select().from(connections).where(eq(connections.id, id));
  return row!;
}

async function connect(site: AtlassianSite, scopes?: string[]) {
  fake.setSites([site]);
  const ws = t.newWorkspace();
  const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'jira', ...(scopes ? { scopes } : {}) });
  return { ws, integrationId, token: await t.token({ workspaces: [ws] }) };
}

const issueUpdated = (site: AtlassianSite, key = 'ACME-1') => ({
  timestamp: Date.now(),
  webhookEvent: 'jira:issue_updated',
  issue_event_type_name: 'issue_generic',
  user: { self: `${site.url}/rest/api/2/user?accountId=5b10ac8d82e05b22cc7d4ef5`, accountId: '5b10ac8d82e05b22cc7d4ef5', displayName: 'Ada' },
  issue: { id: '10001', self: `${site.url}/rest/api/2/issue/10001`, key, fields: { priority: { name: 'High', id: '2' }, status: { name: 'In Progress' } } },
  changelog: { id: '10100', items: [{ field: 'priority', fromString: 'Medium', toString: 'High' }] },
});

const sprintStarted = (site: AtlassianSite, sprintId: number, boardId: number) => ({
  timestamp: Date.now(),
  webhookEvent: 'sprint_started',
  sprint: { id: sprintId, self: `${site.url}/rest/agile/1.0/sprint/${sprintId}`, state: 'active', name: 'Sprint 2', originBoardId: boardId },
});

/** An admin webhook's delivery: `X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)>`, written from the docs. */
function adminDelivery(payload: unknown, o: { secret?: string; identifier?: string; retry?: number; method?: 'sha256' | 'sha1'; body?: string } = {}) {
  const body = o.body ?? JSON.stringify(payload);
  const method = o.method ?? 'sha256';
  const identifier = o.identifier ?? String(Math.floor(Math.random() * 1e12));
  return {
    body,
    identifier,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'x-hub-signature': `${method}=${createHmac(method, o.secret ?? ADMIN_SECRET).update(body).digest('hex')}`,
      'x-atlassian-webhook-identifier': identifier,
      'x-atlassian-webhook-retry': String(o.retry ?? 0),
      'x-atlassian-webhook-flow': 'Primary',
    },
  };
}

/** A JWT made here, for the shapes Atlassian never sends (no expiry, `none`). */
function jwt(header: Record<string, unknown>, claims: Record<string, unknown>, secret: string | undefined) {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${secret === undefined ? '' : createHmac('sha256', secret).update(input).digest('base64url')}`;
}

const withHeaders = <D extends { headers: Record<string, string> }>(d: D, headers: Record<string, string | undefined>) => ({
  ...d,
  headers: Object.fromEntries(Object.entries({ ...d.headers, ...headers }).filter((e): e is [string, string] => e[1] !== undefined)),
});
const deliveryIdOf = (site: AtlassianSite, identifier: string) => `site:${hostOf(site)}/${identifier}`;

describe('verification', () => {
  it('stores an app-webhook delivery (bearer JWT) once, without its token, keyed by site and identifier', async () => {
    const site = newSite();
    const d = fake.appDelivery(site, 'jira:issue_updated', issueUpdated(site));
    const res = await deliver(t, 'jira', d);
    expect(res.statusCode).toBe(200);
    const [event] = await inboxEvents(t, 'jira', deliveryIdOf(site, d.identifier));
    expect(event).toMatchObject({ eventType: 'jira:issue_updated', status: 'received', routingKeys: [`site:${hostOf(site)}`], connectionId: null });
    expect(event!.headers).toMatchObject({ 'x-atlassian-webhook-identifier': d.identifier });
    expect(event!.headers).not.toHaveProperty('authorization');
    expect(event!.payload).toMatchObject({ issue: { key: 'ACME-1' } });
  });

  it('stores an admin-webhook delivery (X-Hub-Signature) once', async () => {
    const site = newSite();
    const d = adminDelivery(issueUpdated(site));
    expect((await deliver(t, 'jira', d)).statusCode).toBe(200);
    const [event] = await inboxEvents(t, 'jira', deliveryIdOf(site, d.identifier));
    expect(event).toMatchObject({ eventType: 'jira:issue_updated', routingKeys: [`site:${hostOf(site)}`] });
    expect(event!.headers).not.toHaveProperty('x-hub-signature');
  });

  it('acknowledges a retry (same X-Atlassian-Webhook-Identifier) without storing it again; another site may reuse the identifier', async () => {
    const site = newSite();
    const first = fake.appDelivery(site, 'jira:issue_updated', issueUpdated(site));
    expect((await deliver(t, 'jira', first)).statusCode).toBe(200);
    const before = await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'jira', outcome: 'duplicate' });
    const retry = { ...fake.appDelivery(site, 'jira:issue_updated', {}, { identifier: first.identifier, retry: 1 }), body: first.body };
    expect((await deliver(t, 'jira', retry)).statusCode).toBe(200);
    expect(await inboxEvents(t, 'jira', deliveryIdOf(site, first.identifier))).toHaveLength(1);
    expect(await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'jira', outcome: 'duplicate' })).toBe(before + 1);

    // Identifiers are unique within a site only.
    const other = newSite();
    const elsewhere = adminDelivery(issueUpdated(other), { identifier: first.identifier });
    expect((await deliver(t, 'jira', elsewhere)).statusCode).toBe(200);
    expect(await inboxEvents(t, 'jira', deliveryIdOf(other, first.identifier))).toHaveLength(1);
  });

  // An app webhook's JWT signs no part of the body (Atlassian documents no body hash), so a changed body under a
  // genuine token cannot be told apart: tampering is caught on admin webhooks only.
  it('refuses tampered bodies, wrong secrets, expired or unsigned tokens and missing headers, counting each', async () => {
    const site = newSite();
    const payload = issueUpdated(site);
    const admin = adminDelivery(payload);
    const app = fake.appDelivery(site, 'jira:issue_updated', payload);
    const now = Math.floor(Date.now() / 1000);
    const counts = async () => ({
      rejected: await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'jira', outcome: 'rejected' }),
      bad: await metricValue(t, 'hub_webhook_rejections_total', { connector: 'jira', reason: 'bad_signature' }),
      stale: await metricValue(t, 'hub_webhook_rejections_total', { connector: 'jira', reason: 'stale_timestamp' }),
      missing: await metricValue(t, 'hub_webhook_rejections_total', { connector: 'jira', reason: 'missing_signature' }),
      malformed: await metricValue(t, 'hub_webhook_rejections_total', { connector: 'jira', reason: 'malformed' }),
    });
    const before = await counts();
    const cases = {
      adminTampered: { ...admin, body: admin.body.replace('"High"', '"Low"') },
      adminWrongSecret: adminDelivery(payload, { secret: 'not the secret' }),
      adminSha1: adminDelivery(payload, { method: 'sha1' }),
      adminGarbage: withHeaders(admin, { 'x-hub-signature': 'sha256=zz' }),
      appWrongSecret: fake.appDelivery(site, 'jira:issue_updated', payload, { secret: 'another app' }),
      appAlgNone: withHeaders(app, { authorization: `Bearer ${jwt({ alg: 'none', typ: 'JWT' }, { iss: fake.clientId, exp: now + 60 }, undefined)}` }),
      appHs512: withHeaders(app, { authorization: `Bearer ${jwt({ alg: 'HS512', typ: 'JWT' }, { exp: now + 60 }, fake.clientSecret)}` }),
      appNoExpiry: withHeaders(app, { authorization: `Bearer ${jwt({ alg: 'HS256', typ: 'JWT' }, { iss: fake.clientId, iat: now }, fake.clientSecret)}` }),
      appExpired: fake.appDelivery(site, 'jira:issue_updated', payload, { expiresIn: -600 }),
      appNotBearer: withHeaders(app, { authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` }),
      nothing: withHeaders(admin, { 'x-hub-signature': undefined }),
      notJson: adminDelivery(undefined, { body: 'webhookEvent=jira:issue_updated' }),
    };
    for (const [name, d] of Object.entries(cases)) {
      const res = await deliver(t, 'jira', d);
      expect(res.statusCode, name).toBe(401);
      expect(res.headers['content-type'], name).toMatch(/^application\/problem\+json/);
      expect(res.json(), name).toMatchObject({ code: 'webhook_signature_invalid', status: 401 });
      expect(await inboxEvents(t, 'jira', deliveryIdOf(site, d.headers['x-atlassian-webhook-identifier']!)), name).toEqual([]);
    }
    const after = await counts();
    expect(after.rejected - before.rejected).toBe(Object.keys(cases).length);
    expect({ bad: after.bad - before.bad, stale: after.stale - before.stale, missing: after.missing - before.missing, malformed: after.malformed - before.malformed })
      .toEqual({ bad: 8, stale: 1, missing: 2, malformed: 1 });
  });

  it('answers 503 webhook_not_configured, storing nothing, when the secret a delivery needs is not set', async () => {
    const site = newSite();
    const cases = [
      [{ JIRA_WEBHOOK_SECRET: '', JIRA_CLIENT_SECRET: '' }, fake.appDelivery(site, 'jira:issue_updated', issueUpdated(site)), 'app webhook, nothing set'],
      [{ JIRA_WEBHOOK_SECRET: '', JIRA_CLIENT_SECRET: '' }, adminDelivery(issueUpdated(site)), 'admin webhook, nothing set'],
      [{ JIRA_WEBHOOK_SECRET: '' }, adminDelivery(issueUpdated(site)), 'admin webhook, admin secret not set'],
    ] as const;
    for (const [env, d, name] of cases) {
      const app = await buildTestApp(env, { secondInstanceOf: t });
      try {
        const res = await deliver(app, 'jira', d);
        expect(res.statusCode, name).toBe(503);
        expect(res.json(), name).toMatchObject({ code: 'webhook_not_configured' });
        expect(await inboxEvents(app, 'jira', deliveryIdOf(site, d.identifier)), name).toEqual([]);
      } finally {
        await app.close();
      }
    }
  });

  it('declares what each event changes, and nothing for events no widget shows', () => {
    const effects = connector.webhooks!.effects;
    expect(effects({ eventType: 'jira:issue_deleted', payload: {} })).toEqual({ widgets: ['open-issues-by-priority', 'sprint-progress'] });
    expect(effects({ eventType: 'sprint_closed', payload: {} })).toEqual({ widgets: ['sprint-progress'] });
    expect(effects({ eventType: 'comment_created', payload: {} })).toEqual({ widgets: [] });
  });
});

describe('processing', () => {
  it('routes by site, refreshes the widget the event changes, and announces it live', async () => {
    const site = newSite();
    const { ws, integrationId, token } = await connect(site);
    const url = `/workspaces/${ws}/integrations/${integrationId}/widgets/open-issues-by-priority/data`;
    const read = await t.app.inject({ url, headers: { authorization: `Bearer ${token}` } });
    expect(read.statusCode).toBe(200);
    expect(read.json().data.rows).toEqual([]);
    await readsRecorded(t);

    const stream = await openEventStream(baseUrl, ws, token);
    try {
      fake.data.issues.push({ key: 'ACME-1', status: 'In Progress', priority: 'High' });
      const searches = fake.api.routeCalls.search;
      const d = adminDelivery(issueUpdated(site));
      expect((await deliver(t, 'jira', d)).statusCode).toBe(200);
      expect(await processNow(t, 'jira', deliveryIdOf(site, d.identifier))).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId], error: null });
      expect(fake.api.routeCalls.search).toBe(searches + 1);
      const live = await stream.next((e) => e.event === 'widget.updated');
      expect(JSON.parse(live.data!)).toEqual({ integrationId, slug: 'jira', widgetId: 'open-issues-by-priority', params: {} });
      const after = await t.app.inject({ url, headers: { authorization: `Bearer ${token}` } });
      expect(after.json()).toMatchObject({ source: 'cache', stale: false });
      expect(after.json().data.rows).toMatchObject([{ priority: 'High', issues: 1 }]);
    } finally {
      await stream.close();
    }
  });

  it('refreshes sprint progress on a sprint event', async () => {
    const site = newSite();
    const { ws, integrationId, token } = await connect(site);
    fake.data.boards.set(11, [{ id: 5, name: 'Sprint 2', state: 'future' }]);
    const url = `/workspaces/${ws}/integrations/${integrationId}/widgets/sprint-progress/data?boardId=11`;
    expect((await t.app.inject({ url, headers: { authorization: `Bearer ${token}` } })).json().data.label).toBe('No active sprint on board 11');
    await readsRecorded(t);
    fake.data.boards.set(11, [{ id: 5, name: 'Sprint 2', state: 'active', startDate: new Date(Date.now() - DAY).toISOString(), endDate: new Date(Date.now() + 9 * DAY).toISOString() }]);
    fake.data.issues.push({ key: 'ACME-2', sprintId: 5, status: 'Done' });
    const d = adminDelivery(sprintStarted(site, 5, 11));
    expect((await deliver(t, 'jira', d)).statusCode).toBe(200);
    expect(await processNow(t, 'jira', deliveryIdOf(site, d.identifier))).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId] });
    expect((await t.app.inject({ url, headers: { authorization: `Bearer ${token}` } })).json().data).toMatchObject({ value: 100, label: expect.stringMatching(/^Sprint 2: 1 of 1 issues done/) });
  });

  it('keeps an event from a site no connection holds as unmatched', async () => {
    const site = newSite();
    const d = adminDelivery(issueUpdated(site));
    expect((await deliver(t, 'jira', d)).statusCode).toBe(200);
    expect(await processNow(t, 'jira', deliveryIdOf(site, d.identifier))).toMatchObject({ status: 'unmatched', matchedConnectionIds: [] });
  });
});

describe('app webhook subscriptions', () => {
  const rowsOf = (connectionId: string) => t.deps.database.db.select().from(webhookSubscriptions).where(eq(webhookSubscriptions.connectionId, connectionId)).orderBy(asc(webhookSubscriptions.createdAt));

  it('registers one webhook per connection at its site, and routes its deliveries to that connection', async () => {
    const site = newSite();
    const { integrationId } = await connect(site, WITH_WEBHOOKS);
    expect(await t.deps.webhookSubscriptions.subscribe(integrationId)).toBe(1);

    const registered = fake.webhooks.filter((w) => w.siteId === site.id);
    expect(registered).toEqual([{ id: 1, siteId: site.id, url: `${PUBLIC_URL}/webhooks/jira`, events: ['jira:issue_created', 'jira:issue_updated', 'jira:issue_deleted'], jqlFilter: 'project IS NOT EMPTY', expiresAt: expect.any(Number) }]);
    const [row] = await rowsOf(integrationId);
    expect(row).toMatchObject({ status: 'active', connector: 'jira', externalId: `${hostOf(site)}/1`, metadata: { webhookId: '1' }, failures: 0 });
    expect(row!.expiresAt!.getTime()).toBe(registered[0]!.expiresAt);
    // Refreshed five days before the 30 days run out.
    expect(row!.nextRenewAt!.getTime()).toBe(registered[0]!.expiresAt - 5 * DAY);

    const d = fake.appDelivery(site, 'jira:issue_created', issueUpdated(site, 'ACME-9'));
    expect(JSON.parse(d.body).matchedWebhookIds).toEqual([1]);
    expect((await deliver(t, 'jira', d)).statusCode).toBe(200);
    expect((await inboxEvents(t, 'jira', deliveryIdOf(site, d.identifier)))[0]).toMatchObject({ connectionId: integrationId });
    expect(await processNow(t, 'jira', deliveryIdOf(site, d.identifier))).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId] });
  });

  it('tells apart two sites whose webhooks have the same id', async () => {
    const [a, b] = [newSite(), newSite()];
    const first = await connect(a, WITH_WEBHOOKS);
    const second = await connect(b, WITH_WEBHOOKS);
    await t.deps.webhookSubscriptions.subscribe(first.integrationId);
    await t.deps.webhookSubscriptions.subscribe(second.integrationId);
    expect((await rowsOf(first.integrationId))[0]!.externalId).toBe(`${hostOf(a)}/1`);
    expect((await rowsOf(second.integrationId))[0]!.externalId).toBe(`${hostOf(b)}/1`);

    const d = fake.appDelivery(b, 'jira:issue_updated', issueUpdated(b));
    expect((await deliver(t, 'jira', d)).statusCode).toBe(200);
    expect(await processNow(t, 'jira', deliveryIdOf(b, d.identifier))).toMatchObject({ status: 'processed', matchedConnectionIds: [second.integrationId] });
  });

  it('names no connection for an admin webhook, even one claiming an app webhook id', async () => {
    const site = newSite();
    const { integrationId } = await connect(site, WITH_WEBHOOKS);
    await t.deps.webhookSubscriptions.subscribe(integrationId);
    const d = adminDelivery({ ...issueUpdated(site), matchedWebhookIds: [1] });
    expect((await deliver(t, 'jira', d)).statusCode).toBe(200);
    // Routed by its site all the same.
    expect((await inboxEvents(t, 'jira', deliveryIdOf(site, d.identifier)))[0]).toMatchObject({ connectionId: null, routingKeys: [`site:${hostOf(site)}`] });
  });

  it('refreshes the webhook before it expires, and registers a new one when Jira no longer has it', async () => {
    const site = newSite();
    const { integrationId } = await connect(site, WITH_WEBHOOKS);
    await t.deps.webhookSubscriptions.subscribe(integrationId);
    const webhook = fake.webhooks.find((w) => w.siteId === site.id)!;
    webhook.expiresAt = Date.now() + DAY;
    const refreshes = fake.webhookCalls.refresh;
    const [row] = await rowsOf(integrationId);
    await t.deps.webhookSubscriptions.renew({ ...row!, nextRenewAt: new Date(Date.now() - 1000) });

    expect(fake.webhookCalls.refresh).toBe(refreshes + 1);
    expect(webhook.expiresAt).toBeGreaterThan(Date.now() + 29 * DAY);
    const [renewed] = await rowsOf(integrationId);
    expect(renewed).toMatchObject({ status: 'active', failures: 0, lastError: null });
    expect(renewed!.expiresAt!.getTime()).toBe(webhook.expiresAt);
    expect(renewed!.nextRenewAt!.getTime()).toBe(webhook.expiresAt - 5 * DAY);

    fake.webhooks.splice(fake.webhooks.indexOf(webhook), 1);
    const registrations = fake.webhookCalls.register;
    await t.deps.webhookSubscriptions.renew(renewed!);
    expect(fake.webhookCalls.register).toBe(registrations + 1);
    const replacement = fake.webhooks.filter((w) => w.siteId === site.id);
    expect(replacement).toHaveLength(1);
    const rows = await rowsOf(integrationId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'active', failures: 0, lastError: null });
    expect(rows[0]!.id).not.toBe(renewed!.id);
    expect(rows[0]!.externalId).toBe(`${hostOf(site)}/${replacement[0]!.id}`);
  });

  it('deletes the webhook at Jira when the connection is disconnected', async () => {
    const site = newSite();
    const { ws, integrationId, token } = await connect(site, WITH_WEBHOOKS);
    await t.deps.webhookSubscriptions.subscribe(integrationId);
    expect(fake.webhooks.filter((w) => w.siteId === site.id)).toHaveLength(1);
    const deletes = fake.webhookCalls.delete;
    const res = await t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/${integrationId}/disconnect`, headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(200);
    expect(fake.webhookCalls.delete).toBe(deletes + 1);
    expect(fake.webhooks.filter((w) => w.siteId === site.id)).toEqual([]);
    expect(await rowsOf(integrationId)).toEqual([]);
  });

  it('asks for manage:jira-webhook on connect, and registers nothing when the user does not grant it', async () => {
    const site = newSite();
    const asked = await connect(site);
    expect((await rowsOfConnection(asked.integrationId)).scopes).toContain('manage:jira-webhook');
    fake.withholdScopesNext(['manage:jira-webhook']);
    const { integrationId } = await connect(newSite());
    const registrations = fake.webhookCalls.register;
    expect(await t.deps.webhookSubscriptions.subscribe(integrationId)).toBe(0);
    expect(fake.webhookCalls.register).toBe(registrations);
    expect(await rowsOf(integrationId)).toEqual([]);
  });

  it('leaves nothing behind when Jira refuses the registration', async () => {
    const site = newSite();
    const { integrationId } = await connect(site, WITH_WEBHOOKS);
    // Jira takes one URL per app: a webhook of the same app to another URL is already on the site.
    fake.webhooks.push({ id: 900, siteId: site.id, url: 'https://elsewhere.example/hook', events: ['jira:issue_updated'], jqlFilter: 'project = ACME', expiresAt: Date.now() + DAY });
    await expect(t.deps.webhookSubscriptions.subscribe(integrationId)).rejects.toThrow();
    expect(fake.webhooks.filter((w) => w.siteId === site.id).map((w) => w.id)).toEqual([900]);
    expect(await rowsOf(integrationId)).toEqual([]);
  });
});
