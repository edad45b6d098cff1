// Disconnecting: revoke at the provider (a failure is recorded, not fatal), forget the credentials and the
// data key (cached data becomes unreadable), purge the cache, record it. Idempotent.
import type { Config } from '../../config.js';
import type { ConnectionRow } from '../../db/schema.js';
import { getConnector } from '../../connectors/index.js';
import { AppError, ProviderError } from '../../errors.js';
import { widgetCachePrefix } from '../../lib/kv-keys.js';
import type { KeyValueStore } from '../../lib/kv/kv.js';
import type { Logger } from '../../lib/logger.js';
import type { AuditRepo } from '../audit/audit.repo.js';
import { revokeAtProvider } from '../oauth/revoke.js';
import { isVaultError } from '../vault/vault-error.js';
import type { ConnectionRepo } from './connection.repo.js';
import { toConnectionView } from './connection.service.js';
import type { ConnectionView } from './connection.schemas.js';
import type { CredentialSealer } from './credentials.js';

export function createDisconnectService(deps: {
  config: Pick<Config, 'providers'>;
  connectionRepo: ConnectionRepo;
  auditRepo: AuditRepo;
  sealer: CredentialSealer;
  kv: KeyValueStore;
  logger: Logger;
  /** Told after the connection changed, so cached copies are dropped everywhere. */
  onChanged?: (connectionId: string) => Promise<void>;
  /** Removes the connection's webhook subscriptions (at the provider too while its credentials still work). */
  unsubscribe?: (connection: ConnectionRow) => Promise<void>;
}) {
  /** Forgets credentials and the data key (cached data becomes unreadable), purges the cache, records it. */
  async function forget(row: ConnectionRow, actor: string, lastError: string | null, detail: Record<string, unknown>): Promise<ConnectionRow> {
    // Bumping the version makes any refresh in flight lose its compare-and-set instead of resurrecting tokens.
    const updated = await deps.connectionRepo.writeCredentials(row.id, {
      credentials: null,
      credentialsKeyId: null,
      dataKey: null,
      status: 'disconnected',
      disconnectedAt: new Date(),
      nextRefreshAt: null,
      accessExpiresAt: null,
      lastError,
    });
    await deps.onChanged?.(row.id);
    await deps.kv.delByPrefix(widgetCachePrefix(row.id));
    await deps.auditRepo.record({ workspaceId: row.workspaceId, connectionId: row.id, integration: row.integration, action: 'disconnected', actor, detail });
    return updated;
  }

  async function unsubscribe(row: ConnectionRow): Promise<void> {
    try {
      await deps.unsubscribe?.(row);
    } catch (err) {
      deps.logger.warn({ err, connectionId: row.id }, 'could not remove webhook subscriptions');
    }
  }

  async function revoke(row: ConnectionRow): Promise<string | undefined> {
    const connector = getConnector(row.integration);
    if (!connector || !row.credentials) return undefined;
    try {
      const stored = deps.sealer.open(row.id, row.credentials);
      if (stored.type !== 'oauth2') return undefined;
      await revokeAtProvider({
        connector,
        providerEnv: deps.config.providers[connector.slug]!,
        tokens: stored.tokens,
        metadata: row.metadata as Record<string, string>,
        accountId: row.externalAccountId,
      });
      return undefined;
    } catch (error) {
      const code =
        error instanceof ProviderError ? (error.providerCode ?? `http_${error.status}`)
        : isVaultError(error) ? 'credentials_unreadable'
        : 'revoke_error';
      deps.logger.warn({ connectionId: row.id, slug: row.integration, code }, 'revoke at provider failed');
      return code;
    }
  }

  return {
    async disconnect(workspaceId: string, connectionId: string, actor: string): Promise<ConnectionView> {
      const row = await deps.connectionRepo.findInWorkspace(workspaceId, connectionId);
      if (!row) throw new AppError('connection_not_found', `No integration ${connectionId} in this workspace.`);
      if (row.status === 'disconnected' && !row.credentials) return toConnectionView(row);

      // Subscriptions go first, while the credentials still authorize removing them at the provider.
      await unsubscribe(row);
      const revokeError = await revoke(row);
      if (revokeError) {
        await deps.auditRepo.record({ workspaceId, connectionId, integration: row.integration, action: 'revoke_failed', actor, detail: { error: revokeError } });
      }
      const updated = await forget(row, actor, revokeError ? `revoke_failed: ${revokeError}` : null, { revoked: !revokeError });
      return toConnectionView(updated);
    },

    /**
     * The provider ended the connection itself (app uninstalled, account deauthorized): nothing to revoke, the
     * credentials are forgotten all the same. Idempotent; false when there was nothing left to disconnect.
     */
    async disconnectedByProvider(connectionId: string, reason: string): Promise<boolean> {
      const row = await deps.connectionRepo.findById(connectionId);
      if (!row || (row.status === 'disconnected' && !row.credentials)) return false;
      await unsubscribe({ ...row, credentials: null });
      await forget(row, `provider:${row.integration}`, `provider: ${reason}`, { reason, revoked: false });
      return true;
    },
  };
}

export type DisconnectService = ReturnType<typeof createDisconnectService>;
