// Jira webhooks: app webhooks (registered per connection through the REST API, bearer JWT) and admin webhooks
// (X-Hub-Signature), both verified in webhook-auth.ts. Payloads name no cloudId: events route by the site their
// `self` links point at, and an app webhook's `matchedWebhookIds` name the connection that registered it.
import { derivedDeliveryId, parseJson } from '../../lib/webhook-signature.js';
import type { ConnectorWebhooks, WebhookEffect, WebhookVerifyContext } from '../webhook-types.js';
import { ADMIN_SECRET, verifyJiraDelivery } from './webhook-auth.js';
import { subscriptionExternalId, subscriptions } from './webhook-subscriptions.js';

type JiraPayload = Record<string, unknown> & { webhookEvent?: unknown; matchedWebhookIds?: unknown };

/** A `self` link's tenant key: `site:<host>`, or `cloud:<id>` for a link through the API gateway. */
function keyOfSelf(self: string): string | undefined {
  try {
    const url = new URL(self);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    const gateway = /^\/ex\/jira\/([0-9a-f-]{36})\//i.exec(url.pathname);
    if (url.host === 'api.atlassian.com' && gateway) return `cloud:${gateway[1]!.toLowerCase()}`;
    return `site:${url.host.toLowerCase()}`;
  } catch {
    return undefined;
  }
}

/** The tenant keys of the objects the event is about (`issue`, `comment`, `sprint`, `board`, `project`, `user` …). */
function routingKeys(p: JiraPayload): string[] {
  const keys = new Set<string>();
  for (const value of Object.values(p)) {
    const self = value && typeof value === 'object' ? (value as { self?: unknown }).self : undefined;
    if (typeof self === 'string' && self.length <= 2048) {
      const key = keyOfSelf(self);
      if (key) keys.add(key);
    }
  }
  return [...keys];
}

/** The connection whose app webhook matched (webhook ids are per site, so the site qualifies them). */
async function connectionOfMatched(p: JiraPayload, keys: string[], ctx: WebhookVerifyContext): Promise<string | undefined> {
  const host = keys.find((k) => k.startsWith('site:'))?.slice('site:'.length);
  if (!host || !Array.isArray(p.matchedWebhookIds)) return undefined;
  for (const id of p.matchedWebhookIds.slice(0, 10)) {
    if ((typeof id !== 'number' && typeof id !== 'string') || !/^\d{1,19}$/.test(String(id))) continue;
    const found = await ctx.subscription(subscriptionExternalId(host, String(id)));
    if (found) return found.connectionId;
  }
  return undefined;
}

const ISSUES = ['open-issues-by-priority', 'sprint-progress'];
const SPRINTS = ['sprint-progress'];
/** Widgets each event changes. Comments, worklogs and versions change neither. */
const WIDGETS_BY_EVENT: Record<string, string[]> = {
  'jira:issue_created': ISSUES,
  'jira:issue_updated': ISSUES,
  'jira:issue_deleted': ISSUES,
  // Sprint and board events reach admin webhooks only (app webhooks take issue events).
  sprint_created: SPRINTS,
  sprint_updated: SPRINTS,
  sprint_started: SPRINTS,
  sprint_closed: SPRINTS,
  sprint_deleted: SPRINTS,
  board_configuration_changed: SPRINTS,
  board_deleted: SPRINTS,
  project_deleted: ISSUES,
};

export const webhooks: ConnectorWebhooks = {
  secrets: [ADMIN_SECRET],

  async receive(request, ctx) {
    const verified = await verifyJiraDelivery(request, ctx);
    if ('refused' in verified) return verified.refused;

    const payload = parseJson(request.rawBody) as JiraPayload | undefined;
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return { outcome: 'rejected', reason: 'malformed' };
    const eventType = payload.webhookEvent;
    if (typeof eventType !== 'string' || eventType.length === 0 || eventType.length > 100) return { outcome: 'rejected', reason: 'malformed' };

    const keys = routingKeys(payload);
    // Only the app's own (JWT) deliveries may name a connection: an admin webhook's secret is shared by every site.
    const connectionId = verified.scheme === 'app' ? await connectionOfMatched(payload, keys, ctx) : undefined;
    // X-Atlassian-Webhook-Identifier is unique within a site and stable across retries: qualified by the site.
    const identifier = request.headers['x-atlassian-webhook-identifier'];
    const deliveryId = identifier ? (keys[0] ? `${keys[0]}/${identifier}` : identifier) : derivedDeliveryId(eventType, request.rawBody);
    return { outcome: 'accepted', events: [{ deliveryId, eventType, routingKeys: keys, ...(connectionId ? { connectionId } : {}), payload }] };
  },

  // No lifecycle effects: an OAuth 2.0 (3LO) app gets no webhook when a user revokes it or an admin removes it
  // (the next token refresh fails with invalid_grant instead).
  effects({ eventType }): WebhookEffect {
    return { widgets: WIDGETS_BY_EVENT[eventType] ?? [] };
  },

  subscriptions,
};
