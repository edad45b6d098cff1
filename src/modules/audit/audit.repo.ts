// The activity trail: who did what to which connection. Append-only.
import { desc, eq } from 'drizzle-orm';
import type { Db } from '../../db/database.js';
import { auditEvents, type AuditAction, type AuditEventRow } from '../../db/schema.js';
import { newId } from '../../lib/ids.js';

export interface AuditEntry {
  workspaceId: string;
  connectionId?: string | null;
  integration?: string | null;
  action: AuditAction;
  actor: string;
  /** Never secrets: codes, statuses and ids only. */
  detail?: Record<string, unknown>;
}

export function createAuditRepo(db: Db) {
  return {
    async record(entry: AuditEntry): Promise<void> {
      await db.insert(auditEvents).values({ id: newId('auditEvent'), ...entry, detail: entry.detail ?? {} });
    },
    async listForConnection(connectionId: string, limit = 100): Promise<AuditEventRow[]> {
      return db.select().from(auditEvents).where(eq(auditEvents.connectionId, connectionId)).orderBy(desc(auditEvents.id)).limit(limit);
    },
  };
}

export type AuditRepo = ReturnType<typeof createAuditRepo>;
