// Jira app ("dynamic") webhooks, one per connection: registered through POST /rest/api/3/webhook on the connection's
// site, kept alive by PUT /rest/api/3/webhook/refresh (they expire after 30 days), deleted on disconnect.
import { z } from 'zod';
import type { ProviderApi } from '../types.js';
import { SubscriptionGoneError, type SubscriptionContext, type SubscriptionState, type WebhookSubscriptionHooks } from '../webhook-types.js';

/** The scope registering app webhooks takes, and the connection metadata saying it was granted (see hooks.ts). */
export const WEBHOOK_SCOPE = 'manage:jira-webhook';
export const APP_WEBHOOKS_FLAG = 'appWebhooks';

/** What Jira sends an app webhook for; sprint and board events reach admin webhooks only. */
export const APP_WEBHOOK_EVENTS = ['jira:issue_created', 'jira:issue_updated', 'jira:issue_deleted'];
/** Every issue of the site: the widgets count across projects. App-webhook JQL must not be empty. */
export const APP_WEBHOOK_JQL = 'project IS NOT EMPTY';
const LIFETIME_MS = 30 * 86_400_000;
/** Webhooks listed per page, and the pages read looking for one (an app holds few per site). */
const PAGE_SIZE = 100;
const MAX_PAGES = 5;

/** Jira's webhook ids count per site: the site host makes them unique across connections. */
export const subscriptionExternalId = (siteHost: string, webhookId: string) => `${siteHost}/${webhookId}`;

/** A date as Jira gives it: epoch milliseconds (the OpenAPI schema) or an ISO string (the documented examples). */
const jiraDate = z.union([z.number(), z.string()]).transform((v) => {
  const ms = typeof v === 'number' ? (v < 1e11 ? v * 1000 : v) : Date.parse(v);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
});
const registration = z.object({
  webhookRegistrationResult: z.array(z.object({ createdWebhookId: z.number().int().positive().optional(), errors: z.array(z.string()).optional() })).default([]),
});
const webhookPage = z.object({
  values: z.array(z.object({ id: z.number().int(), expirationDate: jiraDate.optional() })).default([]),
  isLast: z.boolean().optional(),
});
const refreshed = z.object({ expirationDate: jiraDate.optional() });

function siteHostOf(ctx: SubscriptionContext): string {
  if (!ctx.metadata.siteUrl) throw new Error('the connection names no Jira site');
  return new URL(ctx.metadata.siteUrl).host.toLowerCase();
}

function webhookIdOf(subscription: SubscriptionState): number {
  const id = Number(subscription.metadata.webhookId ?? subscription.externalId?.split('/').at(-1));
  if (!Number.isSafeInteger(id)) throw new Error('the subscription names no Jira webhook id');
  return id;
}

/** One of the app's webhooks on the site, as Jira lists them (only the calling app's are listed). */
async function findWebhook(api: ProviderApi, id: number) {
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = webhookPage.parse(await api.get('/rest/api/3/webhook', { query: { startAt: page * PAGE_SIZE, maxResults: PAGE_SIZE } }));
    const found = answer.values.find((w) => w.id === id);
    if (found) return found;
    if (answer.isLast !== false || answer.values.length === 0) return undefined;
  }
  return undefined;
}

const fallbackExpiry = (ctx: SubscriptionContext) => new Date(ctx.now.getTime() + LIFETIME_MS);

export const subscriptions: WebhookSubscriptionHooks = {
  // Requested on connect when the hub manages subscriptions.
  scopes: [WEBHOOK_SCOPE],
  // A connection whose user did not grant manage:jira-webhook gets none (its events still come by admin webhooks).
  async plan(ctx) {
    return ctx.metadata[APP_WEBHOOKS_FLAG] === 'granted' ? [{ resource: APP_WEBHOOK_JQL }] : [];
  },

  async create(ctx, subscription) {
    const host = siteHostOf(ctx);
    // Jira takes a single URL per app: the connector's route, not one per connection (routing is by matchedWebhookIds).
    const answer = registration.parse(
      await ctx.api.post('/rest/api/3/webhook', { url: ctx.webhookUrl, webhooks: [{ events: APP_WEBHOOK_EVENTS, jqlFilter: subscription.resource }] }),
    );
    const result = answer.webhookRegistrationResult[0];
    if (!result?.createdWebhookId) throw new Error(`Jira refused the webhook: ${(result?.errors ?? ['no result']).join('; ').slice(0, 200)}`);
    const id = result.createdWebhookId;
    // The answer carries no expiry; the listing does. A failed look-up must not orphan the webhook just made.
    const listed = await findWebhook(ctx.api, id).catch(() => undefined);
    return { externalId: subscriptionExternalId(host, String(id)), expiresAt: listed?.expirationDate ?? fallbackExpiry(ctx), metadata: { webhookId: String(id) } };
  },

  async renew(ctx, subscription) {
    const id = webhookIdOf(subscription);
    const answer = refreshed.parse((await ctx.api.request('PUT', '/rest/api/3/webhook/refresh', { body: { webhookIds: [id] } })).body);
    // Jira ignores ids it no longer has and answers a date all the same: the webhook must still be listed.
    const listed = await findWebhook(ctx.api, id);
    if (!listed) throw new SubscriptionGoneError('the webhook is gone at Jira');
    return { expiresAt: answer.expirationDate ?? listed.expirationDate ?? fallbackExpiry(ctx) };
  },

  async remove(ctx, subscription) {
    await ctx.api.request('DELETE', '/rest/api/3/webhook', { body: { webhookIds: [webhookIdOf(subscription)] } });
  },

  // Refreshed five days before the 30 days run out: time for a few failed attempts.
  renewAheadSeconds: 5 * 86_400,
};
