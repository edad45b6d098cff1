// SQL for connections, and nothing else: no decisions, no decryption (credentials stay ciphertext here).
import { and, arrayOverlaps, asc, eq, inArray, ne, or, sql } from 'drizzle-orm';
import type { Db } from '../../db/database.js';
import { connections, type ConnectionRow, type NewConnectionRow } from '../../db/schema.js';
import { newId } from '../../lib/ids.js';

export type ConnectionUpdate = Partial<Omit<NewConnectionRow, 'id' | 'workspaceId' | 'integration' | 'credentialsVersion'>>;

/** What the connections API shows of a row: never the ciphertexts. */
export type ConnectionViewRow = Pick<
  ConnectionRow,
  'id' | 'integration' | 'status' | 'externalAccountId' | 'externalAccountName' | 'scopes' | 'connectedAt' | 'accessExpiresAt' | 'lastRefreshedAt' | 'lastSyncedAt' | 'lastError'
>;

export function createConnectionRepo(db: Db) {
  // The dashboard lists a workspace's connections often: prepared once, and only the columns it shows.
  const listView = db
    .select({
      id: connections.id,
      integration: connections.integration,
      status: connections.status,
      externalAccountId: connections.externalAccountId,
      externalAccountName: connections.externalAccountName,
      scopes: connections.scopes,
      connectedAt: connections.connectedAt,
      accessExpiresAt: connections.accessExpiresAt,
      lastRefreshedAt: connections.lastRefreshedAt,
      lastSyncedAt: connections.lastSyncedAt,
      lastError: connections.lastError,
    })
    .from(connections)
    .where(eq(connections.workspaceId, sql.placeholder('workspaceId')))
    .orderBy(asc(connections.id))
    .prepare('connections_list_view');

  return {
    async listByWorkspace(workspaceId: string): Promise<ConnectionViewRow[]> {
      return listView.execute({ workspaceId });
    },

    async findInWorkspace(workspaceId: string, id: string): Promise<ConnectionRow | undefined> {
      const rows = await db
        .select()
        .from(connections)
        .where(and(eq(connections.workspaceId, workspaceId), eq(connections.id, id)))
        .limit(1);
      return rows[0];
    },

    /** Live connections of one integration holding any of the routing keys (webhook routing; GIN index). */
    async findByRoutingKeys(integration: string, keys: string[]): Promise<ConnectionRow[]> {
      if (keys.length === 0) return [];
      return db
        .select()
        .from(connections)
        .where(and(eq(connections.integration, integration), arrayOverlaps(connections.routingKeys, keys), ne(connections.status, 'disconnected')))
        .orderBy(asc(connections.id))
        .limit(1000);
    },

    /** Live connections of one integration: those holding any of the keys, and those named by id (one batch of webhooks). */
    async findForRouting(integration: string, keys: string[], ids: string[]): Promise<Pick<ConnectionRow, 'id' | 'routingKeys' | 'status'>[]> {
      if (keys.length === 0 && ids.length === 0) return [];
      const matches = [keys.length ? arrayOverlaps(connections.routingKeys, keys) : undefined, ids.length ? inArray(connections.id, ids) : undefined].filter((c) => c !== undefined);
      return db
        .select({ id: connections.id, routingKeys: connections.routingKeys, status: connections.status })
        .from(connections)
        .where(and(eq(connections.integration, integration), ne(connections.status, 'disconnected'), or(...matches)))
        .orderBy(asc(connections.id))
        .limit(5000);
    },

    async findById(id: string): Promise<ConnectionRow | undefined> {
      const rows = await db.select().from(connections).where(eq(connections.id, id)).limit(1);
      return rows[0];
    },

    /**
     * The id of the workspace's connection to this external account, creating the row if it is new, so that
     * connecting the same account again updates one row. Credentials are sealed to the id, so it comes first.
     */
    async claimId(workspaceId: string, integration: string, externalAccountId: string): Promise<{ id: string; created: boolean }> {
      const inserted = await db
        .insert(connections)
        .values({ id: newId('connection'), workspaceId, integration, externalAccountId, status: 'disconnected' })
        .onConflictDoNothing({ target: [connections.workspaceId, connections.integration, connections.externalAccountId] })
        .returning({ id: connections.id });
      if (inserted[0]) return { id: inserted[0].id, created: true };
      const existing = await db
        .select({ id: connections.id })
        .from(connections)
        .where(
          and(
            eq(connections.workspaceId, workspaceId),
            eq(connections.integration, integration),
            eq(connections.externalAccountId, externalAccountId),
          ),
        )
        .limit(1);
      if (!existing[0]) throw new Error('connection row vanished between insert and select');
      return { id: existing[0].id, created: false };
    },

    /** Writes new credentials unconditionally (a fresh connect) and bumps the version. */
    async writeCredentials(id: string, update: ConnectionUpdate): Promise<ConnectionRow> {
      const rows = await db
        .update(connections)
        .set({ ...update, credentialsVersion: sql`${connections.credentialsVersion} + 1` })
        .where(eq(connections.id, id))
        .returning();
      return rows[0]!;
    },

    /** Compare-and-set on credentials_version: undefined when someone else wrote since `expectedVersion`. */
    async writeCredentialsIfVersion(id: string, expectedVersion: number, update: ConnectionUpdate): Promise<ConnectionRow | undefined> {
      const rows = await db
        .update(connections)
        .set({ ...update, credentialsVersion: sql`${connections.credentialsVersion} + 1` })
        .where(and(eq(connections.id, id), eq(connections.credentialsVersion, expectedVersion)))
        .returning();
      return rows[0];
    },

    /** Updates fields other than credentials, only if the version is still the one read (no lost updates). */
    async updateIfVersion(id: string, expectedVersion: number, update: ConnectionUpdate): Promise<boolean> {
      const rows = await db
        .update(connections)
        .set(update)
        .where(and(eq(connections.id, id), eq(connections.credentialsVersion, expectedVersion)))
        .returning({ id: connections.id });
      return rows.length > 0;
    },

    /**
     * Claims up to `limit` connections due for refresh, pushing their next_refresh_at out by the lease so no
     * other scanner takes them meanwhile (SKIP LOCKED: competing instances split the work).
     */
    async claimDueForRefresh(limit: number, leaseSeconds: number): Promise<string[]> {
      const due = db
        .select({ id: connections.id })
        .from(connections)
        .where(
          and(
            sql`${connections.nextRefreshAt} <= now()`,
            sql`${connections.nextRefreshAt} IS NOT NULL`,
            inArray(connections.status, ['active', 'error']),
          ),
        )
        .orderBy(asc(connections.nextRefreshAt))
        .limit(limit)
        .for('update', { skipLocked: true });
      const rows = await db
        .update(connections)
        .set({ nextRefreshAt: sql`now() + make_interval(secs => ${leaseSeconds})` })
        .where(inArray(connections.id, due))
        .returning({ id: connections.id });
      return rows.map((r) => r.id);
    },
  };
}

export type ConnectionRepo = ReturnType<typeof createConnectionRepo>;
