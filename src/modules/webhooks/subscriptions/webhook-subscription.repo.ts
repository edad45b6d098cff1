// SQL for the webhook subscriptions the hub created at providers: secrets stay ciphertext here.
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../../../db/database.js';
import { webhookSubscriptions, type WebhookSubscriptionRow } from '../../../db/schema.js';

export function createWebhookSubscriptionRepo(db: Db) {
  return {
    async insertPending(row: { id: string; connectionId: string; connector: string; resource: string; secret: string; secretKeyId: string }): Promise<void> {
      await db.insert(webhookSubscriptions).values({ ...row, status: 'pending' });
    },

    async activate(id: string, update: { externalId: string; expiresAt: Date | null; nextRenewAt: Date | null; metadata: Record<string, string> }): Promise<void> {
      await db
        .update(webhookSubscriptions)
        .set({ ...update, status: 'active', failures: 0, lastError: null })
        .where(eq(webhookSubscriptions.id, id));
    },

    /** Keeps the provider's handshake secret on the connection's newest pending subscription made within the window. */
    async completeHandshake(connectionId: string, connector: string, secret: { ciphertext: string; keyId: string }, windowSeconds: number): Promise<boolean> {
      const newest = db
        .select({ id: webhookSubscriptions.id })
        .from(webhookSubscriptions)
        .where(
          and(
            eq(webhookSubscriptions.connectionId, connectionId),
            eq(webhookSubscriptions.connector, connector),
            eq(webhookSubscriptions.status, 'pending'),
            sql`${webhookSubscriptions.createdAt} > now() - make_interval(secs => ${windowSeconds})`,
          ),
        )
        .orderBy(desc(webhookSubscriptions.createdAt))
        .limit(1);
      const rows = await db
        .update(webhookSubscriptions)
        .set({ secret: secret.ciphertext, secretKeyId: secret.keyId })
        .where(inArray(webhookSubscriptions.id, newest))
        .returning({ id: webhookSubscriptions.id });
      return rows.length > 0;
    },

    async findByExternalId(connector: string, externalId: string): Promise<WebhookSubscriptionRow | undefined> {
      const rows = await db
        .select()
        .from(webhookSubscriptions)
        .where(and(eq(webhookSubscriptions.connector, connector), eq(webhookSubscriptions.externalId, externalId)))
        .limit(1);
      return rows[0];
    },

    async findById(id: string): Promise<WebhookSubscriptionRow | undefined> {
      const rows = await db.select().from(webhookSubscriptions).where(eq(webhookSubscriptions.id, id)).limit(1);
      return rows[0];
    },

    async listForConnection(connectionId: string): Promise<WebhookSubscriptionRow[]> {
      return db.select().from(webhookSubscriptions).where(eq(webhookSubscriptions.connectionId, connectionId)).orderBy(asc(webhookSubscriptions.createdAt));
    },

    /** Claims subscriptions due for renewal, pushing next_renew_at out by the lease (SKIP LOCKED: instances split the work). */
    async claimDueForRenewal(limit: number, leaseSeconds: number): Promise<WebhookSubscriptionRow[]> {
      const due = db
        .select({ id: webhookSubscriptions.id })
        .from(webhookSubscriptions)
        .where(and(sql`${webhookSubscriptions.nextRenewAt} <= now()`, eq(webhookSubscriptions.status, 'active')))
        .orderBy(asc(webhookSubscriptions.nextRenewAt))
        .limit(limit)
        .for('update', { skipLocked: true });
      return db
        .update(webhookSubscriptions)
        .set({ nextRenewAt: sql`now() + make_interval(secs => ${leaseSeconds})` })
        .where(inArray(webhookSubscriptions.id, due))
        .returning();
    },

    async renewed(id: string, expiresAt: Date | null, nextRenewAt: Date | null): Promise<void> {
      await db.update(webhookSubscriptions).set({ expiresAt, nextRenewAt, failures: 0, lastError: null }).where(eq(webhookSubscriptions.id, id));
    },

    async failed(id: string, update: { error: string; failures: number; nextRenewAt: Date | null; status?: 'active' | 'failed' }): Promise<void> {
      await db
        .update(webhookSubscriptions)
        .set({ lastError: update.error, failures: update.failures, nextRenewAt: update.nextRenewAt, ...(update.status ? { status: update.status } : {}) })
        .where(eq(webhookSubscriptions.id, id));
    },

    async delete(id: string): Promise<void> {
      await db.delete(webhookSubscriptions).where(eq(webhookSubscriptions.id, id));
    },
  };
}

export type WebhookSubscriptionRepo = ReturnType<typeof createWebhookSubscriptionRepo>;
