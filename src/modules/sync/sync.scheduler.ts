// Scheduled syncs keep recently read widgets warm: every worker instance checks once a minute (or every
// SYNC_INTERVAL_SECONDS if shorter); the one-pending-run index keeps competing instances from doubling work.
import type { Logger } from '../../lib/logger.js';
import type { SyncService } from './sync.service.js';

export function createSyncScheduler(deps: { sync: Pick<SyncService, 'enqueueScheduled'>; logger: Logger; intervalSeconds: number }) {
  let timer: NodeJS.Timeout | undefined;
  const everyMs = Math.max(5, Math.min(60, deps.intervalSeconds)) * 1000;
  return {
    start() {
      if (deps.intervalSeconds <= 0 || timer) return;
      timer = setInterval(() => {
        deps.sync.enqueueScheduled().catch((err: unknown) => deps.logger.error({ err }, 'scheduling syncs failed'));
      }, everyMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
