// Microsoft Graph change notifications: no HMAC. Graph checks the URL with a `validationToken` echo, and every
// notification item carries the clientState the hub gave its subscription; each item is checked against the
// secret of the subscription it names and routed to that subscription's connection.
import { derivedDeliveryId, parseJson, safeEqual } from '../../lib/webhook-signature.js';
import type { ConnectorWebhooks, InboundEvent, SubscriptionSecret, WebhookEffect, WebhookRejection, WebhookVerifyContext } from '../webhook-types.js';
import { graphSubscriptions } from './graph-subscriptions.js';

interface GraphNotification {
  subscriptionId?: unknown;
  clientState?: unknown;
  changeType?: unknown;
  lifecycleEvent?: unknown;
  resource?: unknown;
  id?: unknown;
  subscriptionExpirationDateTime?: unknown;
  resourceData?: { '@odata.etag'?: unknown } | null;
}

const CALENDAR_WIDGETS = ['todays-meetings', 'meeting-load'];
const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** Graph sends no delivery id: a change is its subscription, kind, resource and version (etag). */
function deliveryIdOf(n: GraphNotification, eventType: string): string {
  const version = str(n.resourceData?.['@odata.etag']) || str(n.id);
  // A lifecycle notification names no resource; the subscription's expiry tells one challenge from the next.
  const moment = n.lifecycleEvent ? str(n.id) || str(n.subscriptionExpirationDateTime) : '';
  return derivedDeliveryId('graph', str(n.subscriptionId), eventType, str(n.resource), version, moment);
}

/** The item as stored: everything but the shared secret. */
function withoutSecret(n: GraphNotification): Record<string, unknown> {
  const { clientState: _secret, ...rest } = n as Record<string, unknown>;
  return rest;
}

/** Which failure best explains a delivery none of whose items verified (most telling first). */
const WORST: WebhookRejection[] = ['bad_signature', 'missing_signature', 'unknown_subscription', 'malformed'];

async function verifyItems(items: unknown[], ctx: WebhookVerifyContext) {
  const known = new Map<string, SubscriptionSecret | undefined>();
  const events: InboundEvent[] = [];
  const failures: WebhookRejection[] = [];
  for (const raw of items) {
    const item = (raw && typeof raw === 'object' ? raw : {}) as GraphNotification;
    const subscriptionId = str(item.subscriptionId);
    const eventType = item.lifecycleEvent ? `lifecycle:${str(item.lifecycleEvent)}` : str(item.changeType);
    if (!subscriptionId || !eventType || eventType === 'lifecycle:') {
      failures.push('malformed');
      continue;
    }
    if (!known.has(subscriptionId)) known.set(subscriptionId, await ctx.subscription(subscriptionId));
    const subscription = known.get(subscriptionId);
    if (!subscription) failures.push('unknown_subscription');
    else if (typeof item.clientState !== 'string' || !item.clientState) failures.push('missing_signature');
    else if (!safeEqual(item.clientState, subscription.secret)) failures.push('bad_signature');
    else events.push({ deliveryId: deliveryIdOf(item, eventType), eventType, routingKeys: [], connectionId: subscription.connectionId, payload: withoutSecret(item) });
  }
  return { events, failures };
}

export const webhooks: ConnectorWebhooks = {
  // Each subscription has its own clientState: nothing app-wide to configure.
  secrets: [],

  async receive(request, ctx) {
    // Graph's URL check (on create, and for the lifecycle URL too): echo the decoded token as plain text. Any
    // request carrying the parameter gets it, as Graph expects; the echo reveals nothing and stores nothing.
    const token = request.query.validationToken;
    if (token !== undefined) {
      if (!token) return { outcome: 'rejected', reason: 'malformed' };
      return { outcome: 'handshake', reply: { status: 200, contentType: 'text/plain', body: token } };
    }

    const body = parseJson(request.rawBody) as { value?: unknown } | undefined;
    if (!body || typeof body !== 'object' || !Array.isArray(body.value) || body.value.length === 0) return { outcome: 'rejected', reason: 'malformed' };
    const { events, failures } = await verifyItems(body.value, ctx);
    // One delivery can batch several subscriptions' items (even other apps' on a shared URL): items that do
    // not verify are dropped; the delivery is refused only when none does.
    if (events.length === 0) return { outcome: 'rejected', reason: WORST.find((r) => failures.includes(r)) ?? 'malformed' };
    const unique = [...new Map(events.map((e) => [e.deliveryId, e])).values()];
    // Stored before the answer, processed later: Graph's "202 Accepted". Dropped items are counted as rejections.
    return { outcome: 'accepted', events: unique, reply: { status: 202 }, dropped: failures };
  },

  effects({ eventType }): WebhookEffect {
    switch (eventType) {
      case 'created':
      case 'updated':
      case 'deleted':
        return { widgets: CALENDAR_WIDGETS };
      // Graph wants the subscription reauthorized: a renewal (PATCH) does that and extends it too.
      case 'lifecycle:reauthorizationRequired':
        return { widgets: [], subscription: 'renew' };
      // Graph dropped the subscription: make a new one, and re-read what changed meanwhile.
      case 'lifecycle:subscriptionRemoved':
        return { widgets: CALENDAR_WIDGETS, subscription: 'recreate' };
      // Some notifications were not delivered (throttling): re-read.
      case 'lifecycle:missed':
        return { widgets: CALENDAR_WIDGETS };
      default:
        return { widgets: [] };
    }
  },

  subscriptions: graphSubscriptions,
};
