// Datadog webhooks end to end: Datadog signs nothing, so deliveries carry the hub's shared secret in the
// X-Hub-Datadog-Secret custom header, as a Bearer token or as the Basic password; a wrong or missing secret is
// refused and counted; the recommended payload template, Datadog's default payload and form-encoded bodies are read;
// $ID de-duplicates; the connection named by the URL gets the event, which refreshes the widgets it changes.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECOMMENDED_DATADOG_PAYLOAD } from '../../src/connectors/datadog/webhook-payload.js';
import { webhooks } from '../../src/connectors/datadog/webhooks.js';
import { startFakeDatadog, type FakeDatadog } from '../fakes/datadog.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { deliver, inboxEvents, metricValue, openEventStream, processNow, readsRecorded } from '../support/webhooks.js';

const SECRET = 'dd-hook-7f3a9c1e5b2d4f60a8e1c3b5d7f9a2c4';
const API_KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const APP_KEY = 'ddapp_0123456789abcdef0123456789abcdef01234567';
const ORG_ID = '11023';

let fake: FakeDatadog;
let t: TestApp;
let baseUrl: string;

beforeAll(async () => {
  fake = await startFakeDatadog({ apiKey: API_KEY, appKey: APP_KEY });
  t = await buildTestApp({ DATADOG_API_URL: fake.url, DATADOG_WEBHOOK_SECRET: SECRET });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

const eventId = () => String(BigInt(`0x${randomBytes(7).toString('hex')}`));

/** What Datadog makes of the recommended template: each $VARIABLE replaced by its value, JSON-escaped. */
function fromTemplate(values: Record<string, string>): string {
  return RECOMMENDED_DATADOG_PAYLOAD.replace(/\$([A-Z_]+)/g, (_, name: string) => JSON.stringify(values[name] ?? '').slice(1, -1));
}

const monitorAlert = (id = eventId(), extra: Record<string, string> = {}) =>
  fromTemplate({
    ID: id,
    EVENT_TYPE: 'query_alert_monitor',
    EVENT_TITLE: '[Triggered on {host:web-1}] "CPU" high',
    DATE: String(Date.now()),
    LAST_UPDATED: String(Date.now()),
    ORG_ID,
    ORG_NAME: 'Acme',
    ALERT_ID: '4242',
    ALERT_TRANSITION: 'Triggered',
    ALERT_TYPE: 'error',
    ALERT_PRIORITY: 'P2',
    ALERT_QUERY: 'avg(last_5m):avg:system.cpu.user{host:web-1} > 90',
    ALERT_CYCLE_KEY: '7f9c2e',
    LINK: `https://app.datadoghq.com/event/event?id=${id}`,
    ...extra,
  });

/** A delivery with the secret where the operator put it (custom header by default). */
function withSecret(body: string, how: 'header' | 'bearer' | 'basic' = 'header', secret = SECRET, path?: string) {
  const auth: Record<string, string> =
    how === 'header' ? { 'x-hub-datadog-secret': secret }
    : how === 'bearer' ? { authorization: `Bearer ${secret}` }
    : { authorization: `Basic ${Buffer.from(`datadog:${secret}`).toString('base64')}` };
  return { body, path, headers: { 'content-type': 'application/json', 'user-agent': 'Datadog/Webhooks', ...auth } };
}

describe('verification', () => {
  it('stores a delivery made from the recommended template once, without the secret, and answers 200', async () => {
    const id = eventId();
    const res = await deliver(t, 'datadog', withSecret(monitorAlert(id)));
    expect(res.statusCode).toBe(200);
    const [event] = await inboxEvents(t, 'datadog', `event:${ORG_ID}:${id}`);
    expect(event).toMatchObject({ eventType: 'query_alert_monitor.triggered', routingKeys: [`org:${ORG_ID}`], connectionId: null, status: 'received' });
    expect(event!.payload).toMatchObject({ id, org: { id: ORG_ID, name: 'Acme' }, alert: { id: '4242', transition: 'Triggered' }, title: '[Triggered on {host:web-1}] "CPU" high' });
    expect(event!.headers).not.toHaveProperty('x-hub-datadog-secret');
    expect(JSON.stringify(event)).not.toContain(SECRET);
  });

  it('takes the secret as a Bearer token or as the Basic password, and Datadog\'s default payload', async () => {
    const [a, b, c] = [eventId(), eventId(), eventId()];
    expect((await deliver(t, 'datadog', withSecret(monitorAlert(a), 'bearer'))).statusCode).toBe(200);
    expect((await deliver(t, 'datadog', withSecret(monitorAlert(b, { ALERT_TRANSITION: 'No Data' }), 'basic'))).statusCode).toBe(200);
    expect((await inboxEvents(t, 'datadog', `event:${ORG_ID}:${b}`))[0]).toMatchObject({ eventType: 'query_alert_monitor.no_data' });
    // Datadog's own payload when no template is set.
    const plain = JSON.stringify({ body: '%%%\nCPU high\n%%%', last_updated: '1406662672000', event_type: 'metric_alert_monitor', title: '[Triggered] CPU', date: '1406662672000', org: { id: ORG_ID, name: 'Acme' }, id: c });
    expect((await deliver(t, 'datadog', withSecret(plain))).statusCode).toBe(200);
    expect((await inboxEvents(t, 'datadog', `event:${ORG_ID}:${c}`))[0]).toMatchObject({ eventType: 'metric_alert_monitor', routingKeys: [`org:${ORG_ID}`] });
    expect(await inboxEvents(t, 'datadog', `event:${ORG_ID}:${a}`)).toHaveLength(1);
  });

  it('reads a form-encoded payload ("Encode as form")', async () => {
    const id = eventId();
    const body = new URLSearchParams({ id, event_type: 'event_alert', org: JSON.stringify({ id: ORG_ID, name: 'Acme' }), alert_transition: 'Recovered' }).toString();
    const res = await deliver(t, 'datadog', { ...withSecret(body), headers: { ...withSecret(body).headers, 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.statusCode).toBe(200);
    expect((await inboxEvents(t, 'datadog', `event:${ORG_ID}:${id}`))[0]).toMatchObject({ eventType: 'event_alert.recovered', routingKeys: [`org:${ORG_ID}`] });
  });

  it('acknowledges Datadog\'s retries (same $ID, or the same body without one) without storing them again', async () => {
    const id = eventId();
    for (let i = 0; i < 2; i++) expect((await deliver(t, 'datadog', withSecret(monitorAlert(id)))).statusCode).toBe(200);
    expect(await inboxEvents(t, 'datadog', `event:${ORG_ID}:${id}`)).toHaveLength(1);

    const before = (await inboxEvents(t, 'datadog')).length;
    const anonymous = JSON.stringify({ event_type: 'service_check', org: { id: ORG_ID }, nonce: eventId() });
    for (let i = 0; i < 2; i++) expect((await deliver(t, 'datadog', withSecret(anonymous))).statusCode).toBe(200);
    expect((await inboxEvents(t, 'datadog')).length).toBe(before + 1);
    expect(await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'datadog', outcome: 'duplicate' })).toBeGreaterThanOrEqual(2);
  });

  it('refuses a wrong or missing secret, in every place it may be presented', async () => {
    const before = await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'datadog', outcome: 'rejected' });
    const id = eventId();
    const body = monitorAlert(id);
    const cases = {
      wrongHeader: withSecret(body, 'header', 'not-the-secret'),
      prefixOfSecret: withSecret(body, 'header', SECRET.slice(0, -1)),
      wrongBearer: withSecret(body, 'bearer', 'not-the-secret'),
      wrongBasic: withSecret(body, 'basic', 'not-the-secret'),
      basicWithoutPassword: { body, headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${SECRET}:`).toString('base64')}` } },
      otherScheme: { body, headers: { 'content-type': 'application/json', authorization: `Token ${SECRET}` } },
      none: { body, headers: { 'content-type': 'application/json' } },
    };
    for (const [name, d] of Object.entries(cases)) {
      const res = await deliver(t, 'datadog', d);
      expect(res.statusCode, name).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ code: 'webhook_signature_invalid', status: 401 });
    }
    expect(await inboxEvents(t, 'datadog', `event:${ORG_ID}:${id}`)).toEqual([]);
    expect(await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'datadog', outcome: 'rejected' })).toBe(before + 7);
    expect(await metricValue(t, 'hub_webhook_rejections_total', { connector: 'datadog', reason: 'bad_signature' })).toBeGreaterThanOrEqual(4);
    expect(await metricValue(t, 'hub_webhook_rejections_total', { connector: 'datadog', reason: 'missing_signature' })).toBeGreaterThanOrEqual(3);
    expect(t.logs.text()).not.toContain(SECRET);
  });

  it('refuses a body with the right secret that is not a JSON object as malformed', async () => {
    const before = await metricValue(t, 'hub_webhook_rejections_total', { connector: 'datadog', reason: 'malformed' });
    for (const body of ['not json', '[1,2]', '"text"']) expect((await deliver(t, 'datadog', withSecret(body))).statusCode, body).toBe(401);
    expect(await metricValue(t, 'hub_webhook_rejections_total', { connector: 'datadog', reason: 'malformed' })).toBe(before + 3);
  });

  it('answers 503 webhook_not_configured, storing nothing, when DATADOG_WEBHOOK_SECRET is not set', async () => {
    const bare = await buildTestApp({ DATADOG_API_URL: fake.url });
    try {
      const id = eventId();
      const res = await deliver(bare, 'datadog', withSecret(monitorAlert(id)));
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'webhook_not_configured' });
      expect(await inboxEvents(bare, 'datadog', `event:${ORG_ID}:${id}`)).toEqual([]);
    } finally {
      await bare.close();
    }
  });
});

describe('processing', () => {
  async function connect() {
    const ws = t.newWorkspace();
    const token = await t.token({ workspaces: [ws] });
    const res = await t.app.inject({ method: 'POST', url: `/workspaces/${ws}/integrations/datadog/connect`, headers: { authorization: `Bearer ${token}` }, payload: { credentials: { apiKey: API_KEY, appKey: APP_KEY, site: 'datadoghq.com' } } });
    if (res.statusCode !== 201) throw new Error(`connect answered ${res.statusCode}: ${res.body}`);
    return { ws, token, integrationId: res.json().integration.id as string };
  }
  const readWidget = (ws: string, id: string, token: string, widget: string) =>
    t.app.inject({ url: `/workspaces/${ws}/integrations/${id}/widgets/${widget}/data`, headers: { authorization: `Bearer ${token}` } });

  it('gives the event to the connection the URL names, refetches the alerting monitors, and announces it live', async () => {
    const { ws, token, integrationId } = await connect();
    fake.data.monitors.length = 0;
    expect((await readWidget(ws, integrationId, token, 'alerting-monitors')).json().data.items).toEqual([]);
    // The read is recorded for syncs and webhooks a moment later (never on the read's own path).
    await readsRecorded(t);

    const stream = await openEventStream(baseUrl, ws, token);
    try {
      fake.data.monitors.push({ id: 4242, name: 'CPU high on web-1', status: 'Alert', lastTriggered: Math.floor(Date.now() / 1000) });
      const callsBefore = fake.api.routeCalls.monitors;
      const id = eventId();
      expect((await deliver(t, 'datadog', withSecret(monitorAlert(id), 'header', SECRET, `/${integrationId}`))).statusCode).toBe(200);
      const event = await processNow(t, 'datadog', `event:${ORG_ID}:${id}@${integrationId}`);
      expect(event).toMatchObject({ status: 'processed', connectionId: integrationId, matchedConnectionIds: [integrationId], attempts: 1, error: null });
      expect(fake.api.routeCalls.monitors).toBe(callsBefore + 1);

      const live = await stream.next((e) => e.event === 'widget.updated');
      expect(JSON.parse(live.data!)).toEqual({ integrationId, slug: 'datadog', widgetId: 'alerting-monitors', params: {} });
      const after = (await readWidget(ws, integrationId, token, 'alerting-monitors')).json();
      expect(after).toMatchObject({ source: 'cache', stale: false });
      expect(after.data.items).toEqual([expect.objectContaining({ id: '4242', title: 'CPU high on web-1' })]);
    } finally {
      await stream.close();
    }
  });

  it('refreshes the SLO status (and the monitors) on an SLO alert', async () => {
    const { ws, token, integrationId } = await connect();
    expect((await readWidget(ws, integrationId, token, 'slo-status')).statusCode).toBe(200);
    await readsRecorded(t);
    const before = fake.api.routeCalls.slos;
    const id = eventId();
    await deliver(t, 'datadog', withSecret(monitorAlert(id, { EVENT_TYPE: 'slo_alert_monitor', ALERT_QUERY: 'error_budget("b3bd2c7f").over("30d") > 75' }), 'header', SECRET, `/${integrationId}`));
    expect(await processNow(t, 'datadog', `event:${ORG_ID}:${id}@${integrationId}`)).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId] });
    expect(fake.api.routeCalls.slos).toBe(before + 1);
  });

  it('keeps unmatched an event for no connection: a bare URL with an unknown organisation, or a path that is no connection id', async () => {
    const bareId = eventId();
    await deliver(t, 'datadog', withSecret(monitorAlert(bareId, { ORG_ID: '99999001' })));
    expect(await processNow(t, 'datadog', `event:99999001:${bareId}`)).toMatchObject({ status: 'unmatched', matchedConnectionIds: [] });

    const junkId = eventId();
    expect((await deliver(t, 'datadog', withSecret(monitorAlert(junkId), 'header', SECRET, '/not-a-connection'))).statusCode).toBe(200);
    expect(await processNow(t, 'datadog', `event:${ORG_ID}:${junkId}`)).toMatchObject({ status: 'unmatched', connectionId: null });
  });

  // A connection deleted (or never there) must not turn a verified delivery into a 500: it is kept, unrouted.
  it('stores a delivery naming a connection id that does not exist, unrouted, and answers 200', async () => {
    const gone = 'conn_01jz0000000000000000000000';
    const goneId = eventId();
    expect((await deliver(t, 'datadog', withSecret(monitorAlert(goneId), 'header', SECRET, `/${gone}`))).statusCode).toBe(200);
    expect(await processNow(t, 'datadog', `event:${ORG_ID}:${goneId}@${gone}`)).toMatchObject({ status: 'unmatched', connectionId: null });
  });
});

describe('effects', () => {
  const slo = { alert: { query: 'burn_rate("b3bd2c7f").over("7d").long_window("1h").short_window("5m") > 14.4' } };
  it.each([
    ['query_alert_monitor.triggered', {}, ['alerting-monitors']],
    ['metric_alert_monitor.recovered', {}, ['alerting-monitors']],
    ['service_check.warn', {}, ['alerting-monitors']],
    ['event_alert', {}, ['alerting-monitors']],
    ['unknown', { alert: { id: '12' } }, ['alerting-monitors']],
    ['slo_alert_monitor.triggered', {}, ['alerting-monitors', 'slo-status']],
    ['query_alert_monitor.triggered', slo, ['alerting-monitors', 'slo-status']],
    ['unknown', {}, []],
    ['unknown', { alert: { id: '$ALERT_ID' } }, []],
  ])('%s %j refreshes %j', (eventType, payload, widgets) => {
    expect(webhooks.effects({ eventType, payload })).toEqual({ widgets });
  });
});
