// Per-connection webhook subscriptions at providers that need one (Graph, Google channels, Asana hooks, Jira
// dynamic webhooks): created after connect, renewed before they expire, removed on disconnect. Each has its
// own random secret, sealed by the vault; verification reads it back through `secretOf…`.
import { randomBytes } from 'node:crypto';
import type { Config } from '../../../config.js';
import { getConnector } from '../../../connectors/index.js';
import type { ConnectorDefinition } from '../../../connectors/types.js';
import { SubscriptionGoneError, type SubscriptionContext, type SubscriptionSecret, type SubscriptionState, type WebhookSubscriptionHooks } from '../../../connectors/webhook-types.js';
import type { ConnectionRow, WebhookSubscriptionRow } from '../../../db/schema.js';
import { ProviderError } from '../../../errors.js';
import { newId } from '../../../lib/ids.js';
import type { Logger } from '../../../lib/logger.js';
import type { ConnectionRepo } from '../../connections/connection.repo.js';
import { refreshRetryDelayMs } from '../../refresh/refresh-backoff.js';
import type { Vault } from '../../vault/vault.service.js';
import type { ProviderApiFactory } from '../../widgets/provider-api.js';
import type { WebhookSubscriptionRepo } from './webhook-subscription.repo.js';

/** How long after the hub starts creating a subscription a provider's handshake (Asana) is accepted. */
const HANDSHAKE_WINDOW_SECONDS = 120;
const DEFAULT_RENEW_AHEAD_SECONDS = 3600;

export interface WebhookSubscriptionDeps {
  config: Pick<Config, 'publicUrl' | 'providers' | 'webhookSubscriptions'>;
  repo: WebhookSubscriptionRepo;
  connectionRepo: Pick<ConnectionRepo, 'findById'>;
  vault: Pick<Vault, 'seal' | 'open'>;
  api: ProviderApiFactory;
  logger: Logger;
}

export function renewAt(expiresAt: Date | null, hooks: WebhookSubscriptionHooks, now = Date.now()): Date | null {
  if (!expiresAt) return null;
  const lifetime = expiresAt.getTime() - now;
  const ahead = Math.min((hooks.renewAheadSeconds ?? DEFAULT_RENEW_AHEAD_SECONDS) * 1000, Math.max(0, lifetime / 2));
  return new Date(expiresAt.getTime() - ahead);
}

const errorCode = (error: unknown) =>
  error instanceof ProviderError ? (error.providerCode ?? `http_${error.status}`) : error instanceof Error ? error.message.slice(0, 200) : 'error';

export function createWebhookSubscriptionService(deps: WebhookSubscriptionDeps) {
  const hooksOf = (connector: ConnectorDefinition | undefined) => connector?.webhooks?.subscriptions;

  function context(connector: ConnectorDefinition, connection: ConnectionRow): SubscriptionContext {
    const metadata = connection.metadata as Record<string, string>;
    return {
      api: deps.api.forConnection(connector, { id: connection.id, metadata }),
      connectionId: connection.id,
      metadata,
      webhookUrl: `${deps.config.publicUrl}/webhooks/${connector.slug}`,
      connectionWebhookUrl: `${deps.config.publicUrl}/webhooks/${connector.slug}/${connection.id}`,
      providerEnv: deps.config.providers[connector.slug]!,
      scopes: connection.scopes,
      now: new Date(),
    };
  }

  function stateOf(row: WebhookSubscriptionRow): SubscriptionState {
    return {
      subscriptionId: row.id,
      externalId: row.externalId,
      resource: row.resource,
      secret: deps.vault.open<string>(row.connectionId, 'webhook-secret', row.secret),
      expiresAt: row.expiresAt,
      metadata: row.metadata,
    };
  }

  function sealSecret(connectionId: string, secret: string) {
    return deps.vault.seal(connectionId, 'webhook-secret', secret);
  }

  async function removeOne(connector: ConnectorDefinition, connection: ConnectionRow | undefined, row: WebhookSubscriptionRow): Promise<void> {
    const hooks = hooksOf(connector);
    if (hooks && connection?.credentials && row.externalId) {
      try {
        await hooks.remove(context(connector, connection), stateOf(row));
      } catch (error) {
        // The provider drops a subscription it cannot deliver to; a failed removal is logged, not fatal.
        if (!(error instanceof ProviderError && error.status === 404)) {
          deps.logger.warn({ subscriptionId: row.id, slug: connector.slug, code: errorCode(error) }, 'could not remove a webhook subscription at the provider');
        }
      }
    }
    await deps.repo.delete(row.id);
  }

  async function createOne(connector: ConnectorDefinition, connection: ConnectionRow, resource: string): Promise<void> {
    const hooks = hooksOf(connector)!;
    const id = newId('webhookSubscription');
    const secret = randomBytes(32).toString('base64url');
    const sealed = sealSecret(connection.id, secret);
    await deps.repo.insertPending({ id, connectionId: connection.id, connector: connector.slug, resource, secret: sealed.ciphertext, secretKeyId: sealed.keyId });
    try {
      const created = await hooks.create(context(connector, connection), { subscriptionId: id, externalId: null, resource, secret, expiresAt: null, metadata: {} });
      await deps.repo.activate(id, {
        externalId: created.externalId,
        expiresAt: created.expiresAt,
        nextRenewAt: renewAt(created.expiresAt, hooks),
        metadata: created.metadata ?? {},
      });
    } catch (error) {
      await deps.repo.delete(id);
      throw error;
    }
  }

  return {
    /** Whether the hub manages subscriptions for this connector here. */
    manages(slug: string): boolean {
      return deps.config.webhookSubscriptions && Boolean(hooksOf(getConnector(slug)));
    },

    /**
     * Replaces the connection's subscriptions with fresh ones for what the connector plans to watch (after a
     * connect or reconnect, or a provider's `subscriptionRemoved`); answers how many it made. Throws when the
     * provider fails (the job retries), but not on a 403: the connection lacks the permission, retrying cannot help.
     */
    async subscribe(connectionId: string): Promise<number> {
      const connection = await deps.connectionRepo.findById(connectionId);
      const connector = connection && getConnector(connection.integration);
      const hooks = hooksOf(connector);
      if (!connection || !connector || !hooks || !deps.config.webhookSubscriptions) return 0;
      if (connection.status !== 'active' && connection.status !== 'error') return 0;
      for (const row of await deps.repo.listForConnection(connection.id)) await removeOne(connector, connection, row);
      const plans = await hooks.plan(context(connector, connection));
      let created = 0;
      for (const plan of plans) {
        try {
          await createOne(connector, connection, plan.resource);
          created++;
        } catch (error) {
          // The user did not grant what subscribing takes (providers that do not echo granted scopes say so
          // only now): no subscription, and no retries that could only fail the same way.
          if (!(error instanceof ProviderError && error.status === 403)) throw error;
          deps.logger.warn({ connectionId: connection.id, slug: connector.slug, resource: plan.resource }, 'webhook subscription refused (403): the connection lacks the permission; events come by sync only');
        }
      }
      return created;
    },

    /** Removes every subscription of the connection (at the provider too while its credentials still work). */
    async unsubscribeAll(connection: ConnectionRow): Promise<void> {
      const connector = getConnector(connection.integration);
      for (const row of await deps.repo.listForConnection(connection.id)) {
        if (connector) await removeOne(connector, connection, row);
        else await deps.repo.delete(row.id);
      }
    },

    /** Renews one subscription (or replaces it when the provider has no renewal). */
    async renew(row: WebhookSubscriptionRow): Promise<void> {
      const connection = await deps.connectionRepo.findById(row.connectionId);
      const connector = connection && getConnector(connection.integration);
      const hooks = hooksOf(connector);
      if (!connection || !connector || !hooks || connection.status === 'disconnected' || connection.status === 'needs_reauth') {
        await deps.repo.delete(row.id);
        return;
      }
      try {
        if (hooks.renew) {
          try {
            const { expiresAt } = await hooks.renew(context(connector, connection), stateOf(row));
            await deps.repo.renewed(row.id, expiresAt, renewAt(expiresAt, hooks));
          } catch (error) {
            const gone = error instanceof SubscriptionGoneError || (error instanceof ProviderError && error.status === 404);
            if (!gone) throw error;
            // The provider lost it (expired, deleted by an admin): a new one, and the old row goes.
            await createOne(connector, connection, row.resource);
            await deps.repo.delete(row.id);
          }
        } else {
          // The new one first: a gap between the two would lose deliveries.
          await createOne(connector, connection, row.resource);
          await removeOne(connector, connection, row);
        }
      } catch (error) {
        const failures = row.failures + 1;
        const expired = row.expiresAt !== null && row.expiresAt.getTime() <= Date.now();
        await deps.repo.failed(row.id, {
          error: errorCode(error),
          failures,
          nextRenewAt: expired ? null : new Date(Date.now() + refreshRetryDelayMs(failures)),
          status: expired ? 'failed' : 'active',
        });
        deps.logger.warn({ subscriptionId: row.id, slug: connector.slug, code: errorCode(error), failures }, 'webhook subscription renewal failed');
      }
    },

    /** Renews every subscription of a connection now (a provider's reauthorizationRequired). */
    async renewAllOf(connectionId: string): Promise<void> {
      for (const row of await deps.repo.listForConnection(connectionId)) if (row.status === 'active') await this.renew(row);
    },

    claimDueForRenewal: (limit: number, leaseSeconds: number) => deps.repo.claimDueForRenewal(limit, leaseSeconds),

    // --- for verification -------------------------------------------------------------------------------

    async secretOfExternal(slug: string, externalId: string): Promise<SubscriptionSecret | undefined> {
      const row = await deps.repo.findByExternalId(slug, externalId);
      if (!row) return undefined;
      return { subscriptionId: row.id, connectionId: row.connectionId, externalId: row.externalId, secret: deps.vault.open<string>(row.connectionId, 'webhook-secret', row.secret) };
    },

    async secretsOfConnection(slug: string, connectionId: string): Promise<SubscriptionSecret[]> {
      const rows = (await deps.repo.listForConnection(connectionId)).filter((r) => r.connector === slug);
      return rows.map((row) => ({ subscriptionId: row.id, connectionId: row.connectionId, externalId: row.externalId, secret: deps.vault.open<string>(row.connectionId, 'webhook-secret', row.secret) }));
    },

    async completeHandshake(slug: string, connectionId: string, secret: string): Promise<boolean> {
      if (!/^conn_[0-9a-z]{26}$/.test(connectionId)) return false;
      return deps.repo.completeHandshake(connectionId, slug, sealSecret(connectionId, secret), HANDSHAKE_WINDOW_SECONDS);
    },
  };
}

export type WebhookSubscriptionService = ReturnType<typeof createWebhookSubscriptionService>;
