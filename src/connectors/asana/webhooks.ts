// Asana webhooks: delivered to /webhooks/asana/<connection id>. The X-Hook-Secret handshake (during the hub's own
// create call) is echoed only when the hub is creating a webhook for that connection; deliveries carry
// X-Hook-Signature, the hex HMAC-SHA256 of the raw body with that hook's secret. Heartbeats (no events) are
// acknowledged; each event of a delivery is stored on its own, routed to the connection the URL names.
import { derivedDeliveryId, hmacHexMatches, parseJson } from '../../lib/webhook-signature.js';
import type { ConnectorWebhooks, InboundEvent, WebhookEffect } from '../webhook-types.js';
import { asanaWebhookSubscriptions } from './webhook-subscriptions.js';

interface Ref {
  gid?: unknown;
  resource_type?: unknown;
}

interface AsanaEvent {
  action?: unknown;
  created_at?: unknown;
  resource?: Ref | null;
  parent?: Ref | null;
  user?: Ref | null;
  change?: { field?: unknown; action?: unknown } | null;
}

const TASK_WIDGETS = ['overdue-tasks', 'project-progress'];
const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** Asana sends no delivery id: an event is its hook, moment, action, resource and changed field. */
function eventOf(hook: string, e: AsanaEvent, connectionId: string): InboundEvent | undefined {
  const resourceType = str(e.resource?.resource_type);
  const action = str(e.action);
  if (!resourceType || !action) return undefined;
  return {
    deliveryId: derivedDeliveryId('asana', hook, str(e.created_at), action, str(e.resource?.gid), resourceType, str(e.parent?.gid), str(e.change?.field), str(e.change?.action), str(e.user?.gid)),
    eventType: `${resourceType}.${action}`,
    routingKeys: [],
    connectionId,
    payload: e,
  };
}

export const webhooks: ConnectorWebhooks = {
  // Each webhook has its own secret (Asana's X-Hook-Secret): nothing app-wide to configure.
  secrets: [],

  async receive(request, ctx) {
    const connectionId = request.integrationId;
    const handshakeSecret = request.headers['x-hook-secret'];
    if (handshakeSecret !== undefined) {
      // Kept (and echoed) only for a webhook the hub is creating for this connection right now: an unsolicited
      // handshake installs nothing.
      if (!connectionId || !handshakeSecret || !(await ctx.completeHandshake(connectionId, handshakeSecret))) {
        return { outcome: 'rejected', reason: 'unknown_subscription' };
      }
      return { outcome: 'handshake', reply: { status: 200, headers: { 'X-Hook-Secret': handshakeSecret } } };
    }

    if (!connectionId) return { outcome: 'rejected', reason: 'unknown_subscription' };
    const signature = request.headers['x-hook-signature'];
    if (!signature) return { outcome: 'rejected', reason: 'missing_signature' };
    // A webhook still being created (its handshake done) counts too: Asana may deliver before the create returns.
    const hooks = await ctx.subscriptionsOf(connectionId);
    if (hooks.length === 0) return { outcome: 'rejected', reason: 'unknown_subscription' };
    // The URL names the connection, not the webhook: the signature says which of its webhooks sent it.
    const hook = hooks.find((s) => hmacHexMatches('sha256', s.secret, signature, request.rawBody));
    if (!hook) return { outcome: 'rejected', reason: 'bad_signature' };

    const body = parseJson(request.rawBody) as { events?: unknown } | undefined;
    if (!body || typeof body !== 'object' || !Array.isArray(body.events)) return { outcome: 'rejected', reason: 'malformed' };
    // A heartbeat: Asana checking the target is alive.
    if (body.events.length === 0) return { outcome: 'handshake', reply: { status: 200 } };

    const events = body.events
      .map((e) => (e && typeof e === 'object' ? eventOf(hook.externalId ?? hook.subscriptionId, e as AsanaEvent, hook.connectionId) : undefined))
      .filter((e): e is InboundEvent => e !== undefined);
    if (events.length === 0) return { outcome: 'rejected', reason: 'malformed' };
    return { outcome: 'accepted', events: [...new Map(events.map((e) => [e.deliveryId, e])).values()] };
  },

  effects({ eventType }): WebhookEffect {
    // A task added, removed, changed or (un)deleted can change what is overdue and a project's completion.
    return { widgets: eventType.startsWith('task.') ? TASK_WIDGETS : [] };
  },

  subscriptions: asanaWebhookSubscriptions,
};
