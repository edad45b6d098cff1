// SQL for key rotation: find connections holding ciphertext under an old key, and swap it with a compare-and-set.
import { and, asc, eq, gt, inArray, isNotNull, notLike, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/database.js';
import { auditEvents, connections } from '../../db/schema.js';
import { newId } from '../../lib/ids.js';

export interface RotationCandidate {
  id: string;
  workspaceId: string;
  integration: string;
  credentials: string | null;
  credentialsKeyId: string | null;
  credentialsVersion: number;
  dataKey: string | null;
}

/** What a rotation writes: only the columns it re-encrypted. */
export interface RotatedCiphertexts {
  credentials?: { ciphertext: string; keyId: string };
  dataKey?: string;
}

export interface CurrentKey {
  keyId: string;
  /** The prefix every ciphertext under this key starts with (`v1.<keyId>.`). */
  prefix: string;
}

const candidateColumns = {
  id: connections.id,
  workspaceId: connections.workspaceId,
  integration: connections.integration,
  credentials: connections.credentials,
  credentialsKeyId: connections.credentialsKeyId,
  credentialsVersion: connections.credentialsVersion,
  dataKey: connections.dataKey,
};

/**
 * Stale means: credentials whose key id column or ciphertext names another key, or a data key under another key.
 * The ciphertext itself is checked, not only the column, so a writer that forgot the column is caught too.
 */
function isStale(current: CurrentKey): SQL {
  const pattern = `${current.prefix}%`; // the key id is hex and the prefix has no LIKE wildcards
  return or(
    and(
      isNotNull(connections.credentials),
      or(sql`${connections.credentialsKeyId} IS DISTINCT FROM ${current.keyId}`, notLike(connections.credentials, pattern)),
    ),
    and(isNotNull(connections.dataKey), notLike(connections.dataKey, pattern)),
  )!;
}

export function createKeyRotationRepo(db: Db) {
  return {
    /** The next stale connections after `afterId` in id order: the walk needs no state beyond the last id it saw. */
    async listStale(current: CurrentKey, afterId: string | undefined, limit: number): Promise<RotationCandidate[]> {
      const stale = isStale(current);
      return db
        .select(candidateColumns)
        .from(connections)
        .where(afterId === undefined ? stale : and(gt(connections.id, afterId), stale))
        .orderBy(asc(connections.id))
        .limit(limit);
    },

    /** Those of `ids` that are still stale, re-read with their latest version. */
    async findStale(current: CurrentKey, ids: string[]): Promise<RotationCandidate[]> {
      if (ids.length === 0) return [];
      return db
        .select(candidateColumns)
        .from(connections)
        .where(and(inArray(connections.id, ids), isStale(current)))
        .orderBy(asc(connections.id));
    },

    /**
     * Writes the re-encrypted columns only if the row is exactly as it was read: same credentials_version
     * (every credentials writer bumps it) and the same ciphertexts (which also catches a writer that does not,
     * such as a disconnect clearing them). Records the audit event in the same transaction.
     * Returns false when the row changed meanwhile: nothing was written.
     */
    async replaceCiphertexts(read: RotationCandidate, next: RotatedCiphertexts, auditKeyId: string): Promise<boolean> {
      return db.transaction(async (tx) => {
        const updated = await tx
          .update(connections)
          .set({
            ...(next.credentials ? { credentials: next.credentials.ciphertext, credentialsKeyId: next.credentials.keyId } : {}),
            ...(next.dataKey ? { dataKey: next.dataKey } : {}),
          })
          .where(
            and(
              eq(connections.id, read.id),
              eq(connections.credentialsVersion, read.credentialsVersion),
              sql`${connections.credentials} IS NOT DISTINCT FROM ${read.credentials}`,
              sql`${connections.dataKey} IS NOT DISTINCT FROM ${read.dataKey}`,
            ),
          )
          .returning({ id: connections.id });
        if (updated.length === 0) return false;
        await tx.insert(auditEvents).values({
          id: newId('auditEvent'),
          workspaceId: read.workspaceId,
          connectionId: read.id,
          integration: read.integration,
          action: 'key_rotated',
          actor: 'system',
          detail: { keyId: auditKeyId },
        });
        return true;
      });
    },
  };
}

export type KeyRotationRepo = ReturnType<typeof createKeyRotationRepo>;
