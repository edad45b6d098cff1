// Google Calendar push channels for one connection: a web_hook channel on the primary calendar's events, whose
// token is the hub's secret. Channels cannot be extended: the hub opens a new one and stops the old.
import { z } from 'zod';
import type { WebhookSubscriptionHooks } from '../webhook-types.js';

/**
 * Asked-for lifetime. ⚠ Google's lifetime is documented two ways (a one-hour default per a googleapis maintainer,
 * a seven-day cap per integrators): the hub asks for seven days and keeps whatever expiration Google answers.
 */
export const CHANNEL_TTL_SECONDS = 7 * 24 * 3600;
/** Used only if an answer carries no expiration: the shorter documented lifetime, so renewal is never late. */
const FALLBACK_TTL_SECONDS = 3600;

const channel = z.object({
  id: z.string().min(1),
  resourceId: z.string().min(1),
  // A string of epoch milliseconds in Google's answers; a number is read too.
  expiration: z.union([z.string().regex(/^\d+$/), z.number().int()]).optional(),
});

export const calendarChannels: WebhookSubscriptionHooks = {
  async plan(ctx) {
    // The primary calendar's id is the account's email (stored at connect); `primary` names it too.
    return [{ resource: ctx.metadata.email || 'primary' }];
  },

  async create(ctx, state) {
    const requested = ctx.now.getTime() + CHANNEL_TTL_SECONDS * 1000;
    const body = channel.parse(
      await ctx.api.post(`/calendars/${encodeURIComponent(state.resource)}/events/watch`, {
        // The hub's subscription id (whs_…: 30 characters of [a-z0-9_]) is a valid channel id (≤ 64, unique).
        id: state.subscriptionId,
        type: 'web_hook',
        address: ctx.webhookUrl,
        // Echoed in X-Goog-Channel-Token on every notification: the only proof a notification is Google's.
        token: state.secret,
        expiration: requested,
        params: { ttl: String(CHANNEL_TTL_SECONDS) },
      }),
    );
    const expiresAt = body.expiration !== undefined ? new Date(Number(body.expiration)) : new Date(ctx.now.getTime() + FALLBACK_TTL_SECONDS * 1000);
    return { externalId: body.id, expiresAt, metadata: { resourceId: body.resourceId } };
  },

  // No `renew`: a channel's expiration cannot be changed, so the hub creates a replacement, then stops this one.

  async remove(ctx, state) {
    await ctx.api.post('/channels/stop', { id: state.externalId, resourceId: state.metadata.resourceId });
  },

  // Replaced well ahead of a seven-day expiry (half the lifetime of a one-hour channel).
  renewAheadSeconds: 6 * 3600,
};
