// SQL for connections, and nothing else: no decisions, no decryption (credentials stay ciphertext here).
import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../../db/database.js';
import { connections, type ConnectionRow } from '../../db/schema.js';

export function createConnectionRepo(db: Db) {
  return {
    async listByWorkspace(workspaceId: string): Promise<ConnectionRow[]> {
      return db.select().from(connections).where(eq(connections.workspaceId, workspaceId)).orderBy(asc(connections.id));
    },
    async findInWorkspace(workspaceId: string, id: string): Promise<ConnectionRow | undefined> {
      const rows = await db
        .select()
        .from(connections)
        .where(and(eq(connections.workspaceId, workspaceId), eq(connections.id, id)))
        .limit(1);
      return rows[0];
    },
  };
}

export type ConnectionRepo = ReturnType<typeof createConnectionRepo>;
