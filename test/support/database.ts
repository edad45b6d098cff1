// openTestDatabase: the project's database for one test file (a fresh PGlite from a migrated snapshot, or the shared PostgreSQL).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, openPglite, type Database } from '../../src/db/database.js';
import { MIGRATIONS_FOLDER, runMigrations } from '../../src/db/migrate.js';
import { createJobQueue } from '../../src/jobs/queue.js';
import { createLogger } from '../../src/lib/logger.js';

/**
 * Embedded project: a fresh, migrated, in-memory PGlite per call (nothing shared between tests).
 * postgres-redis project: a pool on DATABASE_URL, migrated; tests share it, so each makes its own
 * workspace ids and never truncates a table.
 */
export async function openTestDatabase(): Promise<Database> {
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl) {
    const database = await createDatabase({ databaseUrl, dataDir: tmpdir(), poolSize: 5 });
    await runMigrations(database);
    return database;
  }
  return openPglite({ loadDataDir: await migratedSnapshot() });
}

/**
 * A `dumpDataDir` tarball of a freshly migrated PGlite with pg-boss's schema and queues installed,
 * made once per set of migrations and kept in the temp dir: initdb, migrations and pg-boss's install
 * take seconds each, loading the tarball a fraction of that.
 */
export async function migratedSnapshot(): Promise<Blob> {
  const file = join(tmpdir(), `integration-hub-pglite-${snapshotKey()}.tgz`);
  if (!existsSync(file)) {
    const database = await openPglite();
    try {
      await runMigrations(database);
      const queue = createJobQueue({ database, logger: createLogger({ level: 'silent' }) });
      await queue.start();
      await queue.stop();
      const dump = await database.pglite.dumpDataDir('gzip');
      // Written under a private name, then renamed: rename is atomic, so a vitest worker racing this
      // one never reads half a file, and whichever rename lands last leaves an equally good snapshot.
      const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.partial`;
      await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
      await rename(partial, file);
    } finally {
      await database.close();
    }
  }
  return new Blob([await readFile(file)]);
}

/**
 * Changes whenever a migration file or the PGlite or pg-boss install does, so a stale snapshot is never
 * loaded. The job map is left out on purpose: the queue's start() creates and updates queues anyway.
 */
function snapshotKey(): string {
  const hash = createHash('sha256');
  // A resolved path names the installed version (node_modules/.pnpm/@electric-sql+pglite@x.y.z/…).
  const require = createRequire(import.meta.url);
  hash.update(require.resolve('@electric-sql/pglite')).update(require.resolve('pg-boss'));
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else hash.update(entry.name).update(readFileSync(path));
    }
  };
  walk(MIGRATIONS_FOLDER);
  return hash.digest('hex').slice(0, 16);
}
