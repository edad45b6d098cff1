// Runs the job workers alone (no HTTP), for deployments that scale workers apart from the API.
import { boot } from './boot.js';
import { createDeps } from './deps.js';
import { registerJobHandlers } from './jobs/register.js';
import { onShutdownSignal } from './lib/shutdown.js';

const { config, logger } = boot();
const deps = await createDeps(config, logger);
const shuttingDown = onShutdownSignal(logger, config.shutdownTimeoutMs, () => deps.close());
try {
  await deps.jobs.start();
  await registerJobHandlers(deps.jobs, deps);
  deps.refreshScheduler.start();
  deps.syncScheduler.start();
  deps.webhookProcessor.start();
  deps.subscriptionScheduler.start();
  logger.info({ database: deps.database.kind }, 'worker ready');
} catch (error) {
  // A signal during start-up stops what was starting; that is the shutdown, not a failure.
  if (!shuttingDown()) throw error;
}
