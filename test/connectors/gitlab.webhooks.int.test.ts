// GitLab webhooks end to end: deliveries signed with a signing token by the Standard Webhooks library (the format
// GitLab uses) and deliveries carrying the plaintext secret token are stored once and processed; tampered bodies,
// wrong tokens, stale timestamps and missing headers are refused and counted; each delivery is verified by the
// scheme its headers use; events route by instance host + project id (the user's projects, listed at connect) or to
// the connection the hook URL names, refresh the widgets they change and announce them live.
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connector } from '../../src/connectors/gitlab/index.js';
import { connections } from '../../src/db/schema.js';
import { GITLAB_PATHS, startFakeGitLab, type FakeGitLab, type FakeProject } from '../fakes/gitlab.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';
import { deliver, inboxEvents, metricValue, openEventStream, processNow, readsRecorded } from '../support/webhooks.js';

const SECRET_TOKEN = 'gitlab-plaintext-secret-token';
const SIGNING_TOKEN = `whsec_${randomBytes(32).toString('base64')}`;
const ROTATED_OUT = `whsec_${randomBytes(32).toString('base64')}`;

let fake: FakeGitLab;
let t: TestApp;
let baseUrl: string;

beforeAll(async () => {
  fake = await startFakeGitLab();
  t = await buildTestApp({ ...providerEnvFor('GITLAB', fake, GITLAB_PATHS), GITLAB_WEBHOOK_TOKEN: SECRET_TOKEN, GITLAB_WEBHOOK_SIGNING_TOKEN: SIGNING_TOKEN });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

/** The fake's host, as the hub keys its projects (the instance the connection was made on). */
const instanceHost = () => new URL(fake.url).host;
/** Project ids unique to one test: test files and runs share the database's connections. */
const newProjectId = () => randomInt(100_000_000, 2_000_000_000);

const mergeRequestOpened = (projectId: number, path = 'acme/platform') => ({
  object_kind: 'merge_request',
  event_type: 'merge_request',
  user: { id: 1, username: 'octo', name: 'Octo Cat' },
  project: { id: projectId, name: path.split('/')[1], path_with_namespace: path, web_url: `https://gitlab.example.com/${path}` },
  object_attributes: { id: 99_000 + projectId, iid: 7, title: 'Add SSO', state: 'opened', action: 'open', target_project_id: projectId },
  repository: { name: path.split('/')[1], homepage: `https://gitlab.example.com/${path}` },
});

const pipelineFailed = (projectId: number) => ({
  object_kind: 'pipeline',
  object_attributes: { id: 31, iid: 31, ref: 'main', status: 'failed', updated_at: new Date().toISOString() },
  project: { id: projectId, path_with_namespace: 'acme/platform', web_url: 'https://gitlab.example.com/acme/platform' },
});

interface Options {
  /** `signing`: webhook-id/-timestamp/-signature by the Standard Webhooks library; `token`: X-Gitlab-Token; `both`. */
  scheme?: 'signing' | 'token' | 'both';
  signingToken?: string;
  secretToken?: string;
  id?: string;
  at?: Date;
  event?: string;
  path?: string;
}

/** A delivery as GitLab sends it; GitLab always sends webhook-id and webhook-timestamp, the signature only when signing. */
function gitlabDelivery(payload: unknown, o: Options = {}) {
  const body = JSON.stringify(payload);
  const id = o.id ?? randomUUID();
  const at = o.at ?? new Date();
  const scheme = o.scheme ?? 'signing';
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'GitLab/18.6.0',
    'x-gitlab-event': o.event ?? 'Merge Request Hook',
    'x-gitlab-instance': fake.url,
    'x-gitlab-webhook-uuid': '3f0e1f0a-2b6e-4c52-9a8e-5ad7cbc6f0e4',
    'x-gitlab-event-uuid': randomUUID(),
    'idempotency-key': id,
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
  };
  if (scheme !== 'token') headers['webhook-signature'] = new Webhook(o.signingToken ?? SIGNING_TOKEN).sign(id, at, body);
  if (scheme !== 'signing') headers['x-gitlab-token'] = o.secretToken ?? SECRET_TOKEN;
  return { body, headers, id, ...(o.path ? { path: o.path } : {}) };
}

const without = (headers: Record<string, string>, ...names: string[]) => Object.fromEntries(Object.entries(headers).filter(([k]) => !names.includes(k)));

async function expectRefused(d: { body: string; headers: Record<string, string>; id: string; path?: string }, name: string, app = t) {
  const res = await deliver(app, 'gitlab', d);
  expect(res.statusCode, name).toBe(401);
  expect(res.headers['content-type'], name).toMatch(/^application\/problem\+json/);
  expect(res.json(), name).toMatchObject({ code: 'webhook_signature_invalid', status: 401 });
  expect(await inboxEvents(app, 'gitlab', d.id), name).toEqual([]);
}

describe('verification', () => {
  it('stores a delivery signed with the signing token once, without its signature or token, and answers 200', async () => {
    const projectId = newProjectId();
    const d = gitlabDelivery(mergeRequestOpened(projectId));
    // The reference verifier agrees the delivery is genuine.
    expect(new Webhook(SIGNING_TOKEN).verify(d.body, d.headers)).toMatchObject({ object_kind: 'merge_request' });
    const res = await deliver(t, 'gitlab', d);
    expect(res.statusCode).toBe(200);
    const [event] = await inboxEvents(t, 'gitlab', d.id);
    expect(event).toMatchObject({ eventType: 'merge_request.open', status: 'received', connectionId: null, routingKeys: [`project:${instanceHost()}/${projectId}`] });
    expect(event!.headers).toMatchObject({ 'x-gitlab-event': 'Merge Request Hook', 'idempotency-key': d.id });
    expect(event!.headers).not.toHaveProperty('webhook-signature');
    expect(event!.headers).not.toHaveProperty('x-gitlab-token');
  });

  it('accepts a signature among several (a signing token being rotated) and a delivery with the secret token', async () => {
    const d = gitlabDelivery(mergeRequestOpened(newProjectId()));
    const rotated = new Webhook(ROTATED_OUT).sign(d.id, new Date(Number(d.headers['webhook-timestamp']) * 1000), d.body);
    const several = { ...d, headers: { ...d.headers, 'webhook-signature': `${rotated} ${d.headers['webhook-signature']}` } };
    expect((await deliver(t, 'gitlab', several)).statusCode).toBe(200);
    expect(await inboxEvents(t, 'gitlab', d.id)).toHaveLength(1);

    const legacy = gitlabDelivery(pipelineFailed(newProjectId()), { scheme: 'token', event: 'Pipeline Hook' });
    expect((await deliver(t, 'gitlab', legacy)).statusCode).toBe(200);
    expect((await inboxEvents(t, 'gitlab', legacy.id))[0]).toMatchObject({ eventType: 'pipeline' });
  });

  it('verifies a delivery carrying both by its signature: a valid signature wins over a wrong token, not the reverse', async () => {
    const signedRight = gitlabDelivery(mergeRequestOpened(newProjectId()), { scheme: 'both', secretToken: 'not the token' });
    expect((await deliver(t, 'gitlab', signedRight)).statusCode).toBe(200);
    await expectRefused(gitlabDelivery(mergeRequestOpened(newProjectId()), { scheme: 'both', signingToken: ROTATED_OUT }), 'wrong signature, right token');
  });

  it('acknowledges a retry (same Idempotency-Key) without storing or processing it again', async () => {
    const first = gitlabDelivery(mergeRequestOpened(newProjectId()));
    expect((await deliver(t, 'gitlab', first)).statusCode).toBe(200);
    const before = await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'gitlab', outcome: 'duplicate' });
    // GitLab re-signs a retry with a new timestamp; the id stays.
    const retry = gitlabDelivery(JSON.parse(first.body), { id: first.id, at: new Date(Date.now() + 1000) });
    expect((await deliver(t, 'gitlab', retry)).statusCode).toBe(200);
    expect(await inboxEvents(t, 'gitlab', first.id)).toHaveLength(1);
    expect(await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'gitlab', outcome: 'duplicate' })).toBe(before + 1);
  });

  it('refuses tampered bodies, wrong tokens, stale timestamps and missing headers, counting each', async () => {
    const rejected = await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'gitlab', outcome: 'rejected' });
    const bad = await metricValue(t, 'hub_webhook_rejections_total', { connector: 'gitlab', reason: 'bad_signature' });
    const missing = await metricValue(t, 'hub_webhook_rejections_total', { connector: 'gitlab', reason: 'missing_signature' });
    const stale = await metricValue(t, 'hub_webhook_rejections_total', { connector: 'gitlab', reason: 'stale_timestamp' });
    const payload = mergeRequestOpened(newProjectId());
    const signed = gitlabDelivery(payload);
    const legacy = gitlabDelivery(payload, { scheme: 'token' });
    const cases = {
      tamperedSigned: { ...signed, body: signed.body.replace('Add SSO', 'Add S5O') },
      wrongSigningToken: gitlabDelivery(payload, { signingToken: ROTATED_OUT }),
      notV1: { ...signed, headers: { ...signed.headers, 'webhook-signature': signed.headers['webhook-signature']!.replace('v1,', 'v1a,') } },
      wrongSecretToken: gitlabDelivery(payload, { scheme: 'token', secretToken: `${SECRET_TOKEN}x` }),
      secretTokenPrefix: gitlabDelivery(payload, { scheme: 'token', secretToken: SECRET_TOKEN.slice(0, -1) }),
      staleSigned: gitlabDelivery(payload, { at: new Date(Date.now() - 6 * 60_000) }),
      futureSigned: gitlabDelivery(payload, { at: new Date(Date.now() + 6 * 60_000) }),
      noWebhookId: { ...signed, headers: without(signed.headers, 'webhook-id') },
      noTimestamp: { ...signed, headers: without(signed.headers, 'webhook-timestamp') },
      nothing: { ...legacy, headers: without(legacy.headers, 'x-gitlab-token') },
    };
    for (const [name, d] of Object.entries(cases)) await expectRefused(d, name);
    expect(await metricValue(t, 'hub_webhook_deliveries_total', { connector: 'gitlab', outcome: 'rejected' })).toBe(rejected + 10);
    expect(await metricValue(t, 'hub_webhook_rejections_total', { connector: 'gitlab', reason: 'bad_signature' })).toBe(bad + 5);
    expect(await metricValue(t, 'hub_webhook_rejections_total', { connector: 'gitlab', reason: 'stale_timestamp' })).toBe(stale + 2);
    expect(await metricValue(t, 'hub_webhook_rejections_total', { connector: 'gitlab', reason: 'missing_signature' })).toBe(missing + 3);
  });

  it('refuses a hook URL that names no connection', async () => {
    await expectRefused(gitlabDelivery(mergeRequestOpened(newProjectId()), { path: '/not-a-connection' }), 'bad path');
  });

  it('answers 503 webhook_not_configured, storing nothing, when the token a delivery needs is not set', async () => {
    // Second instances on this file's backends, each with some tokens unset ('' is unset).
    const cases = [
      [{ GITLAB_WEBHOOK_TOKEN: '', GITLAB_WEBHOOK_SIGNING_TOKEN: '' }, gitlabDelivery(mergeRequestOpened(newProjectId())), 'neither set'],
      [{ GITLAB_WEBHOOK_SIGNING_TOKEN: '' }, gitlabDelivery(mergeRequestOpened(newProjectId())), 'signed, signing token not set'],
      [{ GITLAB_WEBHOOK_TOKEN: '' }, gitlabDelivery(mergeRequestOpened(newProjectId()), { scheme: 'token' }), 'secret token, not set'],
    ] as const;
    for (const [env, d, name] of cases) {
      const app = await buildTestApp(env, { secondInstanceOf: t });
      try {
        const res = await deliver(app, 'gitlab', d);
        expect(res.statusCode, name).toBe(503);
        expect(res.json(), name).toMatchObject({ code: 'webhook_not_configured' });
        expect(await inboxEvents(app, 'gitlab', d.id), name).toEqual([]);
        // The token that is set still verifies what it signs.
        if (!('GITLAB_WEBHOOK_TOKEN' in env)) {
          const legacy = gitlabDelivery(mergeRequestOpened(newProjectId()), { scheme: 'token' });
          expect((await deliver(app, 'gitlab', legacy)).statusCode, name).toBe(200);
        }
      } finally {
        await app.close();
      }
    }
  });

  it('declares what each event changes, and nothing for events no widget shows', () => {
    const effects = connector.webhooks!.effects;
    expect(effects({ eventType: 'merge_request.merge', payload: {} })).toEqual({ widgets: ['open-merge-requests'] });
    expect(effects({ eventType: 'build', payload: {} })).toEqual({ widgets: ['pipeline-status'] });
    expect(effects({ eventType: 'push', payload: {} })).toEqual({ widgets: [] });
    expect(effects({ eventType: 'user_destroy', payload: {} })).toEqual({ widgets: [] });
  });
});

describe('processing', () => {
  async function connectWithProject(): Promise<{ ws: string; integrationId: string; token: string; project: FakeProject }> {
    const project: FakeProject = { id: newProjectId(), path: `acme/platform-${randomUUID().slice(0, 8)}`, mergeRequests: [], pipelines: [] };
    fake.projects.push(project, { id: newProjectId(), path: `acme/not-mine-${randomUUID().slice(0, 8)}`, member: false, mergeRequests: [], pipelines: [] });
    const ws = t.newWorkspace();
    const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'gitlab' });
    return { ws, integrationId, token: await t.token({ workspaces: [ws] }), project };
  }

  it('keys the connection by the projects its user is a member of, on its instance', async () => {
    const { integrationId, project } = await connectWithProject();
    const [row] = await t.deps.database.db.select().from(connections).where(eq(connections.id, integrationId));
    expect(row!.routingKeys).toContain(`project:${instanceHost()}/${project.id}`);
    const notMine = fake.projects.filter((p) => p.member === false).map((p) => `project:${instanceHost()}/${p.id}`);
    expect(row!.routingKeys.filter((k) => notMine.includes(k))).toEqual([]);
  });

  it('routes by project, refreshes the widget the event changes, and announces it live', async () => {
    const { ws, integrationId, token, project } = await connectWithProject();
    const url = `/workspaces/${ws}/integrations/${integrationId}/widgets/open-merge-requests/data?project=${project.id}`;
    const read = await t.app.inject({ url, headers: { authorization: `Bearer ${token}` } });
    expect(read.statusCode).toBe(200);
    expect(read.json().data.items).toEqual([]);
    // The read is recorded for syncs and webhooks a moment later (never on the read's own path).
    await readsRecorded(t);

    const stream = await openEventStream(baseUrl, ws, token);
    try {
      project.mergeRequests.push({ iid: 7, title: 'Add SSO', author: 'octo', createdAt: new Date().toISOString() });
      const callsBefore = fake.api.routeCalls.mergeRequests;
      const d = gitlabDelivery(mergeRequestOpened(project.id, project.path));
      expect((await deliver(t, 'gitlab', d)).statusCode).toBe(200);
      expect(await processNow(t, 'gitlab', d.id)).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId], error: null });
      expect(fake.api.routeCalls.mergeRequests).toBe(callsBefore + 1);

      const live = await stream.next((e) => e.event === 'widget.updated');
      expect(JSON.parse(live.data!)).toEqual({ integrationId, slug: 'gitlab', widgetId: 'open-merge-requests', params: { project: String(project.id) } });
      const after = await t.app.inject({ url, headers: { authorization: `Bearer ${token}` } });
      expect(after.json()).toMatchObject({ source: 'cache', stale: false });
      expect(after.json().data.items).toHaveLength(1);
    } finally {
      await stream.close();
    }
  });

  it('refreshes the pipeline status on a pipeline event (secret-token hook)', async () => {
    const { ws, integrationId, token, project } = await connectWithProject();
    const url = `/workspaces/${ws}/integrations/${integrationId}/widgets/pipeline-status/data?project=${project.id}`;
    expect((await t.app.inject({ url, headers: { authorization: `Bearer ${token}` } })).json().data.rows).toEqual([]);
    await readsRecorded(t);
    project.pipelines.push({ id: 31, ref: 'main', status: 'failed', updatedAt: new Date().toISOString() });
    const callsBefore = fake.api.routeCalls.pipelines;
    const d = gitlabDelivery(pipelineFailed(project.id), { scheme: 'token', event: 'Pipeline Hook' });
    expect((await deliver(t, 'gitlab', d)).statusCode).toBe(200);
    expect(await processNow(t, 'gitlab', d.id)).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId] });
    expect(fake.api.routeCalls.pipelines).toBe(callsBefore + 1);
    const after = await t.app.inject({ url, headers: { authorization: `Bearer ${token}` } });
    expect(after.json().data.rows).toMatchObject([{ ref: 'main', status: 'failed' }]);
  });

  it('keeps an event for a project no connection lists, or from another instance, as unmatched', async () => {
    const { project } = await connectWithProject();
    const other = gitlabDelivery(mergeRequestOpened(newProjectId()));
    expect((await deliver(t, 'gitlab', other)).statusCode).toBe(200);
    expect(await processNow(t, 'gitlab', other.id)).toMatchObject({ status: 'unmatched', matchedConnectionIds: [] });

    const elsewhere = gitlabDelivery(mergeRequestOpened(project.id));
    elsewhere.headers['x-gitlab-instance'] = 'https://gitlab.other.example';
    elsewhere.headers['webhook-signature'] = new Webhook(SIGNING_TOKEN).sign(elsewhere.id, new Date(Number(elsewhere.headers['webhook-timestamp']) * 1000), elsewhere.body);
    expect((await deliver(t, 'gitlab', elsewhere)).statusCode).toBe(200);
    expect(await processNow(t, 'gitlab', elsewhere.id)).toMatchObject({ status: 'unmatched', matchedConnectionIds: [] });
  });

  it('routes a hook whose URL names the connection, whatever project it reports', async () => {
    const { integrationId } = await connectWithProject();
    const d = gitlabDelivery(mergeRequestOpened(newProjectId()), { path: `/${integrationId}` });
    expect((await deliver(t, 'gitlab', d)).statusCode).toBe(200);
    expect((await inboxEvents(t, 'gitlab', d.id))[0]).toMatchObject({ connectionId: integrationId });
    expect(await processNow(t, 'gitlab', d.id)).toMatchObject({ status: 'processed', matchedConnectionIds: [integrationId] });
  });
});
