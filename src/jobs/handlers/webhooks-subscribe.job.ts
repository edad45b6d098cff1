// webhooks.subscribe: creates (or replaces) one connection's webhook subscriptions at its provider.
import type { WebhookSubscriptionService } from '../../modules/webhooks/subscriptions/webhook-subscription.service.js';
import type { JobHandler } from '../queue.js';

export function createWebhooksSubscribeHandler(deps: { webhookSubscriptions: Pick<WebhookSubscriptionService, 'subscribe'> }): JobHandler<{ connectionId: string }> {
  return async ({ connectionId }) => {
    await deps.webhookSubscriptions.subscribe(connectionId);
  };
}
