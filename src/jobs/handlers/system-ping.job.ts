// system.ping: does nothing but log its note, so a deployment can prove that jobs travel from send to a worker.
import type { Logger } from '../../lib/logger.js';
import type { JobPayload } from '../jobs.js';
import type { JobInfo } from '../queue.js';

export function createSystemPingHandler(deps: { logger: Pick<Logger, 'debug'> }) {
  return async (payload: JobPayload<'system.ping'>, job: JobInfo): Promise<void> => {
    deps.logger.debug({ jobId: job.id, note: payload.note }, 'system.ping received');
  };
}
