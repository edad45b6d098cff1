// Receiving a webhook: the connector verifies it on the raw body (or answers its handshake), the verified events
// are stored in the inbox once per delivery id, and only then does the provider get its 2xx. Processing is later.
import type { Config } from '../../config.js';
import { getConnector } from '../../connectors/index.js';
import type { ConnectorWebhooks, WebhookReply, WebhookRequest, WebhookVerdict, WebhookVerifyContext } from '../../connectors/webhook-types.js';
import { AppError } from '../../errors.js';
import { newId } from '../../lib/ids.js';
import type { Logger } from '../../lib/logger.js';
import type { Metrics } from '../../lib/metrics.js';
import type { WebhookSubscriptionService } from './subscriptions/webhook-subscription.service.js';
import type { NewInboxEvent, WebhookEventRepo } from './webhook-event.repo.js';

/** Headers never kept: signatures, shared secrets, credentials. */
const SECRET_HEADER = /signature|token|secret|authorization|cookie|clientstate|api-key|apikey|password/i;
const MAX_KEPT_HEADERS = 40;
const MAX_HEADER_LENGTH = 512;

/** The request's headers worth keeping for audit. */
export function auditHeaders(headers: WebhookRequest['headers']): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || SECRET_HEADER.test(name)) continue;
    if (Object.keys(kept).length >= MAX_KEPT_HEADERS) break;
    kept[name] = value.slice(0, MAX_HEADER_LENGTH);
  }
  return kept;
}

const ACCEPTED: WebhookReply = { status: 200, body: '{"ok":true}', contentType: 'application/json' };

export interface WebhookIngestDeps {
  config: Pick<Config, 'providers'>;
  events: Pick<WebhookEventRepo, 'insertNew'>;
  subscriptions: Pick<WebhookSubscriptionService, 'secretOfExternal' | 'secretsOfConnection' | 'completeHandshake'>;
  metrics: Metrics;
  logger: Logger;
  /** Told when new events were stored, so workers take them at once instead of at their next poll. */
  onStored?: () => void;
}

export function createWebhookIngest(deps: WebhookIngestDeps) {
  function verifyContext(slug: string): WebhookVerifyContext {
    const providerEnv = deps.config.providers[slug]!;
    return {
      providerEnv,
      secret: (name) => providerEnv.extra[name],
      subscription: (externalId) => deps.subscriptions.secretOfExternal(slug, externalId),
      subscriptionsOf: (connectionId) => deps.subscriptions.secretsOfConnection(slug, connectionId),
      completeHandshake: (connectionId, secret) => deps.subscriptions.completeHandshake(slug, connectionId, secret),
    };
  }

  async function verdictOf(slug: string, webhooks: ConnectorWebhooks, request: WebhookRequest): Promise<WebhookVerdict> {
    try {
      return await webhooks.receive(request, verifyContext(slug));
    } catch (err) {
      // A connector must not throw on bad input; if it does, the delivery is refused, not half-accepted.
      deps.logger.error({ err, slug }, 'webhook verification crashed');
      return { outcome: 'rejected', reason: 'malformed' };
    }
  }

  async function store(rows: NewInboxEvent[]): Promise<number> {
    try {
      return (await deps.events.insertNew(rows)).length;
    } catch (error) {
      // The connection a delivery named was deleted meanwhile: keep the event, unrouted, rather than lose it.
      // (Drizzle wraps the driver's error; the SQLSTATE is on the cause.)
      const e = error as { code?: string; cause?: { code?: string } };
      if ((e.code ?? e.cause?.code) !== '23503') throw error;
      return (await deps.events.insertNew(rows.map((r) => ({ ...r, connectionId: null })))).length;
    }
  }

  return {
    /** Verifies and stores one delivery; answers what the provider must get. Throws AppError for 401/404/503. */
    async receive(slug: string, request: WebhookRequest): Promise<WebhookReply> {
      const webhooks = getConnector(slug)?.webhooks;
      if (!webhooks) throw new AppError('integration_not_found', `No webhooks for '${slug}'.`);
      const verdict = await verdictOf(slug, webhooks, request);
      const count = (outcome: string) => deps.metrics.webhookDeliveries.inc({ connector: slug, outcome });

      switch (verdict.outcome) {
        case 'not_configured':
          count('not_configured');
          throw new AppError('webhook_not_configured', verdict.detail);
        case 'rejected':
          count('rejected');
          deps.metrics.webhookRejections.inc({ connector: slug, reason: verdict.reason });
          deps.logger.warn({ slug, reason: verdict.reason }, 'webhook delivery rejected');
          if (verdict.reply) return verdict.reply;
          throw new AppError('webhook_signature_invalid', 'The delivery could not be verified.');
        case 'handshake':
          count('handshake');
          if (verdict.notice) deps.logger.info({ slug, ...verdict.notice.fields }, verdict.notice.message);
          return verdict.reply;
        case 'accepted': {
          for (const reason of verdict.dropped ?? []) deps.metrics.webhookRejections.inc({ connector: slug, reason });
          const headers = auditHeaders(request.headers);
          const rows: NewInboxEvent[] = verdict.events.map((e) => ({
            id: newId('webhookEvent'),
            connector: slug,
            deliveryId: e.deliveryId,
            eventType: e.eventType,
            routingKeys: e.routingKeys,
            connectionId: e.connectionId ?? null,
            headers,
            payload: e.payload,
            receivedAt: request.now,
          }));
          const stored = await store(rows);
          // A redelivery is answered like the first delivery: the provider must stop retrying.
          count(stored === 0 && rows.length > 0 ? 'duplicate' : 'accepted');
          if (stored > 0) deps.onStored?.();
          return verdict.reply ?? ACCEPTED;
        }
      }
    },
  };
}

export type WebhookIngest = ReturnType<typeof createWebhookIngest>;
