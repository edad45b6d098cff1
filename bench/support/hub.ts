// The hub under benchmark: built from the current sources, started as `node dist/main.js` on loopback.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort, rssMiB, spawnNode, waitForOk, type Child } from './processes.js';

/** Rebuilds dist/ with `pnpm build` when a file under src/ is newer than dist/main.js. */
export function ensureBuilt(): void {
  const built = existsSync('dist/main.js') ? statSync('dist/main.js').mtimeMs : 0;
  const newest = readdirSync('src', { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.endsWith('.test.ts'))
    .reduce((max, e) => Math.max(max, statSync(join(e.parentPath, e.name)).mtimeMs), 0);
  if (built > newest) return;
  console.log(built ? 'dist/ is older than src/: pnpm build' : 'no dist/main.js: pnpm build');
  const result = spawnSync('pnpm', ['build'], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`pnpm build failed (${result.error?.message ?? `exit ${result.status}`})`);
}

/** Creates the benchmark's own database on the server of `url` if it is missing (never touches others). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unexpected database name "${name}"`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
}

export interface HubConfig {
  name: 'embedded' | 'postgres-redis';
  env: Record<string, string>;
}

export interface RunningHub {
  child: Child;
  baseUrl: string;
  jwtSecret: string;
  startToReadyMs: number;
  idleRssMiB: number;
  dataDir: string;
}

const UNLIMITED = '1000000000';

export async function startHub(config: HubConfig, options: { settleMs: number; readyLimitMs: number }): Promise<RunningHub> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), `hub-bench-${config.name}-`));
  const jwtSecret = randomBytes(32).toString('hex');
  const baseUrl = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = spawnNode(`hub (${config.name})`, ['dist/main.js'], {
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    AUTH_JWT_SECRET: jwtSecret,
    AUTH_JWKS_URL: '',
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    // The limiter would answer 429 long before the load ends and flatter the hub's figures.
    RATE_LIMIT_PER_MINUTE: UNLIMITED,
    RATE_LIMIT_PER_IP_PER_MINUTE: UNLIMITED,
    ...config.env,
  });
  try {
    const startToReadyMs = await waitForOk(child, `${baseUrl}/readyz`, started, options.readyLimitMs);
    await sleep(options.settleMs);
    return { child, baseUrl, jwtSecret, startToReadyMs, idleRssMiB: rssMiB(child.pid), dataDir };
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}
