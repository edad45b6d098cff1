// The migrated schema enforces the data model: defaults, CHECKs, uniqueness, cascades, and the indexes the scans rely on.
import { randomUUID } from 'node:crypto';
import { and, arrayContains, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../test/support/database.js';
import { newId } from '../lib/ids.js';
import type { Database } from './database.js';
import { auditEvents, connections, syncRuns, webhookEvents, type NewConnectionRow } from './schema.js';

let database: Database;
const workspaces: string[] = [];

beforeAll(async () => {
  database = await openTestDatabase();
});

afterEach(async () => {
  // The real database is shared with other test files: remove only what this file made.
  for (const ws of workspaces.splice(0)) {
    await database.db.delete(connections).where(eq(connections.workspaceId, ws));
    await database.db.delete(auditEvents).where(eq(auditEvents.workspaceId, ws));
  }
});

afterAll(async () => {
  await database?.close();
});

function newWorkspace(): string {
  const ws = `ws_${randomUUID()}`;
  workspaces.push(ws);
  return ws;
}

async function insertConnection(values: Partial<NewConnectionRow> & { workspaceId: string }) {
  const [row] = await database.db
    .insert(connections)
    .values({ id: newId('connection'), integration: 'slack', externalAccountId: `T${randomUUID()}`, ...values })
    .returning();
  return row!;
}

/** The SQLSTATE of a failed query, wherever the driver or drizzle put it. */
async function sqlState(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string') return code;
    }
    throw error;
  }
  return undefined;
}

/** The plan PostgreSQL picks when a sequential scan is not an option: proves an index can serve the query. */
async function planWithoutSeqScan(query: string): Promise<string> {
  const { rows } = await database.executeSql(`BEGIN; SET LOCAL enable_seqscan = off; EXPLAIN ${query}; COMMIT;`);
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

describe('connections', () => {
  it('fills the defaults of a new connection', async () => {
    const row = await insertConnection({ workspaceId: newWorkspace() });
    expect(row).toMatchObject({
      status: 'active',
      metadata: {},
      routingKeys: [],
      scopes: [],
      credentials: null,
      credentialsVersion: 0,
      refreshFailures: 0,
      nextRefreshAt: null,
    });
    expect(row.connectedAt).toBeInstanceOf(Date);
    expect(row.createdAt).toBeInstanceOf(Date);
  });

  it('rejects a status outside the lifecycle', async () => {
    const ws = newWorkspace();
    expect(await sqlState(insertConnection({ workspaceId: ws, status: 'paused' as never }))).toBe('23514');
  });

  it('holds one connection per workspace, integration and external account', async () => {
    const ws = newWorkspace();
    await insertConnection({ workspaceId: ws, externalAccountId: 'T1' });
    expect(await sqlState(insertConnection({ workspaceId: ws, externalAccountId: 'T1' }))).toBe('23505');
    await insertConnection({ workspaceId: ws, externalAccountId: 'T2' });
    await insertConnection({ workspaceId: newWorkspace(), externalAccountId: 'T1' });
  });

  it('finds a connection by webhook routing key through the GIN index', async () => {
    const ws = newWorkspace();
    const team = `team:${randomUUID()}`;
    const row = await insertConnection({ workspaceId: ws, routingKeys: [team, 'enterprise:E1'] });
    await insertConnection({ workspaceId: ws, routingKeys: ['team:other'] });

    const found = await database.db.select().from(connections).where(arrayContains(connections.routingKeys, [team]));
    expect(found.map((c) => c.id)).toEqual([row.id]);
    expect(await planWithoutSeqScan(`SELECT id FROM connections WHERE routing_keys @> ARRAY['${team}']`)).toContain(
      'connections_routing_keys_idx',
    );
  });

  it('serves the refresh scan from the partial next_refresh_at index', async () => {
    const plan = await planWithoutSeqScan(
      `SELECT id FROM connections WHERE next_refresh_at IS NOT NULL AND status IN ('active', 'error') AND next_refresh_at <= now() ORDER BY next_refresh_at LIMIT 100`,
    );
    expect(plan).toContain('connections_next_refresh_idx');
  });

  it('sets updated_at on update', async () => {
    const row = await insertConnection({ workspaceId: newWorkspace() });
    await new Promise((r) => setTimeout(r, 5));
    const [updated] = await database.db
      .update(connections)
      .set({ lastError: 'boom' })
      .where(eq(connections.id, row.id))
      .returning();
    expect(updated!.updatedAt.getTime()).toBeGreaterThan(row.updatedAt.getTime());
  });
});

describe('sync_runs', () => {
  it('allows one pending run per connection, and a new one once it has finished', async () => {
    const ws = newWorkspace();
    const connection = await insertConnection({ workspaceId: ws });
    const run = (status: 'queued' | 'running' | 'succeeded') =>
      database.db
        .insert(syncRuns)
        .values({ id: newId('syncRun'), connectionId: connection.id, workspaceId: ws, trigger: 'manual', status })
        .returning();

    const [first] = await run('queued');
    expect(first).toMatchObject({ widgetsTotal: 0, widgetsRefreshed: 0, widgetsFailed: 0, error: null });
    expect(await sqlState(run('queued'))).toBe('23505');
    expect(await sqlState(run('running'))).toBe('23505');

    await database.db.update(syncRuns).set({ status: 'succeeded' }).where(eq(syncRuns.id, first!.id));
    await run('queued');
  });

  it('rejects an unknown trigger and goes away with its connection', async () => {
    const ws = newWorkspace();
    const connection = await insertConnection({ workspaceId: ws });
    const values = { connectionId: connection.id, workspaceId: ws, trigger: 'manual' as const };
    expect(
      await sqlState(database.db.insert(syncRuns).values({ ...values, id: newId('syncRun'), trigger: 'cron' as never })),
    ).toBe('23514');
    await database.db.insert(syncRuns).values({ ...values, id: newId('syncRun') });

    await database.db.delete(connections).where(eq(connections.id, connection.id));
    expect(await database.db.select().from(syncRuns).where(eq(syncRuns.connectionId, connection.id))).toEqual([]);
  });
});

describe('webhook_events', () => {
  it('stores a delivery once per connector and keeps it when its connection is deleted', async () => {
    const ws = newWorkspace();
    const connection = await insertConnection({ workspaceId: ws });
    const connector = `github-${randomUUID()}`;
    const delivery = { connector, deliveryId: 'd-1', connectionId: connection.id, routingKeys: ['team:T1'], payload: { a: 1 } };

    const first = await database.db.insert(webhookEvents).values({ id: newId('webhookEvent'), ...delivery }).onConflictDoNothing().returning();
    const again = await database.db.insert(webhookEvents).values({ id: newId('webhookEvent'), ...delivery }).onConflictDoNothing().returning();
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ status: 'received', attempts: 0, headers: {}, payload: { a: 1 } });
    expect(again).toEqual([]);

    await database.db.delete(connections).where(eq(connections.id, connection.id));
    const [kept] = await database.db
      .select()
      .from(webhookEvents)
      .where(and(eq(webhookEvents.connector, connector), eq(webhookEvents.deliveryId, 'd-1')));
    expect(kept).toMatchObject({ id: first[0]!.id, connectionId: null, routingKeys: ['team:T1'] });
    await database.db.delete(webhookEvents).where(eq(webhookEvents.connector, connector));
  });

  it('rejects an unknown status', async () => {
    const insert = database.db
      .insert(webhookEvents)
      .values({ id: newId('webhookEvent'), connector: 'github', deliveryId: randomUUID(), status: 'done' as never });
    expect(await sqlState(insert)).toBe('23514');
  });
});

describe('audit_events', () => {
  it('records an event with an empty detail by default, even after its connection is gone', async () => {
    const ws = newWorkspace();
    const [event] = await database.db
      .insert(auditEvents)
      .values({ id: newId('auditEvent'), workspaceId: ws, connectionId: newId('connection'), integration: 'slack', action: 'connected', actor: 'user:u1' })
      .returning();
    expect(event).toMatchObject({ detail: {}, action: 'connected' });
    expect(event!.createdAt).toBeInstanceOf(Date);
  });
});
