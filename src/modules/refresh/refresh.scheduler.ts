// The refresh scan: every instance that runs workers claims due connections in batches (SKIP LOCKED, so
// instances split the work) and refreshes them with bounded concurrency. Cost per scan: O(due), by index.
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
  const intervalMs = options.intervalMs ?? 5_000;
  const batchSize = options.batchSize ?? 200;
  const concurrency = options.concurrency ?? 16;
  const leaseSeconds = options.leaseSeconds ?? 120;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;
  // Set by stop() only: a scan called on its own (not started) still claims every batch.
  let stopRequested = false;

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

  /** One scan: keeps claiming full batches until fewer than a batch are due. Returns how many it refreshed. */
  async function scanOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const ids = await deps.connectionRepo.claimDueForRefresh(batchSize, leaseSeconds);
      total += ids.length;
      await refreshAll(ids);
      if (ids.length < batchSize || stopRequested) return total;
    }
  }

  function schedule(delayMs = intervalMs) {
    if (stopped) return;
    timer = setTimeout(() => {
      running = scanOnce()
        .then(() => undefined)
        .catch((error) => deps.logger.error({ err: error }, 'refresh scan failed'))
        .finally(() => {
          running = undefined;
          schedule();
        });
    }, delayMs);
    timer.unref();
  }

  return {
    scanOnce,
    start() {
      if (!stopped) return;
      stopped = false;
      stopRequested = false;
      schedule(0);
    },
    /** Stops scanning and waits for the scan in progress. */
    async stop() {
      stopped = true;
      stopRequested = true;
      clearTimeout(timer);
      await running;
    },
  };
}

export type RefreshScheduler = ReturnType<typeof createRefreshScheduler>;
