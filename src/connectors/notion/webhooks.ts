// Notion webhooks: X-Notion-Signature is `sha256=` + hex HMAC-SHA256 of the raw body keyed with the subscription's
// verification_token (NOTION_WEBHOOK_VERIFICATION_TOKEN); the event `id` is the de-duplication key (the same on
// every attempt_number); events route by `workspace_id`. The unsigned subscription handshake that carries the token
// is acknowledged and forgotten: the hub never keeps, logs or echoes the token (see the handshake note below).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { hmacHexMatches, parseJson, safeEqual } from '../../lib/webhook-signature.js';
import type { ConnectorWebhooks, WebhookEffect } from '../webhook-types.js';

const SECRET = 'NOTION_WEBHOOK_VERIFICATION_TOKEN';

/** The subscription handshake is exactly `{"verification_token": "…"}`; an event that also has one is an event. */
const handshake = z.strictObject({ verification_token: z.string().min(1).max(1024) });

const notionEvent = z.looseObject({
  id: z.string().min(1).max(255),
  type: z.string().min(1).max(100),
  workspace_id: z.string().min(1).max(100).optional(),
});

/** Page events that can change what the recently-edited list shows (title, edit time, trash, sharing). */
const PAGE_LIST_EVENTS = new Set(['page.created', 'page.content_updated', 'page.properties_updated', 'page.moved', 'page.deleted', 'page.undeleted']);
/** Page events that can change a database's status counts (content edits inside a page cannot). */
const PAGE_ROW_EVENTS = new Set(['page.created', 'page.properties_updated', 'page.moved', 'page.deleted', 'page.undeleted']);

/** Whether the page sits in a database (a row a status breakdown counts). Unknown parents count, to be safe. */
function inDatabase(payload: unknown): boolean {
  const parent = (payload as { data?: { parent?: { type?: unknown; data_source_id?: unknown } } } | null)?.data?.parent;
  if (!parent || typeof parent.type !== 'string') return true;
  return Boolean(parent.data_source_id) || parent.type === 'database' || parent.type === 'data_source';
}

export const webhooks: ConnectorWebhooks = {
  secrets: [SECRET],

  async receive(request, ctx) {
    const body = parseJson(request.rawBody);
    if (handshake.safeParse(body).success) {
      // Notion shows the token only in this request; the operator pastes it into Notion's UI and into
      // NOTION_WEBHOOK_VERIFICATION_TOKEN. It is unsigned (anyone can send one) and it is the signing key: nothing
      // is stored, logged or echoed, and it never replaces the configured token. The operator captures it outside
      // the hub (docs/decisions.md); the handshake is counted (hub_webhook_deliveries_total, outcome=handshake).
      // The log says only a fingerprint, and whether it is the configured token, for the operator to compare with
      // `printf %s "$TOKEN" | sha256sum | cut -c1-12`.
      const token = (body as { verification_token: string }).verification_token;
      const configured = ctx.secret(SECRET);
      return {
        outcome: 'handshake',
        reply: { status: 200 },
        notice: {
          message: 'Notion sent a subscription verification token',
          fields: { fingerprint: createHash('sha256').update(token).digest('hex').slice(0, 12), matchesConfigured: configured !== undefined && safeEqual(configured, token) },
        },
      };
    }
    const secret = ctx.secret(SECRET);
    if (!secret) return { outcome: 'not_configured', detail: `Set ${SECRET} to the subscription's verification_token to receive Notion events.` };
    const signature = request.headers['x-notion-signature'];
    if (!signature?.startsWith('sha256=')) return { outcome: 'rejected', reason: 'missing_signature' };
    if (!hmacHexMatches('sha256', secret, signature.slice('sha256='.length), request.rawBody)) return { outcome: 'rejected', reason: 'bad_signature' };

    const event = notionEvent.safeParse(body);
    if (!event.success) return { outcome: 'rejected', reason: 'malformed' };
    const { id, type, workspace_id: workspaceId } = event.data;
    return {
      outcome: 'accepted',
      events: [{ deliveryId: id, eventType: type, routingKeys: workspaceId ? [`workspace:${workspaceId}`] : [], payload: body }],
    };
  },

  effects({ eventType, payload }): WebhookEffect {
    // Notion documents no event for the connection being removed from a workspace: API calls answer 401 then.
    const widgets: string[] = [];
    if (PAGE_LIST_EVENTS.has(eventType)) widgets.push('recent-pages');
    // A page moved out of a database changes its counts even though its new parent is not one.
    if (eventType === 'page.moved' || (PAGE_ROW_EVENTS.has(eventType) && inDatabase(payload))) widgets.push('items-by-status');
    // Schema, rows, moves and deletions of databases and data sources (a new, empty one is read by no widget yet).
    const [object, action] = eventType.split('.');
    if ((object === 'database' || object === 'data_source') && action !== 'created') widgets.push('items-by-status');
    return { widgets };
  },
};
