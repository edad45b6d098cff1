// Microsoft Graph change-notification subscriptions for one connection: the signed-in user's calendar events,
// created with the hub's secret as clientState, extended by PATCH before they lapse, deleted on disconnect.
import { z } from 'zod';
import type { WebhookSubscriptionHooks } from '../webhook-types.js';

/**
 * Outlook `event` subscriptions live at most 4230 minutes (subscription resource table); a little less is asked
 * for, so clock skew between the hub and Graph never makes a request exceed the cap (Graph refuses those).
 */
export const EVENT_SUBSCRIPTION_MINUTES = 4200;

/**
 * What is watched. `/me/events` covers the calendar the meeting widgets read. Chats are not watched: the
 * per-user `chats/getAllMessages` resource takes application permissions only (no delegated consent) and is
 * a metered API with licensing terms, so recent-chats stays on periodic sync.
 */
const RESOURCES = ['/me/events'];

const subscription = z.object({ id: z.string().min(1), expirationDateTime: z.string().min(1) });

/** Graph answers seven fractional digits (`…:45.9356913Z`); Date.parse reads them, anything else is refused. */
function expiryOf(value: string): Date {
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new Error('Graph answered a subscription without a readable expirationDateTime');
  return new Date(at);
}

const expirationFrom = (now: Date) => new Date(now.getTime() + EVENT_SUBSCRIPTION_MINUTES * 60_000).toISOString();
const pathOf = (externalId: string | null) => `/subscriptions/${encodeURIComponent(externalId ?? '')}`;

export const graphSubscriptions: WebhookSubscriptionHooks = {
  async plan() {
    return RESOURCES.map((resource) => ({ resource }));
  },

  async create(ctx, state) {
    // Graph validates both URLs (validationToken echo) before it answers; lifecycle notifications tell the hub
    // when to reauthorize or recreate instead of silently losing notifications.
    const body = subscription.parse(
      await ctx.api.post('/subscriptions', {
        changeType: 'created,updated,deleted',
        notificationUrl: ctx.webhookUrl,
        lifecycleNotificationUrl: ctx.webhookUrl,
        resource: state.resource,
        expirationDateTime: expirationFrom(ctx.now),
        clientState: state.secret,
      }),
    );
    return { externalId: body.id, expiresAt: expiryOf(body.expirationDateTime) };
  },

  async renew(ctx, state) {
    // Renewing also reauthorizes the subscription (a pending reauthorizationRequired is answered by this).
    const answer = await ctx.api.request('PATCH', pathOf(state.externalId), { body: { expirationDateTime: expirationFrom(ctx.now) } });
    return { expiresAt: expiryOf(subscription.parse(answer.body).expirationDateTime) };
  },

  async remove(ctx, state) {
    await ctx.api.request('DELETE', pathOf(state.externalId));
  },

  // Renewed a day ahead: a failed PATCH has many retries before the subscription lapses.
  renewAheadSeconds: 24 * 3600,
};
