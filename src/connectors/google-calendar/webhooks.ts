// Google Calendar push notifications: no signature and an empty body; the headers say which channel and what
// state. X-Goog-Channel-Token must be the secret of the channel X-Goog-Channel-ID names; the `sync` message that
// opens a channel is acknowledged and ignored. Routed to the channel's connection.
import { safeEqual } from '../../lib/webhook-signature.js';
import type { ConnectorWebhooks, WebhookEffect } from '../webhook-types.js';
import { calendarChannels } from './calendar-channels.js';

const CALENDAR_WIDGETS = ['todays-meetings', 'meeting-load'];
/** States that mean the watched events changed (created or updated, deleted). */
const CHANGE_STATES = new Set(['exists', 'not_exists']);

export const webhooks: ConnectorWebhooks = {
  // Each channel has its own token: nothing app-wide to configure.
  secrets: [],

  async receive(request, ctx) {
    const h = request.headers;
    const channelId = h['x-goog-channel-id'];
    const state = h['x-goog-resource-state'];
    const token = h['x-goog-channel-token'];
    if (!channelId || !state) return { outcome: 'rejected', reason: 'malformed' };
    const channel = await ctx.subscription(channelId);

    if (state === 'sync') {
      // Google may send it before the watch call has returned (the channel is not active here yet): nothing is
      // stored either way, so it is acknowledged; a known channel's sync must still carry its token.
      if (channel && !(token && safeEqual(token, channel.secret))) return { outcome: 'rejected', reason: token ? 'bad_signature' : 'missing_signature' };
      return { outcome: 'handshake', reply: { status: 200 } };
    }

    if (!channel) return { outcome: 'rejected', reason: 'unknown_subscription' };
    if (!token) return { outcome: 'rejected', reason: 'missing_signature' };
    if (!safeEqual(token, channel.secret)) return { outcome: 'rejected', reason: 'bad_signature' };
    const messageNumber = h['x-goog-message-number'];
    if (!messageNumber || !/^\d{1,20}$/.test(messageNumber)) return { outcome: 'rejected', reason: 'malformed' };

    return {
      outcome: 'accepted',
      events: [
        {
          // Message numbers increase per channel and repeat on a redelivery.
          deliveryId: `${channelId}:${messageNumber}`,
          eventType: state,
          routingKeys: [],
          connectionId: channel.connectionId,
          payload: {
            channelId,
            messageNumber: Number(messageNumber),
            resourceState: state,
            resourceId: h['x-goog-resource-id'] ?? null,
            resourceUri: h['x-goog-resource-uri'] ?? null,
            channelExpiration: h['x-goog-channel-expiration'] ?? null,
          },
        },
      ],
    };
  },

  effects({ eventType }): WebhookEffect {
    return { widgets: CHANGE_STATES.has(eventType) ? CALENDAR_WIDGETS : [] };
  },

  subscriptions: calendarChannels,
};
