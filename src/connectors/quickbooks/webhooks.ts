// QuickBooks Online webhooks: intuit-signature (base64 HMAC-SHA256 of the raw body with the app's verifier token),
// one app-wide endpoint for every connected company, in either payload format Intuit sends: the legacy
// `{eventNotifications:[{realmId, dataChangeEvent:{entities:[…]}}]}` or CloudEvents (a JSON array of events).
import { derivedDeliveryId, hmacBase64Matches, parseJson } from '../../lib/webhook-signature.js';
import type { ConnectorWebhooks, InboundEvent, WebhookEffect } from '../webhook-types.js';

const SECRET = 'QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN';
const REALM = /^\d{1,32}$/;
/** CloudEvents types: `qbo.<entity>.<action>.v<n>` (`qbo.invoice.created.v1`). */
const CLOUD_EVENT_TYPE = /^qbo\.([a-z]+)\.([a-z]+)\.v\d+$/i;

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 && v.length <= 255 ? v : undefined);
/** Realm ids are strings of digits (a number is taken too: the key must not depend on how the JSON wrote it). */
const realmOf = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
const realmKeys = (realmId: string): string[] => (REALM.test(realmId) ? [`realm:${realmId}`] : []);

/**
 * Legacy format: one event per entity change, named `<Entity>.<Operation>` (`Invoice.Create`). Intuit sends no
 * id: the change itself (company, entity, id, operation, time) is the key, the same on every redelivery.
 */
function legacyEvents(notifications: unknown[]): InboundEvent[] {
  const events: InboundEvent[] = [];
  for (const notification of notifications) {
    if (!isObject(notification)) continue;
    const entities = isObject(notification.dataChangeEvent) ? notification.dataChangeEvent.entities : undefined;
    if (!Array.isArray(entities)) continue;
    const realmId = realmOf(notification.realmId);
    for (const entity of entities) {
      if (!isObject(entity)) continue;
      const [name, id, operation, lastUpdated] = [text(entity.name) ?? 'Unknown', text(entity.id) ?? '', text(entity.operation) ?? 'Unknown', text(entity.lastUpdated) ?? ''];
      events.push({
        deliveryId: derivedDeliveryId(realmId, name, id, operation, lastUpdated),
        eventType: `${name}.${operation}`,
        routingKeys: realmKeys(realmId),
        payload: { format: 'legacy', realmId, entity },
      });
    }
  }
  return events;
}

/**
 * CloudEvents format: `intuitaccountid` is the realm, `intuitentityid` the record, `id` unique per event (the key).
 * One delivery may span several companies.
 */
function cloudEvents(items: unknown[]): InboundEvent[] {
  return items.filter(isObject).map((event) => ({
    deliveryId: text(event.id) ?? derivedDeliveryId('cloudevent', JSON.stringify(event)),
    eventType: text(event.type) ?? 'unknown',
    routingKeys: realmKeys(realmOf(event.intuitaccountid)),
    payload: { format: 'cloudevents', ...event },
  }));
}

/** The entity an event is about, lower case, from either format's name (`Invoice.Create`, `qbo.invoice.created.v1`). */
function entityOf(eventType: string): string {
  const cloud = CLOUD_EVENT_TYPE.exec(eventType);
  return (cloud ? cloud[1]! : eventType.split('.')[0]!).toLowerCase();
}

const RECEIVABLES = ['overdue-invoices', 'receivables-aging'];
/**
 * Widgets each entity changes. Invoices and payments move receivables and income (a cash-basis P&L counts a
 * payment as income); credit memos and journal entries can touch both; the rest only the P&L (or, for customers,
 * the names the receivables show).
 */
const WIDGETS_BY_ENTITY: Record<string, string[]> = {
  invoice: [...RECEIVABLES, 'profit-and-loss'],
  payment: [...RECEIVABLES, 'profit-and-loss'],
  creditmemo: [...RECEIVABLES, 'profit-and-loss'],
  journalentry: ['receivables-aging', 'profit-and-loss'],
  customer: RECEIVABLES,
  account: ['profit-and-loss'],
  bill: ['profit-and-loss'],
  billpayment: ['profit-and-loss'],
  purchase: ['profit-and-loss'],
  vendorcredit: ['profit-and-loss'],
  salesreceipt: ['profit-and-loss'],
  refundreceipt: ['profit-and-loss'],
  deposit: ['profit-and-loss'],
};

export const webhooks: ConnectorWebhooks = {
  secrets: [SECRET],

  async receive(request, ctx) {
    const verifier = ctx.secret(SECRET);
    if (!verifier) return { outcome: 'not_configured', detail: `Set ${SECRET} to receive QuickBooks webhooks.` };
    const signature = request.headers['intuit-signature'];
    if (!signature) return { outcome: 'rejected', reason: 'missing_signature' };
    if (!hmacBase64Matches('sha256', verifier, signature, request.rawBody)) return { outcome: 'rejected', reason: 'bad_signature' };

    const body = parseJson(request.rawBody);
    // CloudEvents arrive as an array; a lone event object is taken too.
    const events = Array.isArray(body)
      ? cloudEvents(body)
      : isObject(body) && Array.isArray(body.eventNotifications)
        ? legacyEvents(body.eventNotifications)
        : isObject(body) && typeof body.specversion === 'string'
          ? cloudEvents([body])
          : undefined;
    if (!events) return { outcome: 'rejected', reason: 'malformed' };
    return { outcome: 'accepted', events };
  },

  effects({ eventType }): WebhookEffect {
    return { widgets: WIDGETS_BY_ENTITY[entityOf(eventType)] ?? [] };
  },
};
