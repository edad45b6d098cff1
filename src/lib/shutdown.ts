// Graceful shutdown: on SIGTERM or SIGINT run the closer once, and force the exit if it overruns its time.
import type { Logger } from './logger.js';

/** Installs the handlers; the returned function tells whether a shutdown has begun. */
export function onShutdownSignal(logger: Logger, timeoutMs: number, close: () => Promise<void>): () => boolean {
  let closing = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    try {
      await close();
      logger.info('shutdown complete');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', (s) => void shutdown(s));
  process.once('SIGINT', (s) => void shutdown(s));
  return () => closing;
}
