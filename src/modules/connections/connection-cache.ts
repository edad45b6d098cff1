// A short-lived in-process copy of connection rows for the hot read path (widget data), with the data key
// unwrapped once. Writers announce changes on a channel so every instance drops its copy at once; the TTL
// bounds anything missed. Provider calls never trust it: credentials are always read from the database.
import { createSecretKey, type KeyObject } from 'node:crypto';
import type { ConnectionRow } from '../../db/schema.js';
import { connectionChangedChannel } from '../../lib/kv-keys.js';
import type { KeyValueStore, Unsubscribe } from '../../lib/kv/kv.js';
import type { Logger } from '../../lib/logger.js';
import type { Vault } from '../vault/vault.service.js';
import type { ConnectionRepo } from './connection.repo.js';

export interface CachedConnection {
  row: ConnectionRow;
  /** The unwrapped data key (as a KeyObject: cheaper per use), or undefined once disconnected. */
  dataKey?: KeyObject;
}

const MAX_ENTRIES = 20_000;

export function createConnectionCache(deps: {
  repo: Pick<ConnectionRepo, 'findInWorkspace'>;
  vault: Pick<Vault, 'unwrapDataKey'>;
  kv: KeyValueStore;
  logger: Logger;
  ttlMs?: number;
}) {
  const ttlMs = deps.ttlMs ?? 5_000;
  const entries = new Map<string, { value: CachedConnection; expiresAt: number }>();
  let unsubscribe: Unsubscribe | undefined;

  return {
    /** Listens for changes announced by any instance. */
    async start(): Promise<void> {
      unsubscribe = await deps.kv.subscribe(connectionChangedChannel(), (id) => entries.delete(id));
    },
    async stop(): Promise<void> {
      await unsubscribe?.();
      entries.clear();
    },

    /** The cached connection if this process holds it fresh (no await: the hot path of a cached widget read). */
    peek(workspaceId: string, connectionId: string): CachedConnection | undefined {
      const hit = entries.get(connectionId);
      return hit && hit.expiresAt > Date.now() && hit.value.row.workspaceId === workspaceId ? hit.value : undefined;
    },

    async get(workspaceId: string, connectionId: string): Promise<CachedConnection | undefined> {
      const hit = entries.get(connectionId);
      if (hit && hit.expiresAt > Date.now()) return hit.value.row.workspaceId === workspaceId ? hit.value : undefined;
      const row = await deps.repo.findInWorkspace(workspaceId, connectionId);
      if (!row) return undefined;
      const value = { row, dataKey: row.dataKey ? createSecretKey(deps.vault.unwrapDataKey(row.id, row.dataKey)) : undefined };
      if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
      entries.set(connectionId, { value, expiresAt: Date.now() + ttlMs });
      return value;
    },

    /** Drops the connection here and, through the channel, on every instance. */
    async changed(connectionId: string): Promise<void> {
      entries.delete(connectionId);
      try {
        await deps.kv.publish(connectionChangedChannel(), connectionId);
      } catch (err) {
        deps.logger.warn({ err, connectionId }, 'could not announce a connection change');
      }
    },
  };
}

export type ConnectionCache = ReturnType<typeof createConnectionCache>;
