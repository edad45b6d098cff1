// An API key the provider keeps refusing: there is no token to refresh, so the connector's own key check (the one run
// at connect time) decides. Refused there too → the connection needs new credentials (needs_reauth, audited,
// announced). A key the check accepts (the refused call lacked a permission, not a key) or a check that fails
// transiently changes nothing. One check per connection per window across instances: a widget that keeps failing
// must not double the calls it makes.
import type { Config } from '../../config.js';
import { resolveEndpoints } from '../../connectors/endpoints.js';
import { getConnector } from '../../connectors/index.js';
import { ProviderError } from '../../errors.js';
import { KV_TTL_MS, keyRecheck } from '../../lib/kv-keys.js';
import type { KeyValueStore } from '../../lib/kv/kv.js';
import type { Logger } from '../../lib/logger.js';
import { createProviderHttp } from '../../lib/provider-http.js';
import type { AuditRepo } from '../audit/audit.repo.js';
import type { ConnectionRepo } from '../connections/connection.repo.js';
import type { CredentialSealer } from '../connections/credentials.js';

export interface KeyRecheckDeps {
  config: Pick<Config, 'providers'>;
  connectionRepo: Pick<ConnectionRepo, 'findById' | 'updateIfVersion'>;
  auditRepo: Pick<AuditRepo, 'record'>;
  sealer: Pick<CredentialSealer, 'open'>;
  kv: KeyValueStore;
  logger: Logger;
  onStatusChanged?: (connectionId: string) => Promise<void>;
}

export type KeyRecheckOutcome = 'needs_reauth' | 'key_accepted' | 'not_checked';

export function createKeyRecheck(deps: KeyRecheckDeps) {
  async function check(connectionId: string, refusedVersion: number): Promise<KeyRecheckOutcome> {
    const row = await deps.connectionRepo.findById(connectionId);
    if (!row?.credentials || row.credentialsVersion !== refusedVersion || !['active', 'error'].includes(row.status)) return 'not_checked';
    const connector = getConnector(row.integration);
    const verify = connector?.hooks?.verifyApiKey;
    if (!connector || !verify) return 'not_checked';
    const stored = deps.sealer.open(row.id, row.credentials);
    if (stored.type !== 'apiKey') return 'not_checked';
    if (!(await deps.kv.acquire(keyRecheck(row.id), '1', KV_TTL_MS.keyRecheck))) return 'not_checked';
    const providerEnv = deps.config.providers[connector.slug]!;
    try {
      const endpoints = resolveEndpoints(connector, providerEnv, row.metadata as Record<string, string>);
      await verify({ credentials: stored.fields, http: createProviderHttp(connector.slug), endpoints, providerEnv });
      return 'key_accepted';
    } catch (error) {
      if (!(error instanceof ProviderError) || error.transient) {
        deps.logger.warn({ connectionId: row.id, slug: connector.slug, err: error instanceof Error ? error.message : error }, 'could not re-check a refused key');
        return 'not_checked';
      }
    }
    const marked = await deps.connectionRepo.updateIfVersion(row.id, refusedVersion, { status: 'needs_reauth', nextRefreshAt: null, lastError: 'credentials_refused' });
    if (!marked) return 'not_checked';
    await deps.auditRepo.record({
      workspaceId: row.workspaceId, connectionId: row.id, integration: connector.slug,
      action: 'needs_reauth', actor: 'system', detail: { reason: 'api_key_refused' },
    });
    await deps.onStatusChanged?.(row.id);
    deps.logger.warn({ connectionId: row.id, slug: connector.slug }, 'the provider refuses the stored key: connection needs new credentials');
    return 'needs_reauth';
  }

  return {
    /** Re-checks the key a provider refused (credentials version `refusedVersion`); never throws. */
    async recheck(connectionId: string, refusedVersion: number): Promise<KeyRecheckOutcome> {
      try {
        return await check(connectionId, refusedVersion);
      } catch (error) {
        deps.logger.warn({ connectionId, err: error instanceof Error ? error.message : error }, 'key re-check failed');
        return 'not_checked';
      }
    },
  };
}

export type KeyRecheck = ReturnType<typeof createKeyRecheck>;
