// QuickBooks webhooks end to end: deliveries signed as Intuit documents (base64 HMAC-SHA256 of the raw body with the
// verifier token, computed here independently) are stored once per entity change, in the legacy eventNotifications
// format and in the CloudEvents format alike; tampered bodies, wrong tokens and missing signatures are refused and
// counted; events route by realmId to the company's connection, refresh the widgets they change, and go live.
import { createHmac, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhooks } from '../../src/connectors/quickbooks/webhooks.js';
import { QUICKBOOKS_PATHS, startFakeQuickBooks, type FakeQuickBooks } from '../fakes/quickbooks.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';
import { deliver, inboxEvents, metricValue, openEventStream, processNow, readsRecorded } from '../support/webhooks.js';

const VERIFIER = 'a5e2b8f0-verifier-token-7c41d9e3';

let fake: FakeQuickBooks;
let t: TestApp;
let baseUrl: string;

beforeAll(async () => {
  fake = await startFakeQuickBooks();
  t = await buildTestApp({ ...providerEnvFor('QUICKBOOKS', fake, QUICKBOOKS_PATHS), QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN: VERIFIER });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

/** A realm of its own for every test: routing keys and derived delivery ids never meet another test's. */
const newRealm = () => String(Math.floor(Math.random() * 1e15) + 1e15);
const stamp = () => new Date().toISOString();

/** Intuit's signature: the HMAC-SHA256 of the exact body bytes, keyed with the verifier token, in base64. */
const intuitSignature = (body: string, token = VERIFIER) => createHmac('sha256', token).update(body, 'utf8').digest('base64');

function signed(payload: unknown, token?: string) {
  const body = JSON.stringify(payload);
  return { body, headers: { 'content-type': 'application/json', 'intuit-signature': intuitSignature(body, token), 'user-agent': 'Intuit-Webhooks/1.0' } };
}

type Change = { name: string; id: string; operation: string; lastUpdated: string };
const legacy = (...notifications: { realmId: string; entities: Change[] }[]) => ({
  eventNotifications: notifications.map((n) => ({ realmId: n.realmId, dataChangeEvent: { entities: n.entities } })),
});
const change = (name: string, id: string, operation: string): Change => ({ name, id, operation, lastUpdated: stamp() });

/** A CloudEvent as Intuit's migration announcement shows it. */
const cloudEvent = (type: string, realmId: string, entityId: string) => ({
  specversion: '1.0',
  id: randomUUID(),
  source: 'intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=',
  type,
  datacontenttype: 'application/json',
  time: stamp(),
  intuitentityid: entityId,
  intuitaccountid: realmId,
  data: {},
});

/** The inbox rows a realm's events made. */
const rowsOfRealm = async (realmId: string) => (await inboxEvents(t, 'quickbooks')).filter((r) => r.routingKeys.includes(`realm:${realmId}`));

describe('verification', () => {
  it('stores one event per entity change of a legacy delivery, each with its own stable id, without the signature', async () => {
    const [a, b] = [newRealm(), newRealm()];
    const payload = legacy(
      { realmId: a, entities: [change('Invoice', '130', 'Create'), change('Payment', '77', 'Update')] },
      { realmId: b, entities: [change('Account', '9', 'Delete')] },
    );
    const res = await deliver(t, 'quickbooks', signed(payload));
    expect(res.statusCode).toBe(200);
    const rows = [...(await rowsOfRealm(a)), ...(await rowsOfRealm(b))];
    expect(rows.map((r) => [r.eventType, r.routingKeys, r.status]).sort()).toEqual([
      ['Account.Delete', [`realm:${b}`], 'received'],
      ['Invoice.Create', [`realm:${a}`], 'received'],
      ['Payment.Update', [`realm:${a}`], 'received'],
    ]);
    expect(new Set(rows.map((r) => r.deliveryId)).size).toBe(3);
    expect(rows.find((r) => r.eventType === 'Invoice.Create')!.payload).toMatchObject({ format: 'legacy', realmId: a, entity: { name: 'Invoice', id: '130', operation: 'Create' } });
    for (const row of rows) expect(row.headers).not.toHaveProperty('intuit-signature');
  });

  it('stores CloudEvents (an array, possibly spanning companies, or a lone event) under their own ids', async () => {
    const [a, b] = [newRealm(), newRealm()];
    const [invoice, bill] = [cloudEvent('qbo.invoice.created.v1', a, '130'), cloudEvent('qbo.bill.updated.v1', b, '12')];
    expect((await deliver(t, 'quickbooks', signed([invoice, bill]))).statusCode).toBe(200);
    expect(await inboxEvents(t, 'quickbooks', invoice.id)).toEqual([expect.objectContaining({ eventType: 'qbo.invoice.created.v1', routingKeys: [`realm:${a}`] })]);
    expect((await inboxEvents(t, 'quickbooks', bill.id))[0]).toMatchObject({ eventType: 'qbo.bill.updated.v1', routingKeys: [`realm:${b}`], payload: { format: 'cloudevents', intuitentityid: '12' } });

    const lone = cloudEvent('qbo.payment.created.v1', a, '5');
    expect((await deliver(t, 'quickbooks', signed(lone))).statusCode).toBe(200);
    expect(await inboxEvents(t, 'quickbooks', lone.id)).toHaveLength(1);
  });

  it('acknowledges redeliveries, in either format, without storing or processing them again', async () => {
    const realm = newRealm();
    const payload = legacy({ realmId: realm, entities: [change('Invoice', '131', 'Update')] });
    expect((await deliver(t, 'quickbooks', signed(payload))).statusCode).toBe(200);
    expect((await deliver(t, 'quickbooks', signed(payload))).statusCode).toBe(200);
    expect(await rowsOfRealm(realm)).toHaveLength(1);

    const event = cloudEvent('qbo.invoice.updated.v1', realm, '131');
    await deliver(t, 'quickbooks', signed([event]));
    expect((await deliver(t, 'quickbooks', signed([event]))).statusCode).toBe(200);
    expect(await inboxEvents(t, 'quickbooks', event.id)).toHaveLength(1);
    expect(await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'quickbooks', outcome: 'duplicate' })).toBeGreaterThanOrEqual(2);
  });

  it('refuses a tampered body, a wrong verifier token, a missing or garbled signature', async () => {
    const before = await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'quickbooks', outcome: 'rejected' });
    const realm = newRealm();
    const genuine = signed(legacy({ realmId: realm, entities: [change('Invoice', '132', 'Create')] }));
    const cases = {
      tampered: { ...genuine, body: genuine.body.replace('"132"', '"133"') },
      wrongToken: signed(legacy({ realmId: realm, entities: [change('Invoice', '132', 'Create')] }), 'not-the-verifier-token'),
      noSignature: { ...genuine, headers: { ...genuine.headers, 'intuit-signature': '' } },
      hexNotBase64: { ...genuine, headers: { ...genuine.headers, 'intuit-signature': createHmac('sha256', VERIFIER).update(genuine.body).digest('hex') } },
    };
    for (const [name, d] of Object.entries(cases)) {
      const res = await deliver(t, 'quickbooks', d);
      expect(res.statusCode, name).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ code: 'webhook_signature_invalid', status: 401 });
    }
    expect(await rowsOfRealm(realm)).toEqual([]);
    expect(await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'quickbooks', outcome: 'rejected' })).toBe(before + 4);
    expect(await metricValue(t, 'hub_webhook_rejections_total', { connector: 'quickbooks', reason: 'bad_signature' })).toBeGreaterThanOrEqual(3);
    expect(await metricValue(t, 'hub_webhook_rejections_total', { connector: 'quickbooks', reason: 'missing_signature' })).toBeGreaterThanOrEqual(1);
    expect(t.logs.text()).not.toContain(VERIFIER);
  });

  it('refuses a genuinely signed body in neither format as malformed', async () => {
    const before = await metricValue(t, 'hub_webhook_rejections_total', { connector: 'quickbooks', reason: 'malformed' });
    for (const body of ['not json', '{"eventNotifications":{}}', '{"hello":"world"}', '"text"']) {
      const res = await deliver(t, 'quickbooks', { body, headers: { 'content-type': 'application/json', 'intuit-signature': intuitSignature(body) } });
      expect(res.statusCode, body).toBe(401);
    }
    expect(await metricValue(t, 'hub_webhook_rejections_total', { connector: 'quickbooks', reason: 'malformed' })).toBe(before + 4);
  });

  it('answers 503 webhook_not_configured, storing nothing, when QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN is not set', async () => {
    const bare = await buildTestApp(providerEnvFor('QUICKBOOKS', fake, QUICKBOOKS_PATHS));
    try {
      const event = cloudEvent('qbo.invoice.created.v1', newRealm(), '1');
      const res = await deliver(bare, 'quickbooks', signed([event]));
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'webhook_not_configured' });
      expect(await inboxEvents(bare, 'quickbooks', event.id)).toEqual([]);
    } finally {
      await bare.close();
    }
  });
});

describe('processing', () => {
  async function connectCompany() {
    const realmId = newRealm();
    fake.setCompany({ realmId, name: 'Northwind Traders' });
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'quickbooks' });
    return { realmId, ws, integrationId, token: await t.token({ workspaces: [ws] }) };
  }
  const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
  const invoiceQueries = (realmId: string) => fake.api.requests.filter((r) => r.path === `/v3/company/${realmId}/query` && r.query.query?.includes('FROM Invoice')).length;

  it('routes a CloudEvent by realm, refetches the overdue invoices it changes, and announces it live', async () => {
    const { realmId, ws, integrationId, token } = await connectCompany();
    const read = () => t.app.inject({ url: `/workspaces/${ws}/integrations/${integrationId}/widgets/overdue-invoices/data`, headers: { authorization: `Bearer ${token}` } });
    expect((await read()).json().data.items).toEqual([]);
    // The read is recorded for syncs and webhooks a moment later (never on the read's own path).
    await readsRecorded(t);

    const stream = await openEventStream(baseUrl, ws, token);
    try {
      fake.books(realmId).invoices.push({ Id: '130', DocNumber: 'INV-130', TxnDate: daysAgo(40), DueDate: daysAgo(10), Balance: 250, TotalAmt: 250, CustomerRef: { value: '7', name: 'Cool Cars' } });
      const queriesBefore = invoiceQueries(realmId);
      const event = cloudEvent('qbo.invoice.created.v1', realmId, '130');
      await deliver(t, 'quickbooks', signed([event]));
      expect(await processNow(t, 'quickbooks', event.id)).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId], attempts: 1, error: null });
      expect(invoiceQueries(realmId)).toBeGreaterThan(queriesBefore);

      const live = await stream.next((e) => e.event === 'widget.updated');
      expect(JSON.parse(live.data!)).toEqual({ integrationId, slug: 'quickbooks', widgetId: 'overdue-invoices', params: {} });
      const after = (await read()).json();
      expect(after).toMatchObject({ source: 'cache', stale: false });
      expect(after.data.items).toEqual([expect.objectContaining({ id: '130', status: 'overdue' })]);
    } finally {
      await stream.close();
    }
  });

  it('routes legacy notifications by realmId, and keeps another company\'s changes unmatched', async () => {
    const { realmId, integrationId } = await connectCompany();
    const other = newRealm();
    await deliver(t, 'quickbooks', signed(legacy({ realmId, entities: [change('Payment', '88', 'Create')] }), undefined));
    await deliver(t, 'quickbooks', signed(legacy({ realmId: other, entities: [change('Payment', '88', 'Create')] })));
    const [mine] = await rowsOfRealm(realmId);
    expect(await processNow(t, 'quickbooks', mine!.deliveryId)).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId] });
    const [theirs] = await rowsOfRealm(other);
    expect(await processNow(t, 'quickbooks', theirs!.deliveryId)).toMatchObject({ status: 'unmatched', matchedConnectionIds: [] });
  });
});

describe('effects', () => {
  const RECEIVABLES_AND_PNL = ['overdue-invoices', 'receivables-aging', 'profit-and-loss'];
  it.each([
    ['Invoice.Create', RECEIVABLES_AND_PNL],
    ['qbo.invoice.voided.v1', RECEIVABLES_AND_PNL],
    ['Payment.Delete', RECEIVABLES_AND_PNL],
    ['qbo.payment.created.v1', RECEIVABLES_AND_PNL],
    ['Customer.Merge', ['overdue-invoices', 'receivables-aging']],
    ['Account.Update', ['profit-and-loss']],
    ['qbo.bill.created.v1', ['profit-and-loss']],
    ['Purchase.Void', ['profit-and-loss']],
    ['qbo.vendor.updated.v1', []],
    ['Unknown.Unknown', []],
  ])('%s refreshes %j', (eventType, widgets) => {
    expect(webhooks.effects({ eventType, payload: {} })).toEqual({ widgets });
  });
});
