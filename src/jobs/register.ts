// Wires every job of jobs.ts to its handler; the worker side of the queue. One line per job.
import type { Logger } from '../lib/logger.js';
import type { SyncService } from '../modules/sync/sync.service.js';
import type { WebhookSubscriptionService } from '../modules/webhooks/subscriptions/webhook-subscription.service.js';
import { createSystemPingHandler } from './handlers/system-ping.job.js';
import { createWebhooksSubscribeHandler } from './handlers/webhooks-subscribe.job.js';
import { createWidgetsSyncHandler } from './handlers/widgets-sync.job.js';
import type { JobQueue } from './queue.js';

export interface JobHandlerDeps {
  logger: Logger;
  sync: Pick<SyncService, 'run'>;
  webhookSubscriptions: Pick<WebhookSubscriptionService, 'subscribe'>;
}

export async function registerJobHandlers(queue: JobQueue, deps: JobHandlerDeps): Promise<void> {
  await queue.work('system.ping', createSystemPingHandler(deps));
  await queue.work('widgets.sync', createWidgetsSyncHandler(deps), { concurrency: 4 });
  await queue.work('webhooks.subscribe', createWebhooksSubscribeHandler(deps), { concurrency: 2 });
}
