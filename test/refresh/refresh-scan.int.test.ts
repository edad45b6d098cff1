// The scheduled refresh scan: connections whose next_refresh_at has passed are claimed (the lease hides them from
// other scanners) and refreshed; ones not yet due are left alone; two instances scanning at once refresh each due
// connection exactly once; a transient token-endpoint failure keeps the connection active until its token has
// actually expired, then marks it `error`, and a later scan recovers it.
import { eq, inArray } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditEvents, connections } from '../../src/db/schema.js';
import { createRefreshScheduler } from '../../src/modules/refresh/refresh.scheduler.js';
import { bearerToken } from '../fakes/fake-server.js';
import { GOOGLE_PATHS } from '../fakes/google.js';
import { startFakeOAuthProvider, type FakeGrant, type FakeOAuthProvider } from '../fakes/oauth-provider.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { createScratchDatabase } from '../support/database.js';
import { connectViaOAuth, providerEnvFor } from '../support/oauth-flow.js';

const AHEAD_MS = 600_000; // REFRESH_AHEAD_SECONDS' default

let fake: FakeOAuthProvider;
let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
let t: TestApp;
let other: TestApp;
let workspaces: string[] = [];

/**
 * A Google-shaped provider whose refresh tokens rotate on every use, with reuse detection: a grant's
 * `retiredRefreshTokens` counts its refreshes exactly, and a second refresh with a stale token revokes it.
 */
async function startRotatingProvider() {
  return startFakeOAuthProvider(
    { clientAuth: 'body', bodyFormat: 'form', pkce: 'optional', refresh: 'rotating', reuseDetection: true, accessTtlSeconds: 3600, paths: GOOGLE_PATHS, grantExtra: () => ({ email: 'coo@example.com' }) },
    (app, provider) => {
      app.get(`${GOOGLE_PATHS.api}/users/me/calendarList/primary`, async (req, reply) => {
        const grant = provider.grantOfAccessToken(bearerToken(req));
        return grant ? { id: grant.extra.email } : reply.code(401).send({ error: { code: 401 } });
      });
    },
  );
}

beforeAll(async () => {
  fake = await startRotatingProvider();
  // The scan claims every due row in the database, whoever made it: on PostgreSQL this file works in a database
  // of its own, so other files' connections are never refreshed here (nor counted at this fake).
  scratch = await createScratchDatabase('refresh_scan');
  t = await buildTestApp({ ...providerEnvFor('GOOGLE', fake, GOOGLE_PATHS), ...(scratch ? { DATABASE_URL: scratch.url } : {}) });
  other = await buildTestApp({}, { secondInstanceOf: t });
  await Promise.all([t.app.ready(), other.app.ready()]);
});
afterEach(async () => {
  fake.setTokenDelay(0);
  // Every test leaves the database as it found it: a connection left due would be claimed by the next test's scan.
  if (workspaces.length) {
    await t.deps.database.db.delete(connections).where(inArray(connections.workspaceId, workspaces));
    await t.deps.database.db.delete(auditEvents).where(inArray(auditEvents.workspaceId, workspaces));
  }
  workspaces = [];
});
afterAll(async () => {
  await other?.close();
  await t?.close();
  await fake?.close();
  await scratch?.drop();
});

interface Connected {
  id: string;
  ws: string;
  grant: FakeGrant;
}

async function connect(): Promise<Connected> {
  const ws = t.newWorkspace();
  workspaces.push(ws);
  const { integrationId } = await connectViaOAuth(t, { workspaceId: ws, slug: 'google-calendar' });
  const grant = [...fake.grants.values()].at(-1)!;
  return { id: integrationId, ws, grant };
}

async function rowOf(id: string) {
  const [row] = await t.deps.database.db.select().from(connections).where(eq(connections.id, id));
  return row!;
}

/** The access token expires in `expiresInMs` (negative: already expired) and the row's refresh time has passed. */
async function makeDue(id: string, expiresInMs: number) {
  await t.deps.database.db
    .update(connections)
    .set({ accessExpiresAt: new Date(Date.now() + expiresInMs), nextRefreshAt: new Date(Date.now() - 1_000) })
    .where(eq(connections.id, id));
}

function storedRefreshToken(row: Awaited<ReturnType<typeof rowOf>>): string | undefined {
  const stored = t.deps.sealer.open(row.id, row.credentials!);
  return stored.type === 'oauth2' ? stored.tokens.refreshToken : undefined;
}

async function view(c: Connected) {
  const res = await t.app.inject({ url: `/workspaces/${c.ws}/integrations/${c.id}`, headers: { authorization: `Bearer ${await t.token({ workspaces: [c.ws] })}` } });
  expect(res.statusCode).toBe(200);
  return res.json().integration as { status: string; lastError: string | null; lastRefreshedAt: string | null };
}

describe('the refresh scan', () => {
  it('refreshes connections whose next_refresh_at has passed, and no others', async () => {
    const due = await connect();
    const later = await connect();
    const early = await connect();
    await makeDue(due.id, 120_000);
    // Claimed (its refresh time was moved into the past) but its token is good for an hour: no token call,
    // and it goes back on its proper schedule.
    await t.deps.database.db.update(connections).set({ nextRefreshAt: new Date(Date.now() - 1_000) }).where(eq(connections.id, early.id));
    const laterBefore = await rowOf(later.id);
    expect(laterBefore.nextRefreshAt!.getTime()).toBeGreaterThan(Date.now());
    const calls = fake.calls.refreshes;

    expect(await t.deps.refreshScheduler.scanOnce()).toBe(2);

    expect(fake.calls.refreshes - calls).toBe(1);
    expect(due.grant.retiredRefreshTokens).toHaveLength(1);
    const refreshed = await rowOf(due.id);
    expect(storedRefreshToken(refreshed)).toBe(due.grant.refreshToken);
    expect(refreshed).toMatchObject({ status: 'active', refreshFailures: 0, lastError: null });
    expect(refreshed.accessExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 3_000_000);
    expect(refreshed.nextRefreshAt!.getTime()).toBe(refreshed.accessExpiresAt!.getTime() - AHEAD_MS);
    expect((await view(due)).lastRefreshedAt).toEqual(expect.any(String));

    for (const untouched of [later, early]) expect(untouched.grant.retiredRefreshTokens).toHaveLength(0);
    expect((await rowOf(later.id)).nextRefreshAt).toEqual(laterBefore.nextRefreshAt);
    const rescheduled = await rowOf(early.id);
    expect(rescheduled.nextRefreshAt!.getTime()).toBe(rescheduled.accessExpiresAt!.getTime() - AHEAD_MS);
    expect(rescheduled.lastRefreshedAt).toBeNull();

    // Nothing is due any more: the next scan claims nothing and calls nobody.
    expect(await t.deps.refreshScheduler.scanOnce()).toBe(0);
    expect(fake.calls.refreshes - calls).toBe(1);
  });

  it('leases what it claims: next_refresh_at moves out by the lease, and nobody claims the row until it ends', async () => {
    const c = await connect();
    await makeDue(c.id, 120_000);
    const before = Date.now();
    expect(await t.deps.connectionRepo.claimDueForRefresh(10, 120)).toEqual([c.id]);
    const after = Date.now();
    const leased = (await rowOf(c.id)).nextRefreshAt!.getTime();
    // now() + 120 s, read on the database's clock (the same machine's; a second either way for rounding).
    expect(leased).toBeGreaterThanOrEqual(before + 120_000 - 1_000);
    expect(leased).toBeLessThanOrEqual(after + 120_000 + 1_000);
    const calls = fake.calls.refreshes;
    // While leased (a scanner is refreshing it, or crashed doing so), no scanner takes it, on either instance.
    expect(await other.deps.connectionRepo.claimDueForRefresh(10, 120)).toEqual([]);
    expect(await t.deps.refreshScheduler.scanOnce()).toBe(0);
    expect(await other.deps.refreshScheduler.scanOnce()).toBe(0);
    expect(fake.calls.refreshes).toBe(calls);
    // The lease runs out (a crashed scanner never refreshed it): the row is due again, and refreshed.
    await t.deps.database.db.update(connections).set({ nextRefreshAt: new Date(Date.now() - 1_000) }).where(eq(connections.id, c.id));
    expect(await other.deps.refreshScheduler.scanOnce()).toBe(1);
    expect(fake.calls.refreshes).toBe(calls + 1);
    expect(c.grant.retiredRefreshTokens).toHaveLength(1);
  });

  it('on two instances scanning at once, refreshes each due connection exactly once', async () => {
    const due: Connected[] = [];
    for (let i = 0; i < 8; i++) due.push(await connect());
    for (const c of due) await makeDue(c.id, 120_000);
    // Slow token answers hold the first scanner's refreshes in flight while the second one scans.
    fake.setTokenDelay(150);
    const calls = fake.calls.refreshes;
    const claimed = await Promise.all([t.deps.refreshScheduler.scanOnce(), other.deps.refreshScheduler.scanOnce()]);
    // Each row was claimed by one scanner only, and refreshed once: one token call each, no grant revoked
    // for a reused refresh token, and the stored refresh token is the live one.
    expect(claimed[0] + claimed[1]).toBe(due.length);
    expect(fake.calls.refreshes - calls).toBe(due.length);
    for (const c of due) {
      expect(c.grant.retiredRefreshTokens).toHaveLength(1);
      expect(c.grant.revoked).toBe(false);
      expect(storedRefreshToken(await rowOf(c.id))).toBe(c.grant.refreshToken);
    }
  });

  it('claims in batches until fewer than a batch are due; two running small-batch schedulers split the work without overlap', async () => {
    const due: Connected[] = [];
    for (let i = 0; i < 9; i++) due.push(await connect());
    for (const c of due) await makeDue(c.id, 120_000);
    // Batches of 2 for 9 rows: a scan must claim again and again. Started as main.ts starts them (a scan at once,
    // the next one after the interval, here far beyond the test), on both instances.
    const scanners = [t, other].map((app) =>
      createRefreshScheduler({ connectionRepo: app.deps.connectionRepo, refresh: app.deps.refresh, logger: app.deps.logger }, { batchSize: 2, concurrency: 2, intervalMs: 600_000 }),
    );
    fake.setTokenDelay(100);
    const calls = fake.calls.refreshes;
    try {
      for (const scanner of scanners) scanner.start();
      await vi.waitFor(() => expect(due.every((c) => c.grant.retiredRefreshTokens.length > 0)).toBe(true), { timeout: 60_000, interval: 100 });
    } finally {
      await Promise.all(scanners.map((s) => s.stop()));
    }
    expect(fake.calls.refreshes - calls).toBe(due.length);
    for (const c of due) {
      expect(c.grant.retiredRefreshTokens).toHaveLength(1);
      expect(c.grant.revoked).toBe(false);
      expect(storedRefreshToken(await rowOf(c.id))).toBe(c.grant.refreshToken);
    }
  });
});

describe('a transient token-endpoint failure during the scan', () => {
  it('before the token expires: stays active, counts the failure, and tries again later', async () => {
    const c = await connect();
    await makeDue(c.id, 300_000);
    fake.failNextToken(503, 'temporarily_unavailable');
    const scanned = Date.now();
    expect(await t.deps.refreshScheduler.scanOnce()).toBe(1);
    const row = await rowOf(c.id);
    expect(row).toMatchObject({ status: 'active', refreshFailures: 1, lastError: 'refresh_failed: temporarily_unavailable' });
    expect(row.nextRefreshAt!.getTime()).toBeGreaterThan(scanned);
    expect(c.grant.retiredRefreshTokens).toHaveLength(0);
    expect(await view(c)).toMatchObject({ status: 'active', lastError: 'refresh_failed: temporarily_unavailable' });
  });

  it('after the token has expired: status error, with an audit event; the next scan after the backoff recovers it', async () => {
    const c = await connect();
    await makeDue(c.id, -60_000);
    fake.failNextToken(503, 'temporarily_unavailable');
    const scanned = Date.now();
    expect(await t.deps.refreshScheduler.scanOnce()).toBe(1);
    const row = await rowOf(c.id);
    expect(row).toMatchObject({ status: 'error', refreshFailures: 1, lastError: 'refresh_failed: temporarily_unavailable' });
    expect(row.nextRefreshAt!.getTime()).toBeGreaterThan(scanned);
    expect(await view(c)).toMatchObject({ status: 'error', lastError: 'refresh_failed: temporarily_unavailable' });
    const audits = await t.deps.database.db.select().from(auditEvents).where(eq(auditEvents.connectionId, c.id));
    expect(audits.map((a) => a.action)).toContain('refresh_failed');

    // The backoff has passed: the scan takes `error` rows too, and a successful refresh makes it active again.
    await t.deps.database.db.update(connections).set({ nextRefreshAt: new Date(Date.now() - 1_000) }).where(eq(connections.id, c.id));
    expect(await t.deps.refreshScheduler.scanOnce()).toBe(1);
    expect(c.grant.retiredRefreshTokens).toHaveLength(1);
    expect(await rowOf(c.id)).toMatchObject({ status: 'active', refreshFailures: 0, lastError: null });
    expect((await view(c)).status).toBe('active');
  });
});
