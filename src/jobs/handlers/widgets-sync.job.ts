// widgets.sync: runs one sync (refreshes the connection's recently read widgets).
import type { SyncService } from '../../modules/sync/sync.service.js';
import type { JobHandler } from '../queue.js';

export function createWidgetsSyncHandler(deps: { sync: Pick<SyncService, 'run'> }): JobHandler<{ syncId: string }> {
  return async ({ syncId }) => {
    await deps.sync.run(syncId);
  };
}
