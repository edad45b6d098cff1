// The webhook worker's batch path: a claimed batch is routed with one query per connector; events that need no
// more than routing are recorded together, the others are processed one by one; each event exactly once.
import { randomUUID } from 'node:crypto';
import { sign } from '@octokit/webhooks-methods';
import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookEvents } from '../../src/db/schema.js';
import { GITHUB_PATHS, startFakeGitHub, type FakeGitHub } from '../fakes/github.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { createScratchDatabase } from '../support/database.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';
import { deliver, metricValue } from '../support/webhooks.js';

const SECRET = 'batch-test-secret';
const INSTALLATION = 6100001;
let fake: FakeGitHub;
let t: TestApp;
// drain() takes every due event it finds: this file works on a database of its own.
let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;

beforeAll(async () => {
  fake = await startFakeGitHub({ installations: [INSTALLATION] });
  scratch = await createScratchDatabase('webhook_batch');
  t = await buildTestApp({ ...providerEnvFor('GITHUB', fake, GITHUB_PATHS), GITHUB_WEBHOOK_SECRET: SECRET, ...(scratch ? { DATABASE_URL: scratch.url } : {}) });
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
  await scratch?.drop();
});

async function post(event: string, payload: unknown): Promise<string> {
  const body = JSON.stringify(payload);
  const delivery = randomUUID();
  const res = await deliver(t, 'github', {
    body,
    headers: { 'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': delivery, 'x-hub-signature-256': await sign(SECRET, body) },
  });
  expect(res.statusCode).toBe(200);
  return delivery;
}

describe('a batch of events', () => {
  it('settles routing-only events together, processes the others one by one, each exactly once', async () => {
    const { integrationId } = await connectViaOAuth(t, { workspaceId: t.newWorkspace(), slug: 'github' });
    const installation = { id: INSTALLATION };
    const deliveries = {
      unmatched: await Promise.all([1, 2, 3].map((n) => post('pull_request', { action: 'opened', number: n, installation: { id: 31337 } }))),
      // No widget shows issues: routed, nothing to refresh.
      routedOnly: await Promise.all([1, 2].map((n) => post('issues', { action: 'opened', issue: { number: n }, installation }))),
      // Changes a widget: processed on its own (nobody read the widget lately, so nothing is fetched).
      withEffect: [await post('pull_request', { action: 'closed', number: 9, installation })],
    };
    const processedBefore = await metricValue(t, 'hub_webhook_events_total', { connector: 'github', status: 'processed' });
    const unmatchedBefore = await metricValue(t, 'hub_webhook_events_total', { connector: 'github', status: 'unmatched' });

    expect(await t.deps.webhookProcessor.drain()).toBe(6);
    const all = Object.values(deliveries).flat();
    const rows = new Map((await t.deps.database.db.select().from(webhookEvents).where(inArray(webhookEvents.deliveryId, all))).map((r) => [r.deliveryId, r]));
    for (const id of deliveries.unmatched) expect(rows.get(id)).toMatchObject({ status: 'unmatched', attempts: 1, matchedConnectionIds: [], error: null });
    for (const id of [...deliveries.routedOnly, ...deliveries.withEffect]) {
      expect(rows.get(id)).toMatchObject({ status: 'processed', attempts: 1, matchedConnectionIds: [integrationId], error: null });
      expect(rows.get(id)!.processedAt).toBeInstanceOf(Date);
    }
    expect(await metricValue(t, 'hub_webhook_events_total', { connector: 'github', status: 'processed' })).toBe(processedBefore + 3);
    expect(await metricValue(t, 'hub_webhook_events_total', { connector: 'github', status: 'unmatched' })).toBe(unmatchedBefore + 3);
    // Nothing is left, and nothing is taken twice.
    expect(await t.deps.webhookProcessor.drain()).toBe(0);
    // The batch path did the routing-only events (its failure would have fallen back to one by one, and said so).
    expect(t.logs.text()).not.toContain('batch routing of webhook events failed');
  });
});
