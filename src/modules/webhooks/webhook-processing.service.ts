// Processing one stored webhook event: route it to its connections (the connection it named, and every live
// connection holding one of its tenant keys), then apply what it means: refresh the widgets it changes (the
// parameter sets read lately) and announce them, or move the connection to needs_reauth / disconnected.
import { getConnector } from '../../connectors/index.js';
import type { WebhookEffect } from '../../connectors/webhook-types.js';
import type { ConnectionRow } from '../../db/schema.js';
import type { ClaimedEvent } from './webhook-event.repo.js';
import { AppError } from '../../errors.js';
import type { Logger } from '../../lib/logger.js';
import { isVaultError } from '../vault/vault-error.js';
import type { AuditRepo } from '../audit/audit.repo.js';
import type { ConnectionRepo } from '../connections/connection.repo.js';
import type { DisconnectService } from '../connections/disconnect.service.js';
import type { LiveEvents } from '../events/live-events.service.js';
import { READ_WINDOW_MS } from '../sync/sync.service.js';
import type { SyncRepo } from '../sync/sync.repo.js';
import type { WidgetService } from '../widgets/widget.service.js';
import type { WebhookSubscriptionService } from './subscriptions/webhook-subscription.service.js';

/** Failures worth another attempt of the whole event later; anything else about one widget is logged and skipped. */
const TRANSIENT = new Set(['provider_unavailable', 'provider_rate_limited', 'provider_error', 'internal_error']);

export interface ProcessingOutcome {
  status: 'processed' | 'unmatched';
  matchedConnectionIds: string[];
}

/** An event whose outcome routing alone decides: no connection holds it, or it changes nothing they show. */
export interface SettledOutcome extends ProcessingOutcome {
  event: ClaimedEvent;
}

export interface WebhookProcessingDeps {
  connectionRepo: Pick<ConnectionRepo, 'findById' | 'findByRoutingKeys' | 'findForRouting' | 'updateIfVersion'>;
  auditRepo: Pick<AuditRepo, 'record'>;
  syncRepo: Pick<SyncRepo, 'readsSince'>;
  widgets: Pick<WidgetService, 'refreshWidget'>;
  disconnect: Pick<DisconnectService, 'disconnectedByProvider'>;
  subscriptions: Pick<WebhookSubscriptionService, 'renewAllOf' | 'subscribe'>;
  liveEvents: Pick<LiveEvents, 'publish'>;
  /** Told when a connection's status changed (caches dropped, connection.updated announced). */
  onConnectionChanged?: (connectionId: string) => Promise<void>;
  logger: Logger;
}

export function createWebhookProcessing(deps: WebhookProcessingDeps) {
  async function connectionsOf(event: ClaimedEvent): Promise<ConnectionRow[]> {
    const byKey = await deps.connectionRepo.findByRoutingKeys(event.connector, event.routingKeys);
    const named = event.connectionId ? await deps.connectionRepo.findById(event.connectionId) : undefined;
    const all = new Map(byKey.map((c) => [c.id, c]));
    if (named && named.integration === event.connector && named.status !== 'disconnected') all.set(named.id, named);
    return [...all.values()];
  }

  async function markNeedsReauth(connection: ConnectionRow, event: ClaimedEvent): Promise<void> {
    if (connection.status === 'needs_reauth') return;
    const marked = await deps.connectionRepo.updateIfVersion(connection.id, connection.credentialsVersion, {
      status: 'needs_reauth',
      nextRefreshAt: null,
      lastError: `provider: ${event.eventType}`,
    });
    if (!marked) throw new Error('the connection changed while the event was applied'); // retried with fresh data
    await deps.auditRepo.record({
      workspaceId: connection.workspaceId, connectionId: connection.id, integration: connection.integration,
      action: 'needs_reauth', actor: `provider:${connection.integration}`, detail: { event: event.eventType, webhookEventId: event.id },
    });
    await deps.onConnectionChanged?.(connection.id);
  }

  async function refreshWidgets(connection: ConnectionRow, widgetIds: string[], event: ClaimedEvent): Promise<void> {
    const wanted = new Set(widgetIds);
    const reads = (await deps.syncRepo.readsSince(connection.id, new Date(Date.now() - READ_WINDOW_MS))).filter((r) => wanted.has(r.widgetId));
    let transient: AppError | undefined;
    for (const read of reads) {
      const params = read.params as Record<string, unknown>;
      try {
        const fetched = await deps.widgets.refreshWidget(connection.id, read.widgetId, params, { unlessFetchedSince: event.receivedAt });
        if (fetched) {
          await deps.liveEvents.publish(connection.workspaceId, {
            type: 'widget.updated',
            data: { integrationId: connection.id, slug: connection.integration, widgetId: read.widgetId, params },
          });
        }
      } catch (error) {
        // Credentials that do not open (a retired key, tampering) will not open on a retry either.
        const code = error instanceof AppError ? error.code : isVaultError(error) ? 'credentials_unreadable' : 'internal_error';
        if (TRANSIENT.has(code)) transient ??= error instanceof AppError ? error : new AppError('internal_error', String(error));
        deps.logger.warn({ connectionId: connection.id, widgetId: read.widgetId, code, webhookEventId: event.id }, 'webhook could not refresh a widget');
      }
    }
    // The other widgets are done; the event is tried again later for the ones the provider could not serve now.
    if (transient) throw transient;
  }

  async function apply(connection: ConnectionRow, effect: WebhookEffect, event: ClaimedEvent): Promise<void> {
    // Uninstalls, deauthorizations and revocations end an app's OAuth grant; an API key of the same account
    // (a Stripe restricted key) is not that grant and lives on.
    if (effect.connection && (connection.metadata as { authMethod?: string }).authMethod === 'apiKey') {
      deps.logger.info({ connectionId: connection.id, event: event.eventType }, 'lifecycle event left an API-key connection as it is');
      return;
    }
    if (effect.connection === 'disconnected') {
      await deps.disconnect.disconnectedByProvider(connection.id, event.eventType);
      return;
    }
    if (effect.connection === 'needs_reauth') {
      await markNeedsReauth(connection, event);
      return;
    }
    if (effect.subscription === 'renew') await deps.subscriptions.renewAllOf(connection.id);
    if (effect.subscription === 'recreate') await deps.subscriptions.subscribe(connection.id);
    if (effect.widgets.length > 0 && (connection.status === 'active' || connection.status === 'error')) {
      await refreshWidgets(connection, effect.widgets, event);
    }
  }

  /** Routes a claimed batch with one query per connector and settles every event that needs no more than that. */
  async function triage(events: ClaimedEvent[]): Promise<{ settled: SettledOutcome[]; needsWork: ClaimedEvent[] }> {
    const settled: SettledOutcome[] = [];
    const needsWork: ClaimedEvent[] = [];
    const byConnector = new Map<string, ClaimedEvent[]>();
    for (const e of events) byConnector.set(e.connector, [...(byConnector.get(e.connector) ?? []), e]);
    for (const [slug, group] of byConnector) {
      const webhooks = getConnector(slug)?.webhooks;
      const keys = [...new Set(group.flatMap((e) => e.routingKeys))];
      const ids = [...new Set(group.flatMap((e) => (e.connectionId ? [e.connectionId] : [])))];
      const candidates = webhooks ? await deps.connectionRepo.findForRouting(slug, keys, ids) : [];
      for (const event of group) {
        const wanted = new Set(event.routingKeys);
        const matched = candidates.filter((c) => c.id === event.connectionId || c.routingKeys.some((k) => wanted.has(k))).map((c) => c.id);
        if (!webhooks || matched.length === 0) {
          settled.push({ event, status: 'unmatched', matchedConnectionIds: [] });
          continue;
        }
        const effect = webhooks.effects({ eventType: event.eventType, payload: event.payload });
        if (effect.widgets.length === 0 && !effect.connection && !effect.subscription) settled.push({ event, status: 'processed', matchedConnectionIds: matched });
        else needsWork.push(event);
      }
    }
    return { settled, needsWork };
  }

  return {
    triage,

    async process(event: ClaimedEvent): Promise<ProcessingOutcome> {
      const webhooks = getConnector(event.connector)?.webhooks;
      const connections = await connectionsOf(event);
      if (!webhooks || connections.length === 0) return { status: 'unmatched', matchedConnectionIds: [] };
      const effect = webhooks.effects({ eventType: event.eventType, payload: event.payload });
      for (const connection of connections) await apply(connection, effect, event);
      return { status: 'processed', matchedConnectionIds: connections.map((c) => c.id) };
    },
  };
}

export type WebhookProcessing = ReturnType<typeof createWebhookProcessing>;
