// Syncs: refresh every recently read widget of a connection in a durable job, one pending run per connection.
import type { Config } from '../../config.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { SyncRunRow, SyncTrigger } from '../../db/schema.js';
import { AppError } from '../../errors.js';
import type { Logger } from '../../lib/logger.js';
import type { ConnectionRepo } from '../connections/connection.repo.js';
import type { WidgetService } from '../widgets/widget.service.js';
import type { SyncRepo } from './sync.repo.js';

/** Widgets read within this window are refreshed by a sync and kept warm by scheduled syncs. */
export const READ_WINDOW_MS = 24 * 3600_000;

export interface SyncView {
  syncId: string;
  integrationId: string;
  trigger: SyncTrigger;
  status: SyncRunRow['status'];
  widgetsTotal: number;
  widgetsRefreshed: number;
  widgetsFailed: number;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export function toSyncView(row: SyncRunRow): SyncView {
  return {
    syncId: row.id,
    integrationId: row.connectionId,
    trigger: row.trigger,
    status: row.status,
    widgetsTotal: row.widgetsTotal,
    widgetsRefreshed: row.widgetsRefreshed,
    widgetsFailed: row.widgetsFailed,
    error: row.error,
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

export function createSyncService(deps: {
  config: Pick<Config, 'syncIntervalSeconds'>;
  syncRepo: SyncRepo;
  connectionRepo: Pick<ConnectionRepo, 'findInWorkspace'>;
  jobs: Pick<JobQueue, 'send' | 'start'>;
  widgets: Pick<WidgetService, 'refreshWidget'>;
  logger: Logger;
}) {
  const pendingReads = new Set<Promise<void>>();
  /** Queues a run and its job in one transaction; answers the pending run instead when there is one. */
  async function enqueue(connectionId: string, workspaceId: string, trigger: SyncTrigger): Promise<SyncRunRow> {
    // The queue must be running before the transaction: starting it from inside one would wait on that very
    // transaction on PGlite's single connection, and hang the database.
    await deps.jobs.start();
    const created = await deps.syncRepo.transaction(async (tx) => {
      const run = await deps.syncRepo.createPending(tx, connectionId, workspaceId, trigger);
      if (run) await deps.jobs.send('widgets.sync', { syncId: run.id }, { tx });
      return run;
    });
    if (created) return created;
    const pending = await deps.syncRepo.findPending(connectionId);
    if (!pending) throw new AppError('conflict', 'A sync finished while this one was being queued; try again.');
    return pending;
  }

  return {
    async start(workspaceId: string, connectionId: string): Promise<SyncView> {
      const connection = await deps.connectionRepo.findInWorkspace(workspaceId, connectionId);
      if (!connection) throw new AppError('connection_not_found', `No integration ${connectionId} in this workspace.`);
      if (connection.status === 'needs_reauth') throw new AppError('reauth_required', 'The connection needs to be reconnected before it can sync.');
      if (connection.status === 'disconnected') throw new AppError('connection_inactive', 'The connection is disconnected.');
      return toSyncView(await enqueue(connectionId, workspaceId, 'manual'));
    },

    async get(workspaceId: string, connectionId: string, syncId: string): Promise<SyncView> {
      const run = await deps.syncRepo.find(workspaceId, connectionId, syncId);
      if (!run) throw new AppError('sync_not_found', `No sync ${syncId} for this integration.`);
      return toSyncView(run);
    },

    /** The job: refresh every widget parameter set read in the window, count what worked. */
    async run(syncId: string): Promise<void> {
      const run = await deps.syncRepo.findById(syncId);
      if (!run || (run.status !== 'queued' && run.status !== 'running')) return;
      const reads = await deps.syncRepo.readsSince(run.connectionId, new Date(Date.now() - READ_WINDOW_MS));
      await deps.syncRepo.markRunning(syncId, reads.length);
      let refreshed = 0;
      let failed = 0;
      let error: string | null = null;
      for (const read of reads) {
        try {
          await deps.widgets.refreshWidget(run.connectionId, read.widgetId, read.params as Record<string, unknown>);
          refreshed++;
        } catch (e) {
          failed++;
          error ??= e instanceof AppError ? `${read.widgetId}: ${e.code}` : `${read.widgetId}: internal_error`;
          deps.logger.warn({ syncId, widgetId: read.widgetId, err: e instanceof Error ? e.message : e }, 'sync could not refresh a widget');
        }
      }
      await deps.syncRepo.finish(syncId, run.connectionId, { refreshed, failed, error });
    },

    /** Scheduled syncs: connections whose widgets were read lately and that have not synced for an interval. */
    async enqueueScheduled(): Promise<number> {
      if (deps.config.syncIntervalSeconds <= 0) return 0;
      const due = await deps.syncRepo.dueForScheduledSync(
        new Date(Date.now() - READ_WINDOW_MS),
        new Date(Date.now() - deps.config.syncIntervalSeconds * 1000),
        500,
      );
      for (const c of due) await enqueue(c.id, c.workspaceId, 'schedule');
      return due.length;
    },

    /** Waits for the reads being recorded (before closing the database; and for tests, which read then sync). */
    async flushReads(): Promise<void> {
      await Promise.all([...pendingReads]);
    },

    /** Remembers a read for syncs, at most once per key per few minutes per instance (no write per read). */
    readRecorder() {
      const lastWrite = new Map<string, number>();
      // `key` names the (connection, widget, params) read: the widget's cache key, made once per query.
      return (connectionId: string, widgetId: string, params: unknown, paramsHash: string, key: string) => {
        const now = Date.now();
        if ((lastWrite.get(key) ?? 0) > now - 5 * 60_000) return;
        if (lastWrite.size > 50_000) lastWrite.clear();
        lastWrite.set(key, now);
        const write = deps.syncRepo
          .recordRead(connectionId, widgetId, paramsHash, params as Record<string, unknown>)
          .catch((err: unknown) => deps.logger.warn({ err: err instanceof Error ? err.message : err }, 'could not record a widget read'))
          .finally(() => pendingReads.delete(write));
        pendingReads.add(write);
      };
    },
  };
}

export type SyncService = ReturnType<typeof createSyncService>;
