// Reads of a workspace's connections, shaped for the dashboard.
import { AppError } from '../../errors.js';
import type { ConnectionRepo, ConnectionViewRow } from './connection.repo.js';
import type { ConnectionView } from './connection.schemas.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toConnectionView(row: ConnectionViewRow): ConnectionView {
  return {
    id: row.id,
    slug: row.integration,
    status: row.status as ConnectionView['status'],
    account: { id: row.externalAccountId ?? null, name: row.externalAccountName ?? null },
    scopes: row.scopes ?? [],
    connectedAt: iso(row.connectedAt),
    expiresAt: iso(row.accessExpiresAt),
    lastRefreshedAt: iso(row.lastRefreshedAt),
    lastSyncedAt: iso(row.lastSyncedAt),
    lastError: row.lastError ?? null,
  };
}

export function createConnectionService(deps: { connectionRepo: ConnectionRepo }) {
  return {
    async list(workspaceId: string): Promise<ConnectionView[]> {
      return (await deps.connectionRepo.listByWorkspace(workspaceId)).map(toConnectionView);
    },
    async get(workspaceId: string, id: string): Promise<ConnectionView> {
      const row = await deps.connectionRepo.findInWorkspace(workspaceId, id);
      if (!row) throw new AppError('connection_not_found', `No integration ${id} in this workspace.`);
      return toConnectionView(row);
    },
  };
}

export type ConnectionService = ReturnType<typeof createConnectionService>;
