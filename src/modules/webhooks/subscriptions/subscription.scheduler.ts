// The renewal scan: every worker instance claims subscriptions coming due (SKIP LOCKED) and renews them.
import type { Logger } from '../../../lib/logger.js';
import type { WebhookSubscriptionService } from './webhook-subscription.service.js';

export function createSubscriptionScheduler(
  deps: { subscriptions: Pick<WebhookSubscriptionService, 'claimDueForRenewal' | 'renew'>; logger: Logger },
  options: { intervalMs?: number; batchSize?: number; leaseSeconds?: number } = {},
) {
  const intervalMs = options.intervalMs ?? 60_000;
  const batchSize = options.batchSize ?? 50;
  const leaseSeconds = options.leaseSeconds ?? 300;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = true;
  // Set by stop() only: a scan called on its own (not started) still claims every batch.
  let stopRequested = false;

  async function scanOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const due = await deps.subscriptions.claimDueForRenewal(batchSize, leaseSeconds);
      for (const row of due) await deps.subscriptions.renew(row);
      total += due.length;
      if (due.length < batchSize || stopRequested) return total;
    }
  }

  function schedule(delayMs: number) {
    if (stopped) return;
    timer = setTimeout(() => {
      running = scanOnce()
        .catch((err: unknown) => deps.logger.error({ err }, 'webhook subscription renewal scan failed'))
        .finally(() => {
          running = undefined;
          schedule(intervalMs);
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
    async stop() {
      stopped = true;
      stopRequested = true;
      clearTimeout(timer);
      await running;
    },
  };
}

export type SubscriptionScheduler = ReturnType<typeof createSubscriptionScheduler>;
