// Token refresh: one at a time per connection across every instance (in-process single flight, a lock with an
// owner token, a credentials_version compare-and-set on write), so a rotating refresh token is never lost.
import { randomUUID } from 'node:crypto';
import type { Config } from '../../config.js';
import { resolveEndpoints } from '../../connectors/endpoints.js';
import { getConnector } from '../../connectors/index.js';
import { oauth2Of, type TokenSet } from '../../connectors/types.js';
import type { ConnectionRow } from '../../db/schema.js';
import { ProviderError } from '../../errors.js';
import { KV_TTL_MS, refreshLock } from '../../lib/kv-keys.js';
import type { KeyValueStore } from '../../lib/kv/kv.js';
import type { Logger } from '../../lib/logger.js';
import type { AuditRepo } from '../audit/audit.repo.js';
import { refreshTimeFor } from '../connections/connection-store.service.js';
import type { ConnectionRepo } from '../connections/connection.repo.js';
import type { CredentialSealer, StoredCredentials } from '../connections/credentials.js';
import { isDeadGrant, isTransient, mergeRefreshed, refreshGrant } from '../oauth/token-client.js';
import { isVaultError } from '../vault/vault-error.js';
import { refreshRetryDelayMs } from './refresh-backoff.js';

export type RefreshOutcome =
  | 'refreshed'
  | 'refreshed_elsewhere'
  | 'not_due'
  | 'not_refreshable'
  | 'needs_reauth'
  | 'retry_scheduled'
  | 'conflict'
  | 'credentials_unreadable';

export interface RefreshDeps {
  config: Pick<Config, 'providers' | 'refreshAheadSeconds'>;
  connectionRepo: ConnectionRepo;
  auditRepo: AuditRepo;
  sealer: CredentialSealer;
  kv: KeyValueStore;
  logger: Logger;
  /** Called after each token-endpoint call (for metrics and benchmarks). */
  onTokenCall?: (slug: string, ok: boolean) => void;
  /** Told when a refresh changed the connection's status (needs_reauth, error, back to active). */
  onStatusChanged?: (connectionId: string) => Promise<void>;
}

const LOCK_WAIT_STEP_MS = 50;

export function createRefreshService(deps: RefreshDeps) {
  const inFlight = new Map<string, Promise<RefreshOutcome>>();
  const aheadMs = deps.config.refreshAheadSeconds * 1000;

  const isDue = (row: ConnectionRow, now = Date.now()) =>
    !row.accessExpiresAt || row.accessExpiresAt.getTime() - now <= aheadMs;

  async function waitForLockRelease(key: string): Promise<void> {
    const deadline = Date.now() + KV_TTL_MS.refreshLock;
    while (Date.now() < deadline && (await deps.kv.get(key)) !== null) {
      await new Promise((r) => setTimeout(r, LOCK_WAIT_STEP_MS));
    }
  }

  async function underLock(row: ConnectionRow, force: boolean, rejectedVersion: number | undefined): Promise<RefreshOutcome> {
    // Re-read under the lock: another instance may have just refreshed.
    const current = await deps.connectionRepo.findById(row.id);
    if (!current || !current.credentials || !['active', 'error', 'refreshing'].includes(current.status)) return 'not_refreshable';
    if (current.credentialsVersion !== row.credentialsVersion && !isDue(current)) return 'refreshed_elsewhere';
    // The provider refused credentials that are no longer the stored ones: they were replaced meanwhile, use those.
    if (rejectedVersion !== undefined && current.credentialsVersion !== rejectedVersion) return 'refreshed_elsewhere';
    if (!force && !isDue(current)) return 'not_due';

    const connector = getConnector(current.integration);
    const oauth = connector && oauth2Of(connector);
    let stored;
    try {
      stored = deps.sealer.open(current.id, current.credentials);
    } catch (error) {
      if (!isVaultError(error)) throw error;
      // Fail closed: a ciphertext that does not open is never guessed at; the user must reconnect.
      await deps.connectionRepo.updateIfVersion(current.id, current.credentialsVersion, {
        status: 'needs_reauth',
        nextRefreshAt: null,
        lastError: `credentials_unreadable: ${error.reason}`,
      });
      await deps.onStatusChanged?.(current.id);
      deps.logger.error({ connectionId: current.id, reason: error.reason }, 'credentials do not decrypt');
      return 'credentials_unreadable';
    }
    if (!connector || !oauth || oauth.refresh === 'none' || stored.type !== 'oauth2' || !stored.tokens.refreshToken) {
      await deps.connectionRepo.updateIfVersion(current.id, current.credentialsVersion, { nextRefreshAt: null });
      return 'not_refreshable';
    }
    const providerEnv = deps.config.providers[connector.slug]!;
    const tokenUrl = resolveEndpoints(connector, providerEnv, current.metadata as Record<string, string>).tokenUrl!;

    let answer;
    try {
      answer = await refreshGrant({ connector, oauth, tokenUrl, providerEnv }, stored.tokens.refreshToken);
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      answer = { ok: false as const, status: 0, error: error.providerCode ?? 'network_error' };
    }
    deps.onTokenCall?.(connector.slug, answer.ok);

    if (answer.ok) {
      const tokens: TokenSet = mergeRefreshed(stored.tokens, answer.tokens);
      const expiresAt = tokens.expiresAt ? new Date(tokens.expiresAt) : null;
      const written = await deps.connectionRepo.writeCredentialsIfVersion(current.id, current.credentialsVersion, {
        ...deps.sealer.seal(current.id, { type: 'oauth2', tokens }),
        status: 'active',
        accessExpiresAt: expiresAt,
        nextRefreshAt: expiresAt ? refreshTimeFor(expiresAt, deps.config.refreshAheadSeconds) : null,
        lastRefreshedAt: new Date(),
        refreshFailures: 0,
        lastError: null,
      });
      if (!written) {
        // Only possible when the lock expired mid-refresh and another writer got in: keep theirs, say so.
        deps.logger.warn({ connectionId: current.id, slug: connector.slug }, 'refresh lost the compare-and-set');
        return 'conflict';
      }
      await deps.auditRepo.record({ workspaceId: current.workspaceId, connectionId: current.id, integration: connector.slug, action: 'refreshed', actor: 'system' });
      if (current.status !== 'active') await deps.onStatusChanged?.(current.id);
      return 'refreshed';
    }

    const failure = { status: answer.status, error: answer.error, description: answer.description };
    const code = `refresh_failed: ${answer.error}`;
    if (!isTransient(failure) && isDeadGrant(connector, failure)) {
      // A rotated-out token fails like a dead grant: if someone else wrote meanwhile, the grant lives.
      const latest = await deps.connectionRepo.findById(current.id);
      if (latest && latest.credentialsVersion !== current.credentialsVersion) return 'refreshed_elsewhere';
      const marked = await deps.connectionRepo.updateIfVersion(current.id, current.credentialsVersion, {
        status: 'needs_reauth',
        nextRefreshAt: null,
        lastError: code,
      });
      if (marked) {
        await deps.onStatusChanged?.(current.id);
        await deps.auditRepo.record({
          workspaceId: current.workspaceId, connectionId: current.id, integration: connector.slug,
          action: 'needs_reauth', actor: 'system', detail: { error: answer.error, status: answer.status },
        });
      }
      deps.logger.warn({ connectionId: current.id, slug: connector.slug, error: answer.error }, 'refresh grant is dead');
      return 'needs_reauth';
    }

    const failures = current.refreshFailures + 1;
    const expired = current.accessExpiresAt !== null && current.accessExpiresAt.getTime() <= Date.now();
    await deps.connectionRepo.updateIfVersion(current.id, current.credentialsVersion, {
      status: expired ? 'error' : 'active',
      refreshFailures: failures,
      nextRefreshAt: new Date(Date.now() + refreshRetryDelayMs(failures)),
      lastError: code,
    });
    if (expired && current.status !== 'error') await deps.onStatusChanged?.(current.id);
    if (failures === 1 || expired) {
      await deps.auditRepo.record({
        workspaceId: current.workspaceId, connectionId: current.id, integration: connector.slug,
        action: 'refresh_failed', actor: 'system', detail: { error: answer.error, status: answer.status, failures },
      });
    }
    deps.logger.warn({ connectionId: current.id, slug: connector.slug, error: answer.error, status: answer.status, failures }, 'refresh failed; retry scheduled');
    return 'retry_scheduled';
  }

  async function refreshOnce(connectionId: string, force: boolean, rejectedVersion: number | undefined): Promise<RefreshOutcome> {
    const row = await deps.connectionRepo.findById(connectionId);
    if (!row || !row.credentials || !['active', 'error'].includes(row.status)) return 'not_refreshable';
    if (rejectedVersion !== undefined && row.credentialsVersion !== rejectedVersion) return 'refreshed_elsewhere';
    if (!force && !isDue(row)) {
      // Claimed by the scan but not due (expiry moved): put it back on its proper schedule.
      if (row.accessExpiresAt) {
        await deps.connectionRepo.updateIfVersion(row.id, row.credentialsVersion, {
          nextRefreshAt: refreshTimeFor(row.accessExpiresAt, deps.config.refreshAheadSeconds),
        });
      }
      return 'not_due';
    }
    const key = refreshLock(connectionId);
    const owner = randomUUID();
    if (!(await deps.kv.acquire(key, owner, KV_TTL_MS.refreshLock))) {
      await waitForLockRelease(key);
      const after = await deps.connectionRepo.findById(connectionId);
      return after && after.credentialsVersion !== row.credentialsVersion ? 'refreshed_elsewhere' : 'not_due';
    }
    // Keep the lock while the token call runs, so it cannot expire under a slow but live refresh.
    const heartbeat = setInterval(() => void deps.kv.extend(key, owner, KV_TTL_MS.refreshLock).catch(() => undefined), KV_TTL_MS.refreshLock / 3);
    try {
      return await underLock(row, force, rejectedVersion);
    } finally {
      clearInterval(heartbeat);
      await deps.kv.release(key, owner);
    }
  }

  /** Seconds before expiry at which a caller about to use a token refreshes it first. */
  const USE_MARGIN_MS = 60_000;

  return {
    /**
     * The connection's credentials, ready to use: an OAuth token that expires within a minute is refreshed
     * first (on demand, through the same single flight and lock). Only callers that talk to the provider use this.
     */
    async credentialsForUse(connectionId: string): Promise<{ credentials: StoredCredentials; version: number } | undefined> {
      let row = await deps.connectionRepo.findById(connectionId);
      if (!row?.credentials || row.status === 'needs_reauth' || row.status === 'disconnected') return undefined;
      if (row.accessExpiresAt && row.accessExpiresAt.getTime() - Date.now() <= USE_MARGIN_MS) {
        await this.refresh(connectionId, { force: true });
        row = await deps.connectionRepo.findById(connectionId);
        if (!row?.credentials || row.status === 'needs_reauth' || row.status === 'disconnected') return undefined;
        if (row.accessExpiresAt && row.accessExpiresAt.getTime() <= Date.now()) return undefined;
      }
      return { credentials: deps.sealer.open(row.id, row.credentials), version: row.credentialsVersion };
    },

    /**
     * Refreshes the connection's tokens if they are due (or always, with force); one call per connection at a time.
     * With `rejectedVersion` (the credentials a provider just refused), nothing is refreshed when the stored
     * credentials are already newer: two 401s on the same old token cost one refresh, not two.
     */
    refresh(connectionId: string, options: { force?: boolean; rejectedVersion?: number } = {}): Promise<RefreshOutcome> {
      const running = inFlight.get(connectionId);
      if (running) return running;
      const promise = refreshOnce(connectionId, options.force ?? false, options.rejectedVersion).finally(() => inFlight.delete(connectionId));
      inFlight.set(connectionId, promise);
      return promise;
    },
  };
}

export type RefreshService = ReturnType<typeof createRefreshService>;
