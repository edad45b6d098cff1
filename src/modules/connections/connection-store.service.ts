// Saving a newly connected account: one row per (workspace, integration, external account), sealed credentials,
// a fresh data key, the refresh schedule, and an audit event. Shared by the OAuth callback and API-key connects.
import type { ConnectedAccount } from '../../connectors/types.js';
import type { ConnectionRow } from '../../db/schema.js';
import type { AuditRepo } from '../audit/audit.repo.js';
import type { ConnectionRepo } from './connection.repo.js';
import type { CredentialSealer, StoredCredentials } from './credentials.js';

/** When to refresh a token expiring at `expiresAt`: `aheadSeconds` before, or halfway for short-lived tokens. */
export function refreshTimeFor(expiresAt: Date, aheadSeconds: number, now = Date.now()): Date {
  const lifetimeMs = expiresAt.getTime() - now;
  const aheadMs = Math.min(aheadSeconds * 1000, Math.max(0, lifetimeMs / 2));
  return new Date(expiresAt.getTime() - aheadMs);
}

export interface SaveConnectedInput {
  workspaceId: string;
  slug: string;
  actor: string;
  account: ConnectedAccount;
  credentials: StoredCredentials;
  scopes: string[];
  metadata: Record<string, string>;
}

export function createConnectionStore(deps: {
  connectionRepo: ConnectionRepo;
  auditRepo: AuditRepo;
  sealer: CredentialSealer;
  refreshAheadSeconds: number;
  /** Told after every save, so cached copies of the connection are dropped. */
  onChanged?: (connectionId: string) => Promise<void>;
  /** Told after a connect (webhook subscriptions are made from here). */
  onConnected?: (row: ConnectionRow) => Promise<void>;
}) {
  return {
    async saveConnected(input: SaveConnectedInput): Promise<ConnectionRow> {
      const { id, created } = await deps.connectionRepo.claimId(input.workspaceId, input.slug, input.account.id);
      const tokens = input.credentials.type === 'oauth2' ? input.credentials.tokens : undefined;
      const expiresAt = tokens?.expiresAt ? new Date(tokens.expiresAt) : null;
      const now = new Date();
      const row = await deps.connectionRepo.writeCredentials(id, {
        ...deps.sealer.seal(id, input.credentials),
        // A reconnect gets a new data key too: whatever was cached under the old one becomes unreadable.
        dataKey: deps.sealer.newDataKey(id),
        status: 'active',
        externalAccountName: input.account.name ?? null,
        // How the connection authenticates: an app-level lifecycle event (app deauthorized) ends OAuth grants only.
        metadata: { ...input.metadata, authMethod: input.credentials.type },
        routingKeys: input.account.routingKeys ?? [],
        scopes: input.scopes,
        accessExpiresAt: expiresAt,
        nextRefreshAt: expiresAt && tokens?.refreshToken ? refreshTimeFor(expiresAt, deps.refreshAheadSeconds) : null,
        refreshFailures: 0,
        lastError: null,
        connectedAt: now,
        lastRefreshedAt: null,
        disconnectedAt: null,
      });
      await deps.onChanged?.(id);
      await deps.auditRepo.record({
        workspaceId: input.workspaceId,
        connectionId: id,
        integration: input.slug,
        action: 'connected',
        actor: input.actor,
        detail: { accountId: input.account.id, reconnect: !created, scopes: input.scopes },
      });
      await deps.onConnected?.(row);
      return row;
    },
  };
}

export type ConnectionStore = ReturnType<typeof createConnectionStore>;
