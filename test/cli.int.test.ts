// The operator CLI as an operator runs it: `hub token` and `hub keys rotate` in a child process.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eq } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createDatabase } from '../src/db/database.js';
import { runMigrations } from '../src/db/migrate.js';
import { connections } from '../src/db/schema.js';
import { createAuthService } from '../src/modules/auth/auth.service.js';
import { createKeyRing } from '../src/modules/vault/keyring.js';
import { createVault } from '../src/modules/vault/vault.service.js';

const run = promisify(execFile);
// Each case starts Node (and for rotation a database) in a child process: slow on a busy machine.
vi.setConfig({ testTimeout: 180_000 });
const cli = (args: string[], env: Record<string, string>) =>
  run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'warn', DATABASE_URL: '', REDIS_URL: '', ...env },
    timeout: 170_000,
  });

describe('hub token', () => {
  const secret = randomBytes(32).toString('hex');
  const env = { AUTH_JWT_SECRET: secret, TOKEN_ENCRYPTION_KEY: 'b'.repeat(64), DATA_DIR: mkdtempSync(join(tmpdir(), 'hub-cli-')) };
  const auth = createAuthService({ config: { auth: { jwtSecret: secret, audience: 'integration-hub' } } });

  it('prints a token that acts on the given workspaces only', async () => {
    const { stdout } = await cli(['token', '--workspace', 'ws_a', '--workspace', 'ws_b'], env);
    const principal = await auth.authenticate(`Bearer ${stdout.trim()}`);
    expect([...principal.workspaces]).toEqual(['ws_a', 'ws_b']);
    expect(principal.admin).toBe(false);
    expect(() => auth.authorizeWorkspace(principal, 'ws_c')).toThrow();
  });

  it('prints an admin token with --admin, and refuses to guess a workspace', async () => {
    const { stdout } = await cli(['token', '--admin'], env);
    expect((await auth.authenticate(`Bearer ${stdout.trim()}`)).admin).toBe(true);
    await expect(cli(['token'], env)).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('--workspace') });
  });
});

describe('hub keys rotate', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  /** A database of the test's own: a fresh PostgreSQL database, or a PGlite data dir in the embedded project. */
  async function ownDatabase(): Promise<{ env: Record<string, string>; open: () => ReturnType<typeof createDatabase> }> {
    const dataDir = mkdtempSync(join(tmpdir(), 'hub-rotate-'));
    if (!process.env.DATABASE_URL) return { env: { DATA_DIR: dataDir }, open: () => createDatabase({ dataDir, poolSize: 1 }) };
    const name = `hub_rot_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    cleanups.push(async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    });
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = `/${name}`;
    return { env: { DATA_DIR: dataDir, DATABASE_URL: url.toString() }, open: () => createDatabase({ databaseUrl: url.toString(), dataDir, poolSize: 2 }) };
  }

  it('re-encrypts every connection under the new key, then has nothing left to do', async () => {
    const oldKey = randomBytes(32).toString('hex');
    const newKey = randomBytes(32).toString('hex');
    const oldVault = createVault({ keyRing: createKeyRing({ currentKey: oldKey, previousKeys: [] }) });
    const newVault = createVault({ keyRing: createKeyRing({ currentKey: newKey, previousKeys: [] }) });
    const { env, open } = await ownDatabase();
    let database = await open();
    await runMigrations(database);
    const id = 'conn_01jrotatecli00000000000000';
    const sealed = oldVault.seal(id, 'credentials', { type: 'oauth2', tokens: { accessToken: 'at-cli-rotate' } });
    await database.db.insert(connections).values({
      id, workspaceId: 'ws_rotate', integration: 'slack', externalAccountId: 'T1', status: 'active',
      credentials: sealed.ciphertext, credentialsKeyId: sealed.keyId, dataKey: oldVault.createDataKey(id).wrapped,
    });
    await database.close();

    const keys = { TOKEN_ENCRYPTION_KEY: newKey, TOKEN_ENCRYPTION_KEYS_PREVIOUS: oldKey, AUTH_JWT_SECRET: 'x'.repeat(40) };
    const first = await cli(['keys', 'rotate'], { ...env, ...keys });
    expect(first.stdout).toContain(`key ${newVault.currentKeyId}: 1 rotated, 0 webhook secrets rotated, 0 skipped, 0 failed`);
    const second = await cli(['keys', 'rotate'], { ...env, ...keys });
    expect(second.stdout).toContain('0 rotated, 0 webhook secrets rotated, 0 skipped, 0 failed');

    database = await open();
    const [row] = await database.db.select().from(connections).where(eq(connections.id, id));
    await database.close();
    expect(row!.credentialsKeyId).toBe(newVault.currentKeyId);
    // Only the new key is needed now: the old one can be retired.
    expect(newVault.open(id, 'credentials', row!.credentials!)).toEqual({ type: 'oauth2', tokens: { accessToken: 'at-cli-rotate' } });
    expect(newVault.unwrapDataKey(id, row!.dataKey!)).toHaveLength(32);
  });
});
