// Runs the job workers alone (no HTTP), for deployments that scale workers apart from the API.
import { boot } from './boot.js';
import { createDeps } from './deps.js';
import { registerJobHandlers } from './jobs/register.js';
import { onShutdownSignal } from './lib/shutdown.js';

const { config, logger } = boot();
const deps = await createDeps(config, logger);
onShutdownSignal(logger, config.shutdownTimeoutMs, () => deps.close());
await deps.jobs.start();
await registerJobHandlers(deps.jobs, deps);
deps.refreshScheduler.start();
deps.syncScheduler.start();
logger.info({ database: deps.database.kind }, 'worker ready');
