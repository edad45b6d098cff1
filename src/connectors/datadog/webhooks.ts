// Datadog webhooks: Datadog signs nothing, so the hub's Datadog webhook carries DATADOG_WEBHOOK_SECRET in a custom
// header (`X-Hub-Datadog-Secret`), as a Bearer token, or as the HTTP Basic password, compared in constant time.
// The connection is named by the URL (`/webhooks/datadog/<connectionId>`); `$ORG_ID` in the payload is kept as a
// routing key too. `$ID` (the event) is the de-duplication key; without it, the raw body.
import { isId } from '../../lib/ids.js';
import { derivedDeliveryId, safeEqual } from '../../lib/webhook-signature.js';
import type { ConnectorWebhooks, WebhookEffect, WebhookRequest } from '../webhook-types.js';
import { bodyOf, readNotification } from './webhook-payload.js';

const SECRET = 'DATADOG_WEBHOOK_SECRET';
/** The custom header set in the webhook's "Custom Headers" JSON: `{"X-Hub-Datadog-Secret": "<secret>"}`. */
const SECRET_HEADER = 'x-hub-datadog-secret';
/** An SLO alert monitors `error_budget("<slo id>")` or `burn_rate("<slo id>")`. */
const SLO_QUERY = /^\s*(error_budget|burn_rate)\(/;

/** The secret the request presents: the custom header, else the Authorization header (Bearer, or Basic's password). */
function presentedSecret(headers: WebhookRequest['headers']): string | undefined {
  const custom = headers[SECRET_HEADER];
  if (custom) return custom;
  const authorization = headers.authorization?.trim();
  const space = authorization?.indexOf(' ') ?? -1;
  if (!authorization || space < 0) return undefined;
  const scheme = authorization.slice(0, space).toLowerCase();
  const credentials = authorization.slice(space + 1).trim();
  if (scheme === 'bearer') return credentials || undefined;
  if (scheme !== 'basic') return undefined;
  // Datadog's webhook auth method asks for a user name too: any one will do, the password is the secret.
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : undefined;
}

/** `Re-Triggered` → `re-triggered`, `No Data` → `no_data`: a stable suffix for the event name. */
const transitionName = (transition: string) => transition.toLowerCase().replace(/\s+/g, '_');

export const webhooks: ConnectorWebhooks = {
  secrets: [SECRET],

  async receive(request, ctx) {
    const secret = ctx.secret(SECRET);
    if (!secret) return { outcome: 'not_configured', detail: `Set ${SECRET} to receive Datadog webhooks.` };
    const presented = presentedSecret(request.headers);
    if (!presented) return { outcome: 'rejected', reason: 'missing_signature' };
    if (!safeEqual(presented, secret)) return { outcome: 'rejected', reason: 'bad_signature' };

    const body = bodyOf(request.rawBody, request.headers['content-type']);
    if (!body) return { outcome: 'rejected', reason: 'malformed' };
    const n = readNotification(body);
    // A URL that does not hold a connection id is an ordinary delivery (routed by organisation). One that names a
    // connection since deleted, or another connector's, is stored unrouted or ignored by processing.
    const connectionId = request.integrationId && isId('connection', request.integrationId) ? request.integrationId : undefined;
    const eventType = `${n.eventType ?? 'unknown'}${n.transition ? `.${transitionName(n.transition)}` : ''}`;
    // One notification may go to several hub URLs (two workspaces connected to one organisation): kept once per URL.
    const deliveryId = n.eventId
      ? `event:${n.orgId ?? '-'}:${n.eventId}${connectionId ? `@${connectionId}` : ''}`
      : derivedDeliveryId(connectionId ?? '', request.rawBody);
    return {
      outcome: 'accepted',
      events: [{ deliveryId, eventType, routingKeys: n.orgId ? [`org:${n.orgId}`] : [], ...(connectionId ? { connectionId } : {}), payload: body }],
    };
  },

  effects({ eventType, payload }): WebhookEffect {
    const n = readNotification(payload);
    const kind = eventType.split('.')[0]!;
    // An SLO alert is a monitor too: it shows among the alerting monitors as well as in the SLO's status.
    if (kind.includes('slo') || (n.query && SLO_QUERY.test(n.query))) return { widgets: ['alerting-monitors', 'slo-status'] };
    if (kind.endsWith('_monitor') || kind === 'event_alert' || kind === 'service_check' || n.alertId) return { widgets: ['alerting-monitors'] };
    return { widgets: [] };
  },
};
