// Opens the durable store: PostgreSQL through a node-postgres pool with DATABASE_URL, else embedded PGlite.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import { fromPglite } from 'pg-boss';
import * as schema from './schema.js';

/** The common type of drizzle over node-postgres and over PGlite: repos take this and never know which. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
/** What `db.transaction(async (tx) => …)` hands its callback. */
export type DbTransaction = Parameters<Parameters<Db['transaction']>[0]>[0];

interface DatabaseBase {
  db: Db;
  /** Raw SQL for pg-boss and health checks: returns the rows of every statement. */
  executeSql(text: string, values?: unknown[]): Promise<{ rows: any[] }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  ping(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** The pool is exposed for what needs one session of its own (the migration lock). */
export interface PostgresDatabase extends DatabaseBase {
  kind: 'postgres';
  pool: pg.Pool;
}

/** The PGlite instance is exposed for the job queue's adapter and for test snapshots (`dumpDataDir`). */
export interface PgliteDatabase extends DatabaseBase {
  kind: 'pglite';
  pglite: PGlite;
}

export type Database = PostgresDatabase | PgliteDatabase;

export interface DatabaseOptions {
  /** PostgreSQL connection string; without it the embedded PGlite is used. */
  databaseUrl?: string;
  /** PGlite keeps its files in `<dataDir>/pglite`. */
  dataDir: string;
  poolSize: number;
  /** Told about errors of idle pooled connections (the pool drops them and opens new ones). */
  onPoolError?: (error: Error) => void;
}

export async function createDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.poolSize, opts.onPoolError);
  const dataDir = join(opts.dataDir, 'pglite');
  mkdirSync(dataDir, { recursive: true });
  return openPglite({ dataDir });
}

export function openPostgres(databaseUrl: string, poolSize: number, onPoolError?: (error: Error) => void): PostgresDatabase {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'integration-hub',
  });
  // Without a listener an idle client's error (server restart, network cut) would crash the process.
  pool.on('error', (error) => onPoolError?.(error));
  let closing: Promise<void> | undefined;
  return {
    kind: 'postgres',
    pool,
    db: drizzleNodePg(pool, { schema }),
    async executeSql(text, values) {
      // Multi-statement text comes back as one result per statement: pg-boss needs all their rows.
      const result = (await pool.query(text, values)) as pg.QueryResult | pg.QueryResult[];
      return { rows: Array.isArray(result) ? result.flatMap((r) => r.rows ?? []) : result.rows };
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    close() {
      closing ??= pool.end();
      return closing;
    },
  };
}

export interface PgliteOptions {
  /** A directory to persist into; in memory when absent. */
  dataDir?: string;
  /** A tarball from `dumpDataDir()` to start from (a prepared, migrated database boots in a fraction of initdb's time). */
  loadDataDir?: Blob;
}

export async function openPglite(opts: PgliteOptions = {}): Promise<PgliteDatabase> {
  const pglite = await PGlite.create({ dataDir: opts.dataDir, loadDataDir: opts.loadDataDir });
  // pg-boss's own PGlite adapter: multi-statement text goes through exec() with the rows of every
  // statement, and a failed statement's aborted transaction is rolled back so it cannot poison the
  // single connection that drizzle shares.
  const adapter = fromPglite(pglite);
  let closing: Promise<void> | undefined;
  return {
    kind: 'pglite',
    pglite,
    db: drizzlePglite(pglite, { schema }),
    executeSql: (text, values) => adapter.executeSql(text, values),
    async ping() {
      await pglite.query('SELECT 1');
    },
    close() {
      closing ??= pglite.closed ? Promise.resolve() : pglite.close();
      return closing;
    },
  };
}
