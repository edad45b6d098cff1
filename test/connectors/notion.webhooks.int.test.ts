// Notion webhooks end to end: events signed as Notion documents (X-Notion-Signature, sha256= hex HMAC of the raw body
// keyed with the subscription's verification_token) are stored once per event id, whatever the attempt; tampered
// bodies, wrong tokens and missing signatures are refused and counted; the unsigned verification handshake is
// acknowledged without the token being kept, logged or trusted; events route by workspace_id and refresh the widgets
// they change, live.
import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NOTION_PATHS, startFakeNotion, type FakeNotion } from '../fakes/notion.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';
import { deliver, inboxEvents, metricValue, openEventStream, processNow, readsRecorded } from '../support/webhooks.js';

const TOKEN = `secret_${randomUUID().replace(/-/g, '')}`;

let fake: FakeNotion;
let t: TestApp;
let baseUrl: string;

beforeAll(async () => {
  fake = await startFakeNotion();
  t = await buildTestApp({ ...providerEnvFor('NOTION', fake, NOTION_PATHS), NOTION_WEBHOOK_VERIFICATION_TOKEN: TOKEN });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
beforeEach(() => {
  fake.pages.length = 0;
  fake.dataSources.clear();
});

/** A delivery as Notion sends it: the JSON event and its signature, computed as Notion's docs describe. */
function signed(payload: unknown, token = TOKEN) {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-notion-signature': `sha256=${createHmac('sha256', token).update(body).digest('hex')}`,
      'user-agent': 'notion-api',
    },
  };
}

type Parent = { id: string; type: string; data_source_id?: string };
const spaceParent = (): Parent => ({ id: randomUUID(), type: 'space' });

/** An event in the shape of Notion's webhook reference (Webhook events → Pages / Data sources). */
function notionEvent(workspaceId: string, type: string, options: { parent?: Parent; attempt?: number; id?: string; entity?: string } = {}) {
  return {
    id: options.id ?? randomUUID(),
    timestamp: new Date().toISOString(),
    workspace_id: workspaceId,
    workspace_name: 'Acme Wiki',
    subscription_id: randomUUID(),
    integration_id: randomUUID(),
    authors: [{ id: randomUUID(), type: 'person' }],
    attempt_number: options.attempt ?? 1,
    api_version: '2025-09-03',
    type,
    entity: { id: randomUUID(), type: options.entity ?? 'page' },
    data: { parent: options.parent ?? spaceParent() },
    accessible_by: [{ id: randomUUID(), type: 'bot' }],
  };
}

async function post(payload: { id: string } & Record<string, unknown>, token = TOKEN) {
  const d = signed(payload, token);
  return { res: await deliver(t, 'notion', d), delivery: payload.id, ...d };
}

describe('verification', () => {
  it('stores a genuinely signed event once, without its signature', async () => {
    const workspace = randomUUID();
    const payload = notionEvent(workspace, 'page.created');
    const { res } = await post(payload);
    expect(res.statusCode).toBe(200);
    const [event] = await inboxEvents(t, 'notion', payload.id);
    expect(event).toMatchObject({ eventType: 'page.created', status: 'received', routingKeys: [`workspace:${workspace}`] });
    expect(event!.headers).not.toHaveProperty('x-notion-signature');
    expect(event!.payload).toMatchObject({ id: payload.id, entity: { type: 'page' } });
  });

  it('stores a redelivered event (next attempt_number, new signature) once', async () => {
    const payload = notionEvent(randomUUID(), 'page.content_updated');
    await post(payload);
    const before = await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'notion', outcome: 'duplicate' });
    const again = await post({ ...payload, attempt_number: 2 });
    expect(again.res.statusCode).toBe(200);
    expect(await inboxEvents(t, 'notion', payload.id)).toHaveLength(1);
    expect(await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'notion', outcome: 'duplicate' })).toBe(before + 1);
  });

  it('refuses a tampered body, a wrong token, a missing or malformed signature', async () => {
    const rejected = () => metricValue(t, 'hub_webhook_deliveries_total', { connector: 'notion', outcome: 'rejected' });
    const reason = (r: string) => metricValue(t, 'hub_webhook_rejections_total', { connector: 'notion', reason: r });
    const [before, badBefore, missingBefore] = [await rejected(), await reason('bad_signature'), await reason('missing_signature')];
    const payload = notionEvent(randomUUID(), 'page.properties_updated');
    const genuine = signed(payload);
    const cases = {
      tampered: { ...genuine, body: genuine.body.replace('page.properties_updated', 'page.deleted') },
      wrongToken: signed(payload, `secret_${randomUUID()}`),
      garbage: { ...genuine, headers: { ...genuine.headers, 'x-notion-signature': 'sha256=zz' } },
      noPrefix: { ...genuine, headers: { ...genuine.headers, 'x-notion-signature': genuine.headers['x-notion-signature'].slice('sha256='.length) } },
      noSignature: { ...genuine, headers: { 'content-type': 'application/json' } },
    };
    for (const [name, d] of Object.entries(cases)) {
      const res = await deliver(t, 'notion', d);
      expect(res.statusCode, name).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ code: 'webhook_signature_invalid', status: 401 });
    }
    expect(await inboxEvents(t, 'notion', payload.id)).toEqual([]);
    expect(await rejected()).toBe(before + 5);
    expect(await reason('bad_signature')).toBe(badBefore + 3);
    expect(await reason('missing_signature')).toBe(missingBefore + 2);
  });

  it('acknowledges the verification handshake with 200 and keeps, logs and echoes nothing of the token', async () => {
    const offered = `secret_${randomUUID().replace(/-/g, '')}`;
    const before = await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'notion', outcome: 'handshake' });
    const res = await deliver(t, 'notion', { body: JSON.stringify({ verification_token: offered }), headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
    expect(await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'notion', outcome: 'handshake' })).toBe(before + 1);
    expect(JSON.stringify(await inboxEvents(t, 'notion'))).not.toContain(offered);
    expect(t.logs.text()).not.toContain(offered);
    // The operator can tell which token arrived by its fingerprint, and whether it is the configured one.
    const fingerprint = createHash('sha256').update(offered).digest('hex').slice(0, 12);
    expect(t.logs.text()).toMatch(new RegExp(`"fingerprint":"${fingerprint}","matchesConfigured":false[^\n]*Notion sent a subscription verification token`));
    // Anyone can send a handshake: the token it carries never becomes a signing key.
    const forged = await post(notionEvent(randomUUID(), 'page.created'), offered);
    expect(forged.res.statusCode).toBe(401);
    expect(await inboxEvents(t, 'notion', forged.delivery)).toEqual([]);
  });

  it('treats an unsigned event that merely carries a verification_token as an event, and refuses it', async () => {
    const payload = { ...notionEvent(randomUUID(), 'page.created'), verification_token: 'secret_x' };
    const res = await deliver(t, 'notion', { body: JSON.stringify(payload), headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(401);
    expect(await inboxEvents(t, 'notion', payload.id)).toEqual([]);
  });

  it('refuses a signed delivery that is not a Notion event', async () => {
    const before = await metricValue(t, 'hub_webhook_rejections_total', { connector: 'notion', reason: 'malformed' });
    const { id: _id, ...withoutId } = notionEvent(randomUUID(), 'page.created');
    for (const d of [signed('not json'), signed(withoutId), signed({ id: randomUUID() })]) {
      expect((await deliver(t, 'notion', d)).statusCode).toBe(401);
    }
    expect(await metricValue(t, 'hub_webhook_rejections_total', { connector: 'notion', reason: 'malformed' })).toBe(before + 3);
  });

  it('answers the handshake but 503 webhook_not_configured for events while the token is not set', async () => {
    const bare = await buildTestApp(providerEnvFor('NOTION', fake, NOTION_PATHS));
    try {
      const handshake = await deliver(bare, 'notion', { body: JSON.stringify({ verification_token: 'secret_first' }), headers: { 'content-type': 'application/json' } });
      expect(handshake.statusCode).toBe(200);
      const payload = notionEvent(randomUUID(), 'page.created');
      const res = await deliver(bare, 'notion', signed(payload));
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'webhook_not_configured' });
      expect(await inboxEvents(bare, 'notion', payload.id)).toEqual([]);
    } finally {
      await bare.close();
    }
  });
});

describe('processing', () => {
  async function connectWorkspace() {
    const workspaceId = randomUUID();
    const ws = t.newWorkspace();
    fake.nextWorkspace({ workspaceId });
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'notion' });
    return { workspaceId, ws, integrationId, token: await t.token({ workspaces: [ws] }) };
  }
  const read = (c: { ws: string; integrationId: string; token: string }, widget: string, query = '') =>
    t.app.inject({ url: `/workspaces/${c.ws}/integrations/${c.integrationId}/widgets/${widget}/data${query}`, headers: { authorization: `Bearer ${c.token}` } });

  it('routes by workspace_id, refreshes the recently edited pages, and announces it live', async () => {
    const c = await connectWorkspace();
    expect((await read(c, 'recent-pages')).json().data.items).toEqual([]);
    await readsRecorded(t);

    const stream = await openEventStream(baseUrl, c.ws, c.token);
    try {
      fake.pages.push({ id: randomUUID(), title: 'Board memo', lastEditedTime: new Date().toISOString() });
      const before = fake.api.searchCalls;
      const { delivery } = await post(notionEvent(c.workspaceId, 'page.created'));
      expect(await processNow(t, 'notion', delivery)).toMatchObject({ status: 'processed', matchedConnectionIds: [c.integrationId], error: null });
      expect(fake.api.searchCalls).toBe(before + 1);
      const live = await stream.next((e) => e.event === 'widget.updated');
      expect(JSON.parse(live.data!)).toMatchObject({ integrationId: c.integrationId, slug: 'notion', widgetId: 'recent-pages' });
      const after = await read(c, 'recent-pages');
      expect(after.json()).toMatchObject({ source: 'cache', stale: false });
      expect(after.json().data.items).toEqual([expect.objectContaining({ title: 'Board memo' })]);
    } finally {
      await stream.close();
    }
  });

  it('re-counts a database on row and schema changes, but not on a page’s content edits', async () => {
    const c = await connectWorkspace();
    const dataSourceId = randomUUID();
    fake.dataSources.set(dataSourceId, { statusProperty: 'Status', statusType: 'status', items: [{ id: randomUUID(), title: 'Ship it', status: 'In progress' }] });
    expect((await read(c, 'items-by-status', `?dataSourceId=${dataSourceId}`)).json().data.rows).toEqual([{ status: 'In progress', count: 1, share: 100 }]);
    await readsRecorded(t);
    const row: Parent = { id: randomUUID(), type: 'database', data_source_id: dataSourceId };

    const queries = fake.api.queryCalls;
    fake.dataSources.get(dataSourceId)!.items[0]!.status = 'Done';
    const updated = await post(notionEvent(c.workspaceId, 'page.properties_updated', { parent: row }));
    expect(await processNow(t, 'notion', updated.delivery)).toMatchObject({ status: 'processed', matchedConnectionIds: [c.integrationId] });
    expect(fake.api.queryCalls).toBe(queries + 1);
    expect((await read(c, 'items-by-status', `?dataSourceId=${dataSourceId}`)).json()).toMatchObject({ source: 'cache', data: { rows: [{ status: 'Done', count: 1 }] } });

    const edited = await post(notionEvent(c.workspaceId, 'page.content_updated', { parent: row }));
    expect(await processNow(t, 'notion', edited.delivery)).toMatchObject({ status: 'processed' });
    const elsewhere = await post(notionEvent(c.workspaceId, 'page.properties_updated', { parent: { id: randomUUID(), type: 'page' } }));
    expect(await processNow(t, 'notion', elsewhere.delivery)).toMatchObject({ status: 'processed' });
    expect(fake.api.queryCalls).toBe(queries + 1);

    const schema = await post(notionEvent(c.workspaceId, 'data_source.schema_updated', { entity: 'data_source' }));
    expect(await processNow(t, 'notion', schema.delivery)).toMatchObject({ status: 'processed' });
    expect(fake.api.queryCalls).toBe(queries + 2);
  });

  it('keeps an event for a workspace no connection holds as unmatched', async () => {
    const { delivery } = await post(notionEvent(randomUUID(), 'page.created'));
    expect(await processNow(t, 'notion', delivery)).toMatchObject({ status: 'unmatched', matchedConnectionIds: [] });
  });
});
