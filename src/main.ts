// The hub's entry point: config → deps → app → listen, plus the job workers unless RUN_WORKERS=false.
import { buildApp } from './app.js';
import { boot } from './boot.js';
import { createDeps } from './deps.js';
import { registerJobHandlers } from './jobs/register.js';
import { onShutdownSignal } from './lib/shutdown.js';

const { config, logger } = boot();
const deps = await createDeps(config, logger);
const app = await buildApp(deps);

// Installed before listening: a SIGTERM at any moment from here on shuts down cleanly.
const shuttingDown = onShutdownSignal(logger, config.shutdownTimeoutMs, async () => {
  await app.close(); // stop accepting, finish in-flight requests
  await deps.close(); // finish running jobs, close the queue, the store and the pools
});

try {
  await app.listen({ port: config.port, host: config.host });
  // Every instance sends jobs; only worker instances run them. Started after listen: readiness does not wait on it.
  await deps.jobs.start();
  if (config.runWorkers) {
    await registerJobHandlers(deps.jobs, deps);
    deps.refreshScheduler.start();
    deps.syncScheduler.start();
    deps.webhookProcessor.start();
    deps.subscriptionScheduler.start();
  }
  logger.info({ url: config.publicUrl, workers: config.runWorkers, database: deps.database.kind, kv: deps.kv.kind }, 'hub ready');
} catch (error) {
  // A signal during start-up stops what was starting; that is the shutdown, not a failure.
  if (!shuttingDown()) throw error;
}
