// One refresh at a time per connection, across processes and instances: a rotating refresh token is never lost.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connections } from '../../src/db/schema.js';
import { createRefreshService } from '../../src/modules/refresh/refresh.service.js';
import { GOOGLE_PATHS } from '../fakes/google.js';
import { startFakeOAuthProvider, type FakeOAuthProvider } from '../fakes/oauth-provider.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';
import { bearerToken } from '../fakes/fake-server.js';
import { refreshLock } from '../../src/lib/kv-keys.js';

let fake: FakeOAuthProvider;
let t: TestApp;

/** A Google-shaped provider whose refresh tokens rotate on every use, answering slowly to hold refreshes in flight. */
async function startRotatingProvider(reuseDetection: boolean) {
  return startFakeOAuthProvider(
    { clientAuth: 'body', bodyFormat: 'form', pkce: 'optional', refresh: 'rotating', reuseDetection, accessTtlSeconds: 3600, paths: GOOGLE_PATHS, grantExtra: () => ({ email: 'cto@example.com' }) },
    (app, provider) => {
      app.get(`${GOOGLE_PATHS.api}/users/me/calendarList/primary`, async (req, reply) => {
        const grant = provider.grantOfAccessToken(bearerToken(req));
        return grant ? { id: grant.extra.email } : reply.code(401).send({ error: { code: 401 } });
      });
    },
  );
}

async function storedRefreshToken(id: string): Promise<string | undefined> {
  const [row] = await t.deps.database.db.select().from(connections).where(eq(connections.id, id));
  const stored = t.deps.sealer.open(id, row!.credentials!);
  return stored.type === 'oauth2' ? stored.tokens.refreshToken : undefined;
}

beforeAll(async () => {
  fake = await startRotatingProvider(true);
  t = await buildTestApp(providerEnvFor('GOOGLE', fake, GOOGLE_PATHS));
  await t.app.ready();
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

describe('concurrent refreshes of one rotating-token connection', () => {
  it('in one process: 20 callers, one token-endpoint call', async () => {
    const { integrationId } = await connectViaOAuth(t, { workspaceId: t.newWorkspace(), slug: 'google-calendar' });
    fake.setTokenDelay(200);
    const before = fake.calls.refreshes;
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => t.deps.refresh.refresh(integrationId, { force: true })));
    fake.setTokenDelay(0);
    expect(fake.calls.refreshes - before).toBe(1);
    expect(new Set(outcomes)).toEqual(new Set(['refreshed']));
    const grant = [...fake.grants.values()].at(-1)!;
    expect(await storedRefreshToken(integrationId)).toBe(grant.refreshToken);
  });

  it('across two instances sharing the store: one call, the other sees it done, nothing lost', async () => {
    const { integrationId } = await connectViaOAuth(t, { workspaceId: t.newWorkspace(), slug: 'google-calendar' });
    const other = createRefreshService({ ...t.deps, config: t.config });
    fake.setTokenDelay(300);
    const before = fake.calls.refreshes;
    const outcomes = await Promise.all([t.deps.refresh.refresh(integrationId, { force: true }), other.refresh(integrationId, { force: true })]);
    fake.setTokenDelay(0);
    expect(fake.calls.refreshes - before).toBe(1);
    expect(outcomes.sort()).toEqual(['refreshed', 'refreshed_elsewhere']);
    const grant = [...fake.grants.values()].at(-1)!;
    expect(grant.revoked).toBe(false);
    expect(await storedRefreshToken(integrationId)).toBe(grant.refreshToken);
    // The grant is alive: the next refresh works.
    expect(await other.refresh(integrationId, { force: true })).toBe('refreshed');
  });

  it('when the lock is lost mid-refresh, the compare-and-set keeps the first write and loses nothing', async () => {
    const lenient = await startRotatingProvider(false);
    const app = await buildTestApp(providerEnvFor('GOOGLE', lenient, GOOGLE_PATHS));
    try {
      const { integrationId } = await connectViaOAuth(app, { workspaceId: app.newWorkspace(), slug: 'google-calendar' });
      const other = createRefreshService({ ...app.deps, config: app.config });
      lenient.setTokenDelay(400);
      const first = app.deps.refresh.refresh(integrationId, { force: true });
      await new Promise((r) => setTimeout(r, 100));
      // The first holder's lock vanishes (a stalled process whose lock expired): the second gets in.
      await app.deps.kv.del(refreshLock(integrationId));
      const second = other.refresh(integrationId, { force: true });
      const outcomes = [await first, await second];
      lenient.setTokenDelay(0);
      expect(outcomes).toEqual(['refreshed', 'conflict']);
      const [row] = await app.deps.database.db.select().from(connections).where(eq(connections.id, integrationId));
      const stored = app.deps.sealer.open(integrationId, row!.credentials!);
      const grant = [...lenient.grants.values()].at(-1)!;
      // What is stored is a refresh token the provider still honours: the next refresh succeeds.
      expect(stored.type === 'oauth2' && (stored.tokens.refreshToken === grant.refreshToken || grant.retiredRefreshTokens.includes(stored.tokens.refreshToken!))).toBe(true);
      expect(await app.deps.refresh.refresh(integrationId, { force: true })).toBe('refreshed');
    } finally {
      await app.close();
      await lenient.close();
    }
  });

  it('across two hub processes on the same database and store: one token-endpoint call', async () => {
    if (process.env.HUB_TEST_BACKEND !== 'postgres-redis') {
      // The embedded backends serve one process by design (PGlite, in-memory store); the instance test above covers them.
      expect(t.deps.kv.kind).toBe('memory');
      return;
    }
    const { integrationId } = await connectViaOAuth(t, { workspaceId: t.newWorkspace(), slug: 'google-calendar' });
    const children: ChildProcessWithoutNullStreams[] = [];
    const outputs: Promise<string>[] = [];
    for (let i = 0; i < 2; i++) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/refresh-child.ts', integrationId], {
        env: { ...process.env, ...t.env, LOG_LEVEL: 'warn' },
      });
      children.push(child);
      const lines = createInterface({ input: child.stdout });
      const iterator = lines[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toBe('READY');
      outputs.push(iterator.next().then((r) => String(r.value)));
    }
    fake.setTokenDelay(300);
    const before = fake.calls.refreshes;
    for (const child of children) child.stdin.write('go\n');
    const results = (await Promise.all(outputs)).map((line) => JSON.parse(line).outcome as string);
    await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : undefined)));
    fake.setTokenDelay(0);
    expect(fake.calls.refreshes - before).toBe(1);
    expect(results.sort()).toEqual(['refreshed', 'refreshed_elsewhere']);
    const grant = [...fake.grants.values()].at(-1)!;
    expect(grant.revoked).toBe(false);
    expect(await storedRefreshToken(integrationId)).toBe(grant.refreshToken);
  }, 120_000);
});
