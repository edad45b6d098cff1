// runMigrations: applies every migration once, is a no-op the second time, and two instances starting together both succeed.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmptyPglite } from '../../test/support/database.js';
import { createDatabase, type Database } from './database.js';
import { MIGRATIONS_FOLDER, runMigrations } from './migrate.js';

const TABLES = ['audit_events', 'connections', 'sync_runs', 'webhook_events', 'webhook_subscriptions', 'widget_reads'];
const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8')) as { entries: unknown[] };

async function appliedMigrations(database: Database): Promise<number> {
  const { rows } = await database.executeSql('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
  return rows[0].n;
}

async function hubTables(database: Database): Promise<string[]> {
  const { rows } = await database.executeSql(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name = ANY($1) ORDER BY 1`,
    [TABLES],
  );
  return rows.map((r) => r.table_name);
}

if (process.env.DATABASE_URL) {
  describe('runMigrations on PostgreSQL', () => {
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    const name = `hub_mig_${randomBytes(6).toString('hex')}`;
    const opened: Database[] = [];

    afterAll(async () => {
      await Promise.all(opened.map((d) => d.close()));
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    });

    it('lets two instances migrate a brand-new database at once, then does nothing the second time', async () => {
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(process.env.DATABASE_URL!);
      url.pathname = `/${name}`;
      // Two pools stand for two hub processes starting together.
      const [a, b] = await Promise.all(
        [0, 1].map(() => createDatabase({ databaseUrl: url.toString(), dataDir: tmpdir(), poolSize: 2 })),
      );
      opened.push(a!, b!);

      await Promise.all([runMigrations(a!), runMigrations(b!)]);

      expect(await hubTables(a!)).toEqual(TABLES);
      expect(await appliedMigrations(a!)).toBe(journal.entries.length);

      await runMigrations(b!);
      expect(await appliedMigrations(b!)).toBe(journal.entries.length);

      // The lock is released: nobody else's session still holds it.
      const { rows } = await a!.executeSql(
        `SELECT count(*)::int AS n FROM pg_locks
          WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = $1)`,
        [name],
      );
      expect(rows[0].n).toBe(0);
    });
  });
} else {
  describe('runMigrations on PGlite', () => {
    let database: Database;
    // In a hook, whose timeout is longer: the first run on a machine pays for initdb.
    beforeAll(async () => {
      database = await openEmptyPglite();
    });
    afterAll(async () => {
      await database?.close();
    });

    it('migrates a new database, then does nothing the second time', async () => {
      expect(await hubTables(database)).toEqual([]);

      await runMigrations(database);
      expect(await hubTables(database)).toEqual(TABLES);
      expect(await appliedMigrations(database)).toBe(journal.entries.length);

      await runMigrations(database);
      expect(await appliedMigrations(database)).toBe(journal.entries.length);
    });
  });
}
