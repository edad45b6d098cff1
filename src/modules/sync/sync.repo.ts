// SQL for sync runs and widget reads, and nothing else.
import { and, desc, eq, gte, inArray, isNull, lt, max, or } from 'drizzle-orm';
import type { Db, DbTransaction } from '../../db/database.js';
import { connections, syncRuns, widgetReads, type JsonObject, type SyncRunRow, type SyncTrigger, type WidgetReadRow } from '../../db/schema.js';
import { newId } from '../../lib/ids.js';

export function createSyncRepo(db: Db) {
  return {
    /** Creates a queued run unless one is already queued or running for the connection (the partial unique index). */
    async createPending(tx: DbTransaction, connectionId: string, workspaceId: string, trigger: SyncTrigger): Promise<SyncRunRow | undefined> {
      const rows = await tx.insert(syncRuns).values({ id: newId('syncRun'), connectionId, workspaceId, trigger }).onConflictDoNothing().returning();
      return rows[0];
    },

    async findPending(connectionId: string): Promise<SyncRunRow | undefined> {
      const rows = await db
        .select()
        .from(syncRuns)
        .where(and(eq(syncRuns.connectionId, connectionId), inArray(syncRuns.status, ['queued', 'running'])))
        .limit(1);
      return rows[0];
    },

    async find(workspaceId: string, connectionId: string, syncId: string): Promise<SyncRunRow | undefined> {
      const rows = await db
        .select()
        .from(syncRuns)
        .where(and(eq(syncRuns.id, syncId), eq(syncRuns.connectionId, connectionId), eq(syncRuns.workspaceId, workspaceId)))
        .limit(1);
      return rows[0];
    },

    async findById(syncId: string): Promise<SyncRunRow | undefined> {
      return (await db.select().from(syncRuns).where(eq(syncRuns.id, syncId)).limit(1))[0];
    },

    async markRunning(syncId: string, widgetsTotal: number): Promise<void> {
      await db.update(syncRuns).set({ status: 'running', startedAt: new Date(), widgetsTotal }).where(eq(syncRuns.id, syncId));
    },

    async finish(syncId: string, connectionId: string, result: { refreshed: number; failed: number; error: string | null }): Promise<void> {
      const now = new Date();
      await db
        .update(syncRuns)
        .set({ status: result.failed ? 'failed' : 'succeeded', widgetsRefreshed: result.refreshed, widgetsFailed: result.failed, error: result.error, finishedAt: now })
        .where(eq(syncRuns.id, syncId));
      await db.update(connections).set({ lastSyncedAt: now }).where(eq(connections.id, connectionId));
    },

    async recordRead(connectionId: string, widgetId: string, paramsHash: string, params: JsonObject): Promise<void> {
      await db
        .insert(widgetReads)
        .values({ connectionId, widgetId, paramsHash, params, lastReadAt: new Date() })
        .onConflictDoUpdate({ target: [widgetReads.connectionId, widgetReads.widgetId, widgetReads.paramsHash], set: { lastReadAt: new Date() } });
    },

    async readsSince(connectionId: string, since: Date): Promise<WidgetReadRow[]> {
      return db
        .select()
        .from(widgetReads)
        .where(and(eq(widgetReads.connectionId, connectionId), gte(widgetReads.lastReadAt, since)))
        .orderBy(desc(widgetReads.lastReadAt))
        .limit(200);
    },

    /** Active connections with widgets read since `readSince` whose last sync is older than `syncedBefore`. */
    async dueForScheduledSync(readSince: Date, syncedBefore: Date, limit: number): Promise<{ id: string; workspaceId: string }[]> {
      // Most recently read first: when more are due than one scan takes, the widgets in use come first.
      return db
        .select({ id: connections.id, workspaceId: connections.workspaceId })
        .from(connections)
        .innerJoin(widgetReads, eq(widgetReads.connectionId, connections.id))
        .where(
          and(
            eq(connections.status, 'active'),
            gte(widgetReads.lastReadAt, readSince),
            or(isNull(connections.lastSyncedAt), lt(connections.lastSyncedAt, syncedBefore)),
          ),
        )
        .groupBy(connections.id, connections.workspaceId)
        .orderBy(desc(max(widgetReads.lastReadAt)))
        .limit(limit);
    },

    transaction<T>(fn: (tx: DbTransaction) => Promise<T>): Promise<T> {
      return db.transaction(fn);
    },
  };
}

export type SyncRepo = ReturnType<typeof createSyncRepo>;
