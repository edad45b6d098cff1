// Applies the SQL migrations in ./migrations; safe when several instances start at once on one PostgreSQL.
import { fileURLToPath } from 'node:url';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import type { Database } from './database.js';

// Beside this module both in src/ (tsx, vitest) and in dist/ (`pnpm build` copies the folder).
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('./migrations', import.meta.url));

/** One fixed key for the whole hub (0x6875626d696772, "hubmigr" in ASCII): every instance queues on the same lock. */
const MIGRATION_LOCK_KEY = '29402463180777330';

export async function runMigrations(database: Database): Promise<void> {
  if (database.kind === 'pglite') {
    // One PGlite belongs to one process, so there is nobody to race with.
    await migratePglite(drizzlePglite(database.pglite), { migrationsFolder: MIGRATIONS_FOLDER });
    return;
  }
  // drizzle's migrator takes no lock: two instances would both see a migration as pending and both
  // apply it. A session advisory lock, taken and used on one dedicated client, serializes them; the
  // second finds nothing left to do.
  const client = await database.pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY}::bigint)`);
    try {
      await migrateNodePg(drizzleNodePg(client), { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY}::bigint)`).catch((error: Error) => {
        broken = error;
      });
    }
  } finally {
    // A client whose unlock failed is destroyed, not pooled: closing its session is what frees the lock.
    client.release(broken ?? false);
  }
}
