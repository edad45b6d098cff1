// openTestDatabase: the project's database for one test file (a fresh PGlite from a migrated dump, or the shared PostgreSQL).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, openPglite, openPostgres, type Database, type PgliteDatabase } from '../../src/db/database.js';
import { MIGRATIONS_FOLDER, runMigrations } from '../../src/db/migrate.js';
import { createJobQueue } from '../../src/jobs/queue.js';
import { createLogger } from '../../src/lib/logger.js';

/**
 * Embedded project: a fresh, migrated, in-memory PGlite per call (nothing shared between tests).
 * postgres-redis project: a pool on DATABASE_URL, migrated; tests share it, so each makes its own
 * workspace ids and never truncates a table.
 */
export async function openTestDatabase(databaseUrl = process.env.DATABASE_URL): Promise<Database> {
  if (databaseUrl) {
    const database = await createDatabase({ databaseUrl, dataDir: tmpdir(), poolSize: 5 });
    await runMigrations(database);
    return database;
  }
  return openPglite({ loadDataDir: await migratedDump() });
}

/**
 * postgres-redis project: a database of its own on the DATABASE_URL server, for tests whose subject works on
 * every row (the refresh scan claims whatever is due, whoever made it). Pass `url` to buildTestApp as
 * DATABASE_URL, and `drop()` it after closing the apps. Undefined in the embedded project, where each file
 * already has a PGlite of its own.
 */
export async function createScratchDatabase(label: string): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) return undefined;
  const name = `hub_test_${label}_${randomBytes(6).toString('hex')}`;
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unexpected database name "${name}"`);
  const admin = async (statement: string) => {
    const database = openPostgres(serverUrl, 1);
    try {
      await database.executeSql(statement);
    } finally {
      await database.close();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** A fresh PGlite on which nothing has run yet (for the migration tests), booted from a cached initdb. */
export async function openEmptyPglite(): Promise<PgliteDatabase> {
  return openPglite({ loadDataDir: await emptyDump() });
}

/**
 * `dumpDataDir` tarballs, made once and kept in the temp dir: initdb alone takes seconds, loading a
 * tarball a fraction of that. (Copying a template data dir and opening the copy was measured too: no
 * faster, and it leaves directories behind when a test process dies.)
 */
function emptyDump(): Promise<Blob> {
  return cachedDump(`empty-${installKey()}`, undefined, async () => {});
}

/** Migrated, with pg-boss's schema and the queues of the job map installed. */
async function migratedDump(): Promise<Blob> {
  return cachedDump(`migrated-${installKey()}-${migrationsKey()}`, await emptyDump(), async (database) => {
    await runMigrations(database);
    const queue = createJobQueue({ database, logger: createLogger({ level: 'silent' }) });
    await queue.start();
    await queue.stop();
  });
}

async function cachedDump(name: string, base: Blob | undefined, prepare: (database: PgliteDatabase) => Promise<void>): Promise<Blob> {
  const file = join(tmpdir(), `integration-hub-pglite-${name}.tgz`);
  if (!existsSync(file)) {
    const database = await openPglite({ loadDataDir: base });
    try {
      await prepare(database);
      const dump = await database.pglite.dumpDataDir('gzip');
      // Written under a private name, then renamed: rename is atomic, so a vitest worker racing this
      // one never reads half a file, and whichever rename lands last leaves an equally good dump.
      const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.partial`;
      await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
      await rename(partial, file);
    } finally {
      await database.close();
    }
  }
  return new Blob([await readFile(file)]);
}

/** The installed PGlite and pg-boss: a resolved path names the version (node_modules/.pnpm/<name>@x.y.z/…). */
function installKey(): string {
  const require = createRequire(import.meta.url);
  return hashOf([require.resolve('@electric-sql/pglite'), require.resolve('pg-boss')]);
}

/** Changes whenever a migration file does. The job map is left out: the queue's start() creates and updates queues anyway. */
function migrationsKey(): string {
  const parts: (string | Buffer)[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else parts.push(entry.name, readFileSync(path));
    }
  };
  walk(MIGRATIONS_FOLDER);
  return hashOf(parts);
}

function hashOf(parts: (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex').slice(0, 16);
}
