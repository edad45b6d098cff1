// Wires every job of jobs.ts to its handler; the worker side of the queue. One line per job.
import type { Logger } from '../lib/logger.js';
import { createSystemPingHandler } from './handlers/system-ping.job.js';
import type { JobQueue } from './queue.js';

export interface JobHandlerDeps {
  logger: Logger;
}

export async function registerJobHandlers(queue: JobQueue, deps: JobHandlerDeps): Promise<void> {
  await queue.work('system.ping', createSystemPingHandler(deps));
}
