// Slack webhooks end to end: deliveries signed as Slack documents (v0 HMAC of `v0:ts:body`, cross-checked with
// @slack/bolt's own verifier) are stored once; retries, tampered bodies, wrong secrets, stale or missing timestamps
// are answered as Slack and the house rules expect; url_verification is answered with its challenge; interactivity
// arrives form-encoded; events route by workspace or Enterprise Grid org, refresh the widgets they change and announce
// them live; an uninstall disconnects and a revoked bot token asks for re-authorization.
import { createHmac, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { isValidSlackRequest } from '@slack/bolt';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents, connections } from '../../src/db/schema.js';
import { SLACK_PATHS, startFakeSlack, type FakeSlack } from '../fakes/slack.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';
import { deliver, inboxEvents, metricValue, openEventStream, processNow, readsRecorded } from '../support/webhooks.js';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';

let fake: FakeSlack;
let t: TestApp;
let baseUrl: string;

beforeAll(async () => {
  fake = await startFakeSlack();
  t = await buildTestApp({ ...providerEnvFor('SLACK', fake, SLACK_PATHS), SLACK_SIGNING_SECRET: SECRET });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t.close();
  await fake.close();
});
beforeEach(() => {
  fake.workspace.members.length = 0;
  fake.workspace.channels.length = 0;
});

const teamId = () => `T${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;
const eventId = () => `Ev${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;
const nowSeconds = () => Math.floor(Date.now() / 1000);

interface SignOptions {
  secret?: string;
  timestamp?: number;
  contentType?: string;
  retry?: number;
}

/** Headers as Slack sends them, signed as its docs describe (written here independently of the hub's verifier). */
function signed(body: string, options: SignOptions = {}) {
  const timestamp = options.timestamp ?? nowSeconds();
  const signature = `v0=${createHmac('sha256', options.secret ?? SECRET).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  // Slack's own SDK accepts what we send (when we mean it to be genuine).
  if (!options.secret && options.timestamp === undefined) {
    expect(isValidSlackRequest({ signingSecret: SECRET, body, headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp } })).toBe(true);
  }
  return {
    body,
    headers: {
      'content-type': options.contentType ?? 'application/json',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': signature,
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      ...(options.retry ? { 'x-slack-retry-num': String(options.retry), 'x-slack-retry-reason': 'http_timeout' } : {}),
    },
  };
}

/** An Events API envelope, as in Slack's event reference pages (the `token` is the deprecated verification token). */
function envelope(team: string, event: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    token: 'XXYYZZ-legacy-verification-token',
    team_id: team,
    api_app_id: 'A0HUB',
    event,
    type: 'event_callback',
    event_id: eventId(),
    event_time: nowSeconds(),
    authorizations: [{ enterprise_id: null, team_id: team, user_id: 'U0BOT', is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
    ...extra,
  };
}

const channelCreated = (team: string) =>
  envelope(team, { type: 'channel_created', channel: { id: 'C0NEW', name: 'launch', created: nowSeconds(), creator: 'U024BE7LH' }, event_ts: `${nowSeconds()}.000100` });

async function post(payload: { event_id: string }, options: SignOptions = {}) {
  const d = signed(JSON.stringify(payload), options);
  return { res: await deliver(t, 'slack', d), delivery: payload.event_id, ...d };
}

describe('verification', () => {
  it('stores a genuinely signed event once, as the inner event type, without signature or verification token', async () => {
    const team = teamId();
    const payload = channelCreated(team);
    const { res } = await post(payload);
    expect(res.statusCode).toBe(200);
    const [event] = await inboxEvents(t, 'slack', payload.event_id);
    expect(event).toMatchObject({ eventType: 'channel_created', status: 'received', routingKeys: [`team:${team}`] });
    expect(event!.headers).toMatchObject({ 'x-slack-request-timestamp': expect.any(String) });
    expect(event!.headers).not.toHaveProperty('x-slack-signature');
    // Kept as sent, unknown fields included (only the legacy token is left out).
    expect(event!.payload).toMatchObject({ team_id: team, event: { type: 'channel_created' }, authorizations: [{ user_id: 'U0BOT', is_bot: true }] });
    expect(event!.payload).not.toHaveProperty('token');
  });

  it('acknowledges a retry (X-Slack-Retry-Num, same event_id, new signature) without storing it again', async () => {
    const payload = channelCreated(teamId());
    await post(payload);
    const before = await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'slack', outcome: 'duplicate' });
    const retry = await post(payload, { retry: 1 });
    expect(retry.res.statusCode).toBe(200);
    expect(await inboxEvents(t, 'slack', payload.event_id)).toHaveLength(1);
    expect(await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'slack', outcome: 'duplicate' })).toBe(before + 1);
  });

  it('refuses tampered bodies, wrong secrets, stale, future or missing timestamps and missing signatures, as Slack’s verifier does', async () => {
    const rejected = () => metricValue(t, 'hub_webhook_deliveries_total', { connector: 'slack', outcome: 'rejected' });
    const reason = (r: string) => metricValue(t, 'hub_webhook_rejections_total', { connector: 'slack', reason: r });
    const [before, badBefore, staleBefore, missingBefore] = [await rejected(), await reason('bad_signature'), await reason('stale_timestamp'), await reason('missing_signature')];
    const payload = channelCreated(teamId());
    const genuine = signed(JSON.stringify(payload));
    const without = (name: string) => Object.fromEntries(Object.entries(genuine.headers).filter(([k]) => k !== name));
    const sixMinutes = 6 * 60;
    const cases = {
      tampered: { ...genuine, body: genuine.body.replace('launch', 'l4unch') },
      wrongSecret: signed(genuine.body, { secret: 'not-the-signing-secret' }),
      stale: signed(genuine.body, { timestamp: nowSeconds() - sixMinutes }),
      future: signed(genuine.body, { timestamp: nowSeconds() + sixMinutes }),
      v1Scheme: { ...genuine, headers: { ...genuine.headers, 'x-slack-signature': genuine.headers['x-slack-signature'].replace('v0=', 'v1=') } },
      noSignature: { ...genuine, headers: without('x-slack-signature') },
      noTimestamp: { ...genuine, headers: without('x-slack-request-timestamp') },
    };
    for (const [name, d] of Object.entries(cases)) {
      const res = await deliver(t, 'slack', d);
      expect(res.statusCode, name).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ code: 'webhook_signature_invalid', status: 401 });
    }
    // Slack's own verifier agrees on the ones it checks (it accepts a future timestamp; Slack's Python SDK does not).
    for (const name of ['tampered', 'wrongSecret', 'stale'] as const) {
      const d = cases[name];
      const headers = { 'x-slack-signature': d.headers['x-slack-signature'], 'x-slack-request-timestamp': Number(d.headers['x-slack-request-timestamp']) };
      expect(isValidSlackRequest({ signingSecret: SECRET, body: d.body, headers }), name).toBe(false);
    }
    expect(await inboxEvents(t, 'slack', payload.event_id)).toEqual([]);
    expect(await rejected()).toBe(before + 7);
    expect(await reason('bad_signature')).toBe(badBefore + 2);
    expect(await reason('stale_timestamp')).toBe(staleBefore + 2);
    expect(await reason('missing_signature')).toBe(missingBefore + 3);
    expect(t.logs.text()).not.toContain(genuine.headers['x-slack-signature'].slice(3));
  });

  it('answers url_verification with its challenge in plain text, only when signed, and stores nothing', async () => {
    const challenge = '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P';
    const body = JSON.stringify({ token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl', challenge, type: 'url_verification' });
    const res = await deliver(t, 'slack', signed(body));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toBe(challenge);
    expect(JSON.stringify(await inboxEvents(t, 'slack'))).not.toContain(challenge);

    const unsigned = await deliver(t, 'slack', { body, headers: { 'content-type': 'application/json' } });
    expect(unsigned.statusCode).toBe(401);
    expect(unsigned.body).not.toContain(challenge);
  });

  it('accepts a form-encoded interactivity payload with an empty 200, derives its id, and keeps no response URL', async () => {
    const team = teamId();
    const interaction = {
      type: 'block_actions',
      token: 'XXYYZZ-legacy-verification-token',
      team: { id: team, domain: 'acme' },
      user: { id: 'U024BE7LH', team_id: team },
      api_app_id: 'A0HUB',
      trigger_id: `${nowSeconds()}.12345.${randomUUID().slice(0, 8)}`,
      response_url: 'https://hooks.slack.com/actions/T0/123/secret-capability',
      is_enterprise_install: false,
      enterprise: null,
      actions: [{ type: 'button', action_id: 'refresh', block_id: 'b1', value: 'go', action_ts: `${nowSeconds()}.000200` }],
    };
    const form = new URLSearchParams({ payload: JSON.stringify(interaction) }).toString();
    const d = signed(form, { contentType: 'application/x-www-form-urlencoded' });
    const res = await deliver(t, 'slack', d);
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
    const stored = (await inboxEvents(t, 'slack')).filter((e) => (e.payload as { trigger_id?: string }).trigger_id === interaction.trigger_id);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ eventType: 'block_actions', routingKeys: [`team:${team}`] });
    expect(stored[0]!.payload).not.toHaveProperty('response_url');
    expect(stored[0]!.payload).not.toHaveProperty('token');
    // The same interaction again (Slack re-sending it) is the same delivery.
    expect((await deliver(t, 'slack', signed(form, { contentType: 'application/x-www-form-urlencoded' }))).statusCode).toBe(200);
    expect(await inboxEvents(t, 'slack', stored[0]!.deliveryId)).toHaveLength(1);
  });

  it('routes an org-wide install’s events to the Enterprise Grid org, and a Grid workspace install’s to its workspace only', async () => {
    const orgWide = envelope('T0GRIDWS1', { type: 'team_join', user: { id: 'U0NEW' } }, {
      enterprise_id: 'E0GRID',
      authorizations: [{ enterprise_id: 'E0GRID', team_id: null, user_id: 'U0BOT', is_bot: true, is_enterprise_install: true }],
    });
    const inWorkspace = envelope('T0GRIDWS2', { type: 'team_join', user: { id: 'U0NEW2' } }, {
      enterprise_id: 'E0GRID',
      authorizations: [{ enterprise_id: 'E0GRID', team_id: 'T0GRIDWS2', user_id: 'U0BOT', is_bot: true, is_enterprise_install: false }],
    });
    await post(orgWide);
    await post(inWorkspace);
    expect((await inboxEvents(t, 'slack', orgWide.event_id))[0]!.routingKeys).toEqual(['enterprise:E0GRID']);
    expect((await inboxEvents(t, 'slack', inWorkspace.event_id))[0]!.routingKeys).toEqual(['team:T0GRIDWS2']);
  });

  it('refuses a signed delivery that is none of Slack’s shapes', async () => {
    const before = await metricValue(t, 'hub_webhook_rejections_total', { connector: 'slack', reason: 'malformed' });
    for (const d of [
      signed('not json'),
      signed(JSON.stringify({ type: 'event_callback', team_id: 'T1', event: { type: 'message' } })),
      signed(JSON.stringify({ type: 'url_verification', challenge: '<script>alert(1)</script>' })),
      signed('team_id=T1&command=%2Fhub', { contentType: 'application/x-www-form-urlencoded' }),
    ]) {
      const res = await deliver(t, 'slack', d);
      expect(res.statusCode).toBe(401);
      expect(res.body).not.toContain('<script>');
    }
    expect(await metricValue(t, 'hub_webhook_rejections_total', { connector: 'slack', reason: 'malformed' })).toBe(before + 4);
  });

  it('answers 503 webhook_not_configured, storing nothing, when SLACK_SIGNING_SECRET is not set', async () => {
    const bare = await buildTestApp(providerEnvFor('SLACK', fake, SLACK_PATHS));
    try {
      const payload = channelCreated(teamId());
      const res = await deliver(bare, 'slack', signed(JSON.stringify(payload)));
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'webhook_not_configured' });
      expect(await inboxEvents(bare, 'slack', payload.event_id)).toEqual([]);
    } finally {
      await bare.close();
    }
  });
});

describe('processing', () => {
  async function connectTeam() {
    const team = teamId();
    const ws = t.newWorkspace();
    fake.nextInstall({ teamId: team, teamName: 'Acme Sales' });
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'slack' });
    const token = await t.token({ workspaces: [ws] });
    return { team, ws, integrationId, token };
  }
  const read = (c: { ws: string; integrationId: string; token: string }, widget: string) =>
    t.app.inject({ url: `/workspaces/${c.ws}/integrations/${c.integrationId}/widgets/${widget}/data`, headers: { authorization: `Bearer ${c.token}` } });
  const calls = (method: string) => fake.api.methodCalls[method] ?? 0;
  const statusOf = async (id: string) => (await t.deps.database.db.select().from(connections).where(eq(connections.id, id)))[0]!;
  const auditOf = async (id: string) => (await t.deps.database.db.select().from(auditEvents).where(eq(auditEvents.connectionId, id))).map((a) => [a.action, a.actor]);

  it('routes by team, refreshes the channel list a new channel changes, and announces it live', async () => {
    const c = await connectTeam();
    expect((await read(c, 'top-channels')).json().data.items).toEqual([]);
    expect((await read(c, 'active-members')).statusCode).toBe(200);
    // The reads are recorded for syncs and webhooks a moment later (never on the read's own path).
    await readsRecorded(t);

    const stream = await openEventStream(baseUrl, c.ws, c.token);
    try {
      fake.workspace.channels.push({ id: 'C0NEW', name: 'launch', num_members: 4 });
      const [channelsBefore, usersBefore] = [calls('conversations.list'), calls('users.list')];
      const { delivery } = await post(channelCreated(c.team));
      expect(await processNow(t, 'slack', delivery)).toMatchObject({ status: 'processed', matchedConnectionIds: [c.integrationId], error: null });
      expect(calls('conversations.list')).toBe(channelsBefore + 1);
      // A new channel does not change who is in the workspace.
      expect(calls('users.list')).toBe(usersBefore);

      const live = await stream.next((e) => e.event === 'widget.updated');
      expect(JSON.parse(live.data!)).toMatchObject({ integrationId: c.integrationId, slug: 'slack', widgetId: 'top-channels' });
      const after = await read(c, 'top-channels');
      expect(after.json()).toMatchObject({ source: 'cache', stale: false });
      expect(after.json().data.items).toEqual([expect.objectContaining({ id: 'C0NEW', title: '#launch' })]);
    } finally {
      await stream.close();
    }
  });

  it('refreshes the member count on team_join, and nothing for a private channel’s membership', async () => {
    const c = await connectTeam();
    expect((await read(c, 'active-members')).json().data.value).toBe(0);
    expect((await read(c, 'top-channels')).statusCode).toBe(200);
    await readsRecorded(t);

    fake.workspace.members.push({ id: 'U0NEW', name: 'new.hire' });
    const [channelsBefore, usersBefore] = [calls('conversations.list'), calls('users.list')];
    const joined = await post(envelope(c.team, { type: 'team_join', user: { id: 'U0NEW', name: 'new.hire' } }));
    expect(await processNow(t, 'slack', joined.delivery)).toMatchObject({ status: 'processed', matchedConnectionIds: [c.integrationId] });
    expect(calls('users.list')).toBe(usersBefore + 1);
    expect((await read(c, 'active-members')).json()).toMatchObject({ source: 'cache', data: { value: 1 } });

    const privateJoin = await post(envelope(c.team, { type: 'member_joined_channel', user: 'U0NEW', channel: 'G0SECRET', channel_type: 'G', team: c.team }));
    expect(await processNow(t, 'slack', privateJoin.delivery)).toMatchObject({ status: 'processed' });
    expect(calls('conversations.list')).toBe(channelsBefore);
  });

  it('keeps an event for a workspace no connection holds as unmatched', async () => {
    const { delivery } = await post(channelCreated(teamId()));
    expect(await processNow(t, 'slack', delivery)).toMatchObject({ status: 'unmatched', matchedConnectionIds: [] });
  });

  it('disconnects the connection when the app is uninstalled, with an audit event and a live update', async () => {
    const c = await connectTeam();
    const stream = await openEventStream(baseUrl, c.ws, c.token);
    try {
      const { delivery } = await post(envelope(c.team, { type: 'app_uninstalled' }, { authorizations: undefined }));
      expect(await processNow(t, 'slack', delivery)).toMatchObject({ status: 'processed', matchedConnectionIds: [c.integrationId] });
      expect(await statusOf(c.integrationId)).toMatchObject({ status: 'disconnected', credentials: null, lastError: 'provider: app_uninstalled' });
      expect(await auditOf(c.integrationId)).toContainEqual(['disconnected', 'provider:slack']);
      const live = await stream.next((e) => e.event === 'connection.updated');
      expect(JSON.parse(live.data!)).toEqual({ integrationId: c.integrationId, slug: 'slack', status: 'disconnected' });
    } finally {
      await stream.close();
    }
  });

  it('asks for re-authorization when the bot token is revoked, and ignores revoked user tokens', async () => {
    const c = await connectTeam();
    const userOnly = await post(envelope(c.team, { type: 'tokens_revoked', tokens: { oauth: ['U024BE7LH'] } }));
    expect(await processNow(t, 'slack', userOnly.delivery)).toMatchObject({ status: 'processed', matchedConnectionIds: [c.integrationId] });
    expect((await statusOf(c.integrationId)).status).toBe('active');

    const bot = await post(envelope(c.team, { type: 'tokens_revoked', tokens: { oauth: [], bot: ['U0BOT'] } }));
    expect(await processNow(t, 'slack', bot.delivery)).toMatchObject({ status: 'processed', matchedConnectionIds: [c.integrationId] });
    expect(await statusOf(c.integrationId)).toMatchObject({ status: 'needs_reauth', lastError: 'provider: tokens_revoked' });
    expect(await auditOf(c.integrationId)).toContainEqual(['needs_reauth', 'provider:slack']);
  });
});
