// SQL for rotating webhook subscription secrets: find those sealed under an old key, swap with a compare-and-set.
import { and, asc, eq, gt, notLike } from 'drizzle-orm';
import type { Db } from '../../db/database.js';
import { webhookSubscriptions } from '../../db/schema.js';
import type { CurrentKey } from './key-rotation.repo.js';

export interface StaleSecret {
  id: string;
  connectionId: string;
  secret: string;
}

export function createSecretRotationRepo(db: Db) {
  return {
    /** The next subscriptions whose secret is not under the current key, after `afterId` in id order. */
    async listStale(current: CurrentKey, afterId: string | undefined, limit: number): Promise<StaleSecret[]> {
      const stale = notLike(webhookSubscriptions.secret, `${current.prefix}%`);
      return db
        .select({ id: webhookSubscriptions.id, connectionId: webhookSubscriptions.connectionId, secret: webhookSubscriptions.secret })
        .from(webhookSubscriptions)
        .where(afterId === undefined ? stale : and(gt(webhookSubscriptions.id, afterId), stale))
        .orderBy(asc(webhookSubscriptions.id))
        .limit(limit);
    },

    /** Writes the re-sealed secret only if the row still holds the one that was read (a handshake may have replaced it). */
    async replace(read: StaleSecret, next: { ciphertext: string; keyId: string }): Promise<boolean> {
      const rows = await db
        .update(webhookSubscriptions)
        .set({ secret: next.ciphertext, secretKeyId: next.keyId })
        .where(and(eq(webhookSubscriptions.id, read.id), eq(webhookSubscriptions.secret, read.secret)))
        .returning({ id: webhookSubscriptions.id });
      return rows.length > 0;
    },
  };
}
