// A scan that claims due work in batches on an interval, on every instance that runs workers: the shape shared
// by the refresh scan and the webhook subscription renewal. Claiming (SKIP LOCKED, with a lease) is the caller's.
import type { Logger } from './logger.js';

export interface BatchScanOptions<T> {
  /** Claims up to `limit` due items; an empty answer ends the scan. */
  claim(limit: number): Promise<T[]>;
  /** Works one claimed batch off. */
  handle(batch: T[]): Promise<void>;
  batchSize: number;
  intervalMs: number;
  logger: Logger;
  /** For the log line when a scan fails. */
  name: string;
}

export function createBatchScan<T>(options: BatchScanOptions<T>) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let started = false;
  // Set by stop() only: a scan called on its own (not started) still claims every batch.
  let stopRequested = false;

  /** One scan: keeps claiming full batches until fewer than a batch are due. Returns how many it took. */
  async function scanOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const batch = await options.claim(options.batchSize);
      total += batch.length;
      if (batch.length) await options.handle(batch);
      if (batch.length < options.batchSize || stopRequested) return total;
    }
  }

  function schedule(delayMs: number) {
    if (!started) return;
    timer = setTimeout(() => {
      running = scanOnce()
        .catch((err: unknown) => options.logger.error({ err }, `${options.name} failed`))
        .finally(() => {
          running = undefined;
          schedule(options.intervalMs);
        });
    }, delayMs);
    timer.unref();
  }

  return {
    scanOnce,
    start() {
      if (started) return;
      started = true;
      stopRequested = false;
      schedule(0);
    },
    /** Stops scanning and waits for the scan in progress. */
    async stop() {
      started = false;
      stopRequested = true;
      clearTimeout(timer);
      await running;
    },
  };
}
