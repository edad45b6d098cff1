// Xero webhooks: x-xero-signature is base64 HMAC-SHA256 of the raw body with XERO_WEBHOOK_KEY. Every answer is
// bare, as Xero's server guidelines ask (no body, no cookies): 200 for a correctly signed delivery, 401 for any
// other, which is also how intent-to-receive (signed and mis-signed `events: []` deliveries) is passed. A delivery
// holds a batch: one inbox event per Xero event, de-duplicated on what identifies it (Xero sends no event id),
// routed by the organisation's tenantId.
import { z } from 'zod';
import { derivedDeliveryId, hmacBase64Matches, parseJson } from '../../lib/webhook-signature.js';
import type { ConnectorWebhooks, InboundEvent, WebhookEffect, WebhookReply } from '../webhook-types.js';

const SECRET = 'XERO_WEBHOOK_KEY';

const OK: WebhookReply = { status: 200 };
const UNAUTHORIZED: WebhookReply = { status: 401 };
// Signed by Xero but not a shape we know: a retry (Xero retries for 24 hours) is better than losing the batch.
const UNREADABLE: WebhookReply = { status: 400 };

const xeroEvent = z.looseObject({
  resourceId: z.string().min(1).max(100),
  resourceUrl: z.string().max(2048).optional(),
  eventDateUtc: z.string().min(1).max(64),
  eventType: z.string().min(1).max(50),
  eventCategory: z.string().min(1).max(50),
  tenantId: z.string().min(1).max(100),
  tenantType: z.string().max(50).optional(),
});
// Intent-to-receive batches are `events: []`; a null list is read as empty too.
const xeroDelivery = z.looseObject({ events: z.array(xeroEvent).nullish() });
type XeroEvent = z.infer<typeof xeroEvent>;

/** Organisation events route to the tenant's connections; SUBSCRIPTION events name the app, which no connection holds. */
function routingKeys(e: XeroEvent): string[] {
  return e.tenantType === undefined || e.tenantType === 'ORGANISATION' ? [`tenant:${e.tenantId}`] : [`application:${e.tenantId}`];
}

function inboundEvent(e: XeroEvent): InboundEvent {
  return {
    // The same change redelivered (Xero retries a batch until it gets a 200) derives the same id.
    deliveryId: derivedDeliveryId(e.tenantId, e.eventCategory, e.eventType, e.resourceId, e.eventDateUtc),
    eventType: `${e.eventCategory}.${e.eventType}`,
    routingKeys: routingKeys(e),
    payload: e,
  };
}

/**
 * Invoices and credit notes move income and receivables (the summary) and what is owed (the overdue list; a credit
 * note allocated to an invoice lowers its amount due). A renamed contact changes the names the overdue list shows;
 * a new contact has no invoices yet.
 */
const WIDGETS_BY_EVENT: Record<string, string[]> = {
  'INVOICE.CREATE': ['executive-summary', 'overdue-invoices'],
  'INVOICE.UPDATE': ['executive-summary', 'overdue-invoices'],
  'CREDITNOTE.CREATE': ['executive-summary', 'overdue-invoices'],
  'CREDITNOTE.UPDATE': ['executive-summary', 'overdue-invoices'],
  'CONTACT.UPDATE': ['overdue-invoices'],
};

export const webhooks: ConnectorWebhooks = {
  secrets: [SECRET],

  async receive(request, ctx) {
    const key = ctx.secret(SECRET);
    if (!key) return { outcome: 'not_configured', detail: `Set ${SECRET} to receive Xero webhooks.` };
    const signature = request.headers['x-xero-signature'];
    if (!signature) return { outcome: 'rejected', reason: 'missing_signature', reply: UNAUTHORIZED };
    if (!hmacBase64Matches('sha256', key, signature, request.rawBody)) return { outcome: 'rejected', reason: 'bad_signature', reply: UNAUTHORIZED };

    const delivery = xeroDelivery.safeParse(parseJson(request.rawBody));
    if (!delivery.success) return { outcome: 'rejected', reason: 'malformed', reply: UNREADABLE };
    // Intent to receive: a correctly signed empty batch. Nothing to keep.
    if (!delivery.data.events?.length) return { outcome: 'handshake', reply: OK };
    // One inbox event per change; the same change twice in a batch is kept once.
    const events = new Map<string, InboundEvent>();
    for (const e of delivery.data.events) {
      const inbound = inboundEvent(e);
      events.set(inbound.deliveryId, inbound);
    }
    return { outcome: 'accepted', events: [...events.values()], reply: OK };
  },

  // Xero sends no webhook for a disconnected organisation or revoked grant: API calls answer 401/403 then.
  effects({ eventType }): WebhookEffect {
    return { widgets: WIDGETS_BY_EVENT[eventType] ?? [] };
  },
};
