// The renewal scan: every worker instance claims subscriptions coming due (SKIP LOCKED) and renews them.
import { createBatchScan } from '../../../lib/batch-scan.js';
import type { Logger } from '../../../lib/logger.js';
import type { WebhookSubscriptionService } from './webhook-subscription.service.js';

export function createSubscriptionScheduler(
  deps: { subscriptions: Pick<WebhookSubscriptionService, 'claimDueForRenewal' | 'renew'>; logger: Logger },
  options: { intervalMs?: number; batchSize?: number; leaseSeconds?: number } = {},
) {
  const leaseSeconds = options.leaseSeconds ?? 300;
  return createBatchScan({
    name: 'webhook subscription renewal scan',
    claim: (limit) => deps.subscriptions.claimDueForRenewal(limit, leaseSeconds),
    handle: async (rows) => {
      for (const row of rows) await deps.subscriptions.renew(row);
    },
    batchSize: options.batchSize ?? 50,
    intervalMs: options.intervalMs ?? 60_000,
    logger: deps.logger,
  });
}

export type SubscriptionScheduler = ReturnType<typeof createSubscriptionScheduler>;
