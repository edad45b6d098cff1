// The refresh scan: every instance that runs workers claims due connections in batches (SKIP LOCKED, so
// instances split the work) and refreshes them with bounded concurrency. Cost per scan: O(due), by index.
import { createBatchScan } from '../../lib/batch-scan.js';
import type { Logger } from '../../lib/logger.js';
import type { ConnectionRepo } from '../connections/connection.repo.js';
import type { RefreshService } from './refresh.service.js';

export interface RefreshSchedulerOptions {
  intervalMs?: number;
  batchSize?: number;
  concurrency?: number;
  /** How long a claimed connection is hidden from other scanners while it is being refreshed. */
  leaseSeconds?: number;
}

export function createRefreshScheduler(
  deps: { connectionRepo: Pick<ConnectionRepo, 'claimDueForRefresh'>; refresh: RefreshService; logger: Logger },
  options: RefreshSchedulerOptions = {},
) {
  const concurrency = options.concurrency ?? 16;
  const leaseSeconds = options.leaseSeconds ?? 120;

  async function refreshAll(ids: string[]) {
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        try {
          await deps.refresh.refresh(id);
        } catch (error) {
          deps.logger.error({ err: error, connectionId: id }, 'refresh crashed');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
  }

  return createBatchScan({
    name: 'refresh scan',
    claim: (limit) => deps.connectionRepo.claimDueForRefresh(limit, leaseSeconds),
    handle: refreshAll,
    batchSize: options.batchSize ?? 200,
    intervalMs: options.intervalMs ?? 5_000,
    logger: deps.logger,
  });
}

export type RefreshScheduler = ReturnType<typeof createRefreshScheduler>;
