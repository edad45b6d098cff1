// Xero webhooks end to end: batches signed as Xero documents (x-xero-signature, base64 HMAC-SHA256 of the raw body
// with the webhook key) become one stored event per change, each stored once however often Xero retries; intent to
// receive gets exactly what Xero expects (a bare 200 for a correctly signed empty batch, a bare 401 otherwise);
// events route by tenantId and refresh the widgets they change, live.
import { createHmac, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookEventRow } from '../../src/db/schema.js';
import { XERO_PATHS, startFakeXero, tenant, type FakeXero } from '../fakes/xero.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';
import { deliver, inboxEvents, metricValue, openEventStream, processNow, readsRecorded } from '../support/webhooks.js';

const KEY = 'xEro+WebHook/Key==' + randomUUID();

let fake: FakeXero;
let t: TestApp;
let baseUrl: string;

beforeAll(async () => {
  fake = await startFakeXero();
  t = await buildTestApp({ ...providerEnvFor('XERO', fake, XERO_PATHS), XERO_WEBHOOK_KEY: KEY });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

/** A delivery as Xero sends it, signed as Xero's "Configuring your server" page describes. */
function signed(payload: unknown, key = KEY) {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return { body, headers: { 'content-type': 'application/json; charset=utf-8', 'x-xero-signature': createHmac('sha256', key).update(body).digest('base64') } };
}

interface XeroEvent {
  resourceUrl: string;
  resourceId: string;
  eventDateUtc: string;
  eventType: string;
  eventCategory: string;
  tenantId: string;
  tenantType: string;
}

/** One change, in the shape of Xero's webhooks OpenAPI (xero-webhooks.yaml). */
function change(tenantId: string, category: 'INVOICE' | 'CONTACT' | 'CREDITNOTE', type: 'CREATE' | 'UPDATE', resourceId = randomUUID()): XeroEvent {
  const path = { INVOICE: 'Invoices', CONTACT: 'Contacts', CREDITNOTE: 'CreditNotes' }[category];
  return {
    resourceUrl: `https://api.xero.com/api.xro/2.0/${path}/${resourceId}`,
    resourceId,
    eventDateUtc: new Date().toISOString().replace('Z', ''),
    eventType: type,
    eventCategory: category,
    tenantId,
    tenantType: 'ORGANISATION',
  };
}

let sequence = 1;
const batch = (events: XeroEvent[]) => ({ events, firstEventSequence: sequence, lastEventSequence: (sequence += events.length) - 1, entropy: randomUUID().replace(/-/g, '').slice(0, 20).toUpperCase() });

const storedFor = async (resourceId: string): Promise<WebhookEventRow[]> =>
  (await inboxEvents(t, 'xero')).filter((e) => (e.payload as { resourceId?: string }).resourceId === resourceId);

describe('verification', () => {
  it('stores each change of a signed batch once, answering a bare 200', async () => {
    const org = randomUUID();
    const [invoice, contact] = [change(org, 'INVOICE', 'UPDATE'), change(org, 'CONTACT', 'CREATE')];
    const res = await deliver(t, 'xero', signed(batch([invoice, contact])));
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
    expect(res.headers['set-cookie']).toBeUndefined();
    const [storedInvoice] = await storedFor(invoice.resourceId);
    expect(storedInvoice).toMatchObject({ eventType: 'INVOICE.UPDATE', status: 'received', routingKeys: [`tenant:${org}`], payload: invoice });
    expect(storedInvoice!.headers).not.toHaveProperty('x-xero-signature');
    expect(await storedFor(contact.resourceId)).toEqual([expect.objectContaining({ eventType: 'CONTACT.CREATE', routingKeys: [`tenant:${org}`] })]);
  });

  it('stores nothing again when Xero retries the batch', async () => {
    const invoice = change(randomUUID(), 'INVOICE', 'CREATE');
    await deliver(t, 'xero', signed(batch([invoice])));
    const before = await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'xero', outcome: 'duplicate' });
    const retry = await deliver(t, 'xero', signed({ ...batch([invoice]), entropy: 'RETRIEDWITHNEWENTROPY' }));
    expect(retry.statusCode).toBe(200);
    expect(await storedFor(invoice.resourceId)).toHaveLength(1);
    expect(await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'xero', outcome: 'duplicate' })).toBe(before + 1);
  });

  it('passes intent to receive: a bare 200 for the correctly signed empty batch, a bare 401 for the others', async () => {
    const itr = { events: [], lastEventSequence: 0, firstEventSequence: 0, entropy: 'S0m3r4Nd0mt3xt' };
    const good = await deliver(t, 'xero', signed(itr));
    expect(good.statusCode).toBe(200);
    expect(good.body).toBe('');
    for (const bad of [signed(itr, 'not-the-webhook-key'), { ...signed(itr), headers: { ...signed(itr).headers, 'x-xero-signature': signed({ ...itr, entropy: 'OTHER' }).headers['x-xero-signature'] } }]) {
      const res = await deliver(t, 'xero', bad);
      expect(res.statusCode).toBe(401);
      expect(res.body).toBe('');
      expect(res.headers['set-cookie']).toBeUndefined();
    }
  });

  it('refuses a tampered body, a wrong key and a missing signature with a bare 401, storing and counting', async () => {
    const rejected = () => metricValue(t, 'hub_webhook_deliveries_total', { connector: 'xero', outcome: 'rejected' });
    const reason = (r: string) => metricValue(t, 'hub_webhook_rejections_total', { connector: 'xero', reason: r });
    const [before, badBefore, missingBefore] = [await rejected(), await reason('bad_signature'), await reason('missing_signature')];
    const invoice = change(randomUUID(), 'INVOICE', 'UPDATE');
    const genuine = signed(batch([invoice]));
    const cases = {
      tampered: { ...genuine, body: genuine.body.replace('"UPDATE"', '"CREATE"') },
      wrongKey: signed(JSON.parse(genuine.body), 'not-the-webhook-key'),
      hexInsteadOfBase64: { ...genuine, headers: { ...genuine.headers, 'x-xero-signature': createHmac('sha256', KEY).update(genuine.body).digest('hex') } },
      noSignature: { ...genuine, headers: { 'content-type': 'application/json' } },
    };
    for (const [name, d] of Object.entries(cases)) {
      const res = await deliver(t, 'xero', d);
      expect(res.statusCode, name).toBe(401);
      expect(res.body, name).toBe('');
    }
    expect(await storedFor(invoice.resourceId)).toEqual([]);
    expect(await rejected()).toBe(before + 4);
    expect(await reason('bad_signature')).toBe(badBefore + 3);
    expect(await reason('missing_signature')).toBe(missingBefore + 1);
  });

  it('answers a bare 400 to a correctly signed body that is not a Xero batch, storing nothing', async () => {
    const { resourceId: _omitted, ...incomplete } = change(randomUUID(), 'INVOICE', 'UPDATE');
    for (const d of [signed('not json'), signed({ events: [incomplete] }), signed({ events: 'none' })]) {
      const res = await deliver(t, 'xero', d);
      expect(res.statusCode).toBe(400);
      expect(res.body).toBe('');
    }
  });

  it('answers 503 webhook_not_configured, storing nothing, when XERO_WEBHOOK_KEY is not set', async () => {
    const bare = await buildTestApp(providerEnvFor('XERO', fake, XERO_PATHS));
    try {
      const invoice = change(randomUUID(), 'INVOICE', 'UPDATE');
      const res = await deliver(bare, 'xero', signed(batch([invoice])));
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'webhook_not_configured' });
      expect((await inboxEvents(bare, 'xero')).filter((e) => (e.payload as { resourceId?: string }).resourceId === invoice.resourceId)).toEqual([]);
    } finally {
      await bare.close();
    }
  });
});

describe('processing', () => {
  async function connectOrg() {
    const org = tenant(`Org ${randomUUID().slice(0, 8)}`);
    fake.setConsentTenants([org]);
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'xero' });
    return { tenantId: org.tenantId, ws, integrationId, token: await t.token({ workspaces: [ws] }) };
  }
  const read = (c: { ws: string; integrationId: string; token: string }, widget: string) =>
    t.app.inject({ url: `/workspaces/${c.ws}/integrations/${c.integrationId}/widgets/${widget}/data`, headers: { authorization: `Bearer ${c.token}` } });
  const calls = (tenantId: string, path: string) => fake.api.requests.filter((r) => r.tenantId === tenantId && r.path === path).length;
  const today = () => new Date().toISOString().slice(0, 10);
  const daysAgo = (n: number) => new Date(Date.parse(today()) - n * 86_400_000).toISOString().slice(0, 10);

  /** Delivers one batch and processes each of its changes; returns the stored rows. */
  async function deliverAndProcess(events: XeroEvent[]) {
    expect((await deliver(t, 'xero', signed(batch(events)))).statusCode).toBe(200);
    const rows = [];
    for (const e of events) rows.push(await processNow(t, 'xero', (await storedFor(e.resourceId))[0]!.deliveryId));
    return rows;
  }

  it('routes an invoice change by tenantId, refreshes both widgets it changes, and announces them live', async () => {
    const c = await connectOrg();
    expect((await read(c, 'overdue-invoices')).json().data.items).toEqual([]);
    expect((await read(c, 'executive-summary')).statusCode).toBe(200);
    await readsRecorded(t);

    const stream = await openEventStream(baseUrl, c.ws, c.token);
    try {
      const invoiceId = randomUUID();
      fake.books(c.tenantId).invoices.push({
        InvoiceID: invoiceId, InvoiceNumber: 'INV-0042', Type: 'ACCREC', Status: 'AUTHORISED', contactName: 'Ridgeway University',
        dueDate: daysAgo(10), total: 500, amountDue: 500, currency: 'NZD',
      });
      const [invoicesBefore, summaryBefore] = [calls(c.tenantId, '/Invoices'), calls(c.tenantId, '/Reports/ExecutiveSummary')];
      const [row] = await deliverAndProcess([change(c.tenantId, 'INVOICE', 'UPDATE', invoiceId)]);
      expect(row).toMatchObject({ status: 'processed', matchedConnectionIds: [c.integrationId], error: null });
      expect(calls(c.tenantId, '/Invoices')).toBe(invoicesBefore + 1);
      expect(calls(c.tenantId, '/Reports/ExecutiveSummary')).toBe(summaryBefore + 1);

      for (const widgetId of ['overdue-invoices', 'executive-summary']) {
        const live = await stream.next((e) => e.event === 'widget.updated' && JSON.parse(e.data!).widgetId === widgetId);
        expect(JSON.parse(live.data!)).toMatchObject({ integrationId: c.integrationId, slug: 'xero', widgetId });
      }
      const after = await read(c, 'overdue-invoices');
      expect(after.json()).toMatchObject({ source: 'cache', stale: false });
      expect(after.json().data.items).toEqual([expect.objectContaining({ id: invoiceId, title: 'INV-0042 · Ridgeway University' })]);
    } finally {
      await stream.close();
    }
  });

  it('refreshes only the overdue list for a contact update, and nothing for a new contact', async () => {
    const c = await connectOrg();
    expect((await read(c, 'overdue-invoices')).statusCode).toBe(200);
    expect((await read(c, 'executive-summary')).statusCode).toBe(200);
    await readsRecorded(t);
    const [invoicesBefore, summaryBefore] = [calls(c.tenantId, '/Invoices'), calls(c.tenantId, '/Reports/ExecutiveSummary')];

    const [created] = await deliverAndProcess([change(c.tenantId, 'CONTACT', 'CREATE')]);
    expect(created).toMatchObject({ status: 'processed', matchedConnectionIds: [c.integrationId] });
    expect(calls(c.tenantId, '/Invoices')).toBe(invoicesBefore);

    await deliverAndProcess([change(c.tenantId, 'CONTACT', 'UPDATE')]);
    expect(calls(c.tenantId, '/Invoices')).toBe(invoicesBefore + 1);
    expect(calls(c.tenantId, '/Reports/ExecutiveSummary')).toBe(summaryBefore);
  });

  it('routes each change of a mixed batch to its own organisation, and keeps unknown tenants unmatched', async () => {
    const [a, b] = [await connectOrg(), await connectOrg()];
    const rows = await deliverAndProcess([change(a.tenantId, 'INVOICE', 'CREATE'), change(b.tenantId, 'INVOICE', 'CREATE'), change(randomUUID(), 'INVOICE', 'CREATE')]);
    expect(rows.map((r) => [r.status, r.matchedConnectionIds])).toEqual([
      ['processed', [a.integrationId]],
      ['processed', [b.integrationId]],
      ['unmatched', []],
    ]);
  });
});
