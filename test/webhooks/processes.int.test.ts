// Webhooks across real processes: a hub killed with SIGKILL after acknowledging a delivery, before processing
// it, processes it after restart (nothing accepted is lost); and on PostgreSQL + Redis, SSE clients of two hub
// processes both see an event that one of them handled.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_SCOPE, mintToken } from '../../src/modules/auth/auth.service.js';
import { GITHUB_PATHS, startFakeGitHub, type FakeGitHub } from '../fakes/github.js';
import { buildTestApp, testEnv } from '../support/app.js';
import { createScratchDatabase } from '../support/database.js';
import { startHubProcess, type HubProcess } from '../support/hub-process.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';
import { eventually, openEventStream } from '../support/webhooks.js';

const SECRET = 'processes-test-secret';
const onRealBackends = Boolean(process.env.DATABASE_URL);
const processes: HubProcess[] = [];
let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;

beforeAll(async () => {
  scratch = await createScratchDatabase('webhook_processes');
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill()));
  await scratch?.drop();
});

async function start(env: Record<string, string>): Promise<HubProcess> {
  const hub = await startHubProcess(env);
  processes.push(hub);
  return hub;
}

async function githubDelivery(payload: unknown) {
  const body = JSON.stringify(payload);
  const delivery = randomUUID();
  return {
    delivery,
    init: {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-github-event': 'pull_request', 'x-github-delivery': delivery, 'x-hub-signature-256': await sign(SECRET, body) },
    },
  };
}

describe('a hub killed after the 2xx', () => {
  it('processes the stored delivery after it restarts', { timeout: 240_000 }, async () => {
    const env: Record<string, string> = {
      ...testEnv({ GITHUB_WEBHOOK_SECRET: SECRET, LOG_LEVEL: 'warn' }),
      DATA_DIR: mkdtempSync(join(tmpdir(), 'hub-crash-')),
      DATABASE_URL: scratch?.url ?? '',
      REDIS_URL: process.env.REDIS_URL ?? '',
    };
    // API only: the delivery is stored and acknowledged, and no worker takes it before the kill.
    const first = await start({ ...env, RUN_WORKERS: 'false' });
    const { delivery, init } = await githubDelivery({ action: 'opened', installation: { id: 424242 } });
    const ack = await fetch(`${first.url}/webhooks/github`, init);
    expect(ack.status).toBe(200);
    await first.kill();

    const second = await start({ ...env, RUN_WORKERS: 'true' });
    const admin = await mintToken({ secret: env.AUTH_JWT_SECRET!, audience: 'integration-hub', scope: ADMIN_SCOPE });
    const event = await eventually(async () => {
      const res = await fetch(`${second.url}/admin/webhook-events?connector=github`, { headers: { authorization: `Bearer ${admin}` } });
      const { events } = (await res.json()) as { events: { deliveryId: string; status: string; attempts: number }[] };
      const found = events.find((e) => e.deliveryId === delivery);
      return found && found.status !== 'received' ? found : undefined;
    }, 60_000, 'the event processed after restart').catch((error: unknown) => {
      throw new Error(`${String(error)}\n--- hub output ---\n${second.output().slice(0, 6000)}`);
    });
    // Nothing holds installation 424242: processed as unmatched, once.
    expect(event).toMatchObject({ status: 'unmatched', attempts: 1 });
    expect(await second.stop()).toBe(0);
  });
});

// Two processes cannot share the embedded PGlite; the embedded project covers instances in one process (inbox test).
if (onRealBackends) describe('two hub processes on PostgreSQL and Redis', () => {
  let fake: FakeGitHub;
  beforeAll(async () => {
    fake = await startFakeGitHub({ installations: [515151] });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('both stream an event that one of them processed', async () => {
    const setup = await buildTestApp({ ...providerEnvFor('GITHUB', fake, GITHUB_PATHS), GITHUB_WEBHOOK_SECRET: SECRET, DATABASE_URL: scratch!.url });
    const ws = setup.newWorkspace();
    const token = await setup.token({ workspaces: [ws] });
    let integrationId: string;
    try {
      integrationId = (await connectViaOAuth(setup, { workspaceId: ws, slug: 'github' })).integrationId;
      fake.repos.set('acme/live', { pulls: [], runs: [] });
      const read = await setup.app.inject({ url: `/workspaces/${ws}/integrations/${integrationId}/widgets/open-pull-requests/data?repo=acme/live`, headers: { authorization: `Bearer ${token}` } });
      expect(read.statusCode).toBe(200);
      await setup.deps.sync.flushReads(); // the read is recorded off the read's path
    } finally {
      await setup.close();
    }

    const env = { ...setup.env, LOG_LEVEL: 'warn', RUN_WORKERS: 'true' };
    const [a, b] = [await start(env), await start(env)];
    const streams = [await openEventStream(a.url, ws, token), await openEventStream(b.url, ws, token)];
    try {
      for (const { response } of streams) {
        // The stream is written raw, yet carries the headers every API answer has.
        expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
        expect(response.headers.get('ratelimit-limit')).toBeTruthy();
        expect(response.headers.get('x-request-id')).toMatch(/^req_/);
      }
      const { init } = await githubDelivery({ action: 'opened', number: 1, installation: { id: 515151 } });
      expect((await fetch(`${a.url}/webhooks/github`, init)).status).toBe(200);
      for (const stream of streams) {
        const event = await stream.next((e) => e.event === 'widget.updated', 60_000);
        expect(JSON.parse(event.data!)).toEqual({ integrationId, slug: 'github', widgetId: 'open-pull-requests', params: { repo: 'acme/live' } });
      }
      // The same event, with the same id, on both.
      expect(streams[0]!.events.find((e) => e.event === 'widget.updated')!.id).toBe(streams[1]!.events.find((e) => e.event === 'widget.updated')!.id);
    } finally {
      await Promise.all(streams.map((s) => s.close()));
    }
  });
});
