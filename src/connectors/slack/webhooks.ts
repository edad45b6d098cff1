// Slack webhooks (Events API and interactivity): X-Slack-Signature is `v0=` + hex HMAC-SHA256 of
// `v0:{X-Slack-Request-Timestamp}:{raw body}` with SLACK_SIGNING_SECRET, the timestamp within 5 minutes of now;
// url_verification is answered with its challenge; the envelope's event_id is the de-duplication key (a retry with
// X-Slack-Retry-Num repeats it); events route to the workspace (team:T…) or the org of an org-wide install.
import { hmacHexMatches, timestampWithin } from '../../lib/webhook-signature.js';
import type { ConnectorWebhooks, WebhookEffect } from '../webhook-types.js';
import { readSlackDelivery } from './webhook-payload.js';

const SECRET = 'SLACK_SIGNING_SECRET';
/** Slack's SDKs refuse requests more than five minutes from now (replay protection). */
const TOLERANCE_SECONDS = 5 * 60;

/** Widgets each event changes: people joining or leaving, channels and their membership, topic and purpose. */
const WIDGETS_BY_EVENT: Record<string, string[]> = {
  team_join: ['active-members'],
  // Deactivation, reactivation and guest changes all arrive as user_change.
  user_change: ['active-members'],
  channel_created: ['top-channels'],
  channel_deleted: ['top-channels'],
  channel_archive: ['top-channels'],
  channel_unarchive: ['top-channels'],
  channel_rename: ['top-channels'],
  member_joined_channel: ['top-channels'],
  member_left_channel: ['top-channels'],
  // The list shows each channel's topic or purpose.
  'message.channel_topic': ['top-channels'],
  'message.channel_purpose': ['top-channels'],
};

interface InnerEvent {
  channel_type?: unknown;
  tokens?: { bot?: unknown; oauth?: unknown };
}
const innerEvent = (payload: unknown): InnerEvent => ((payload as { event?: unknown } | null)?.event ?? {}) as InnerEvent;

export const webhooks: ConnectorWebhooks = {
  secrets: [SECRET],

  async receive(request, ctx) {
    const secret = ctx.secret(SECRET);
    if (!secret) return { outcome: 'not_configured', detail: `Set ${SECRET} to receive Slack events.` };
    const signature = request.headers['x-slack-signature'];
    const timestamp = request.headers['x-slack-request-timestamp'];
    if (!signature?.startsWith('v0=') || !timestamp) return { outcome: 'rejected', reason: 'missing_signature' };
    if (!timestampWithin(timestamp, request.now, TOLERANCE_SECONDS)) return { outcome: 'rejected', reason: 'stale_timestamp' };
    // The timestamp exactly as sent: it is part of what Slack signed.
    if (!hmacHexMatches('sha256', secret, signature.slice('v0='.length), `v0:${timestamp}:`, request.rawBody)) {
      return { outcome: 'rejected', reason: 'bad_signature' };
    }

    const delivery = readSlackDelivery(request.rawBody, request.headers['content-type']);
    if (!delivery) return { outcome: 'rejected', reason: 'malformed' };
    switch (delivery.kind) {
      case 'challenge':
        // Slack's url_verification page answers in plain text first (form and JSON are also accepted).
        return { outcome: 'handshake', reply: { status: 200, body: delivery.challenge, contentType: 'text/plain; charset=utf-8' } };
      case 'interaction':
        // An empty 200 is the one answer every interaction accepts (a view_submission with a body is read as a
        // response_action and would keep the modal open with an error).
        return { outcome: 'accepted', events: [delivery.event], reply: { status: 200 } };
      case 'event':
        return { outcome: 'accepted', events: [delivery.event] };
    }
  },

  effects({ eventType, payload }): WebhookEffect {
    if (eventType === 'app_uninstalled') return { widgets: [], connection: 'disconnected' };
    if (eventType === 'tokens_revoked') {
      // The hub reads with the bot token (it asks for bot scopes only): revoked user tokens leave it working.
      const bot = innerEvent(payload).tokens?.bot;
      return Array.isArray(bot) && bot.length > 0 ? { widgets: [], connection: 'needs_reauth' } : { widgets: [] };
    }
    // Private channels are not in the list (it reads public channels only).
    if (eventType.startsWith('member_') && innerEvent(payload).channel_type === 'G') return { widgets: [] };
    return { widgets: WIDGETS_BY_EVENT[eventType] ?? [] };
  },
};
