// `pnpm bench refresh`: N connections all due at once, refreshed by two worker processes competing on one
// PostgreSQL + Redis against a local rotating-token endpoint; then connect → callback latency through one hub.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { openPostgres } from '../src/db/database.js';
import { runMigrations } from '../src/db/migrate.js';
import { newId } from '../src/lib/ids.js';
import { createKeyRing } from '../src/modules/vault/keyring.js';
import { createVault, type Vault } from '../src/modules/vault/vault.service.js';
import { measureConnectLatency, type ConnectLatencyResult } from './support/connect-latency.js';
import { ensureBuilt, ensureDatabase } from './support/hub.js';
import { spawnNode, stop, stopAll, type Child } from './support/processes.js';
import { startTokenServer, type TokenServer, type TokenServerStats } from './support/token-server.js';

const env = (name: string, fallback: string) => process.env[name] || fallback;
const settings = {
  connections: Number(env('BENCH_REFRESH_N', '10000')),
  workers: 2,
  perWorkspace: 100,
  /** The seeded access tokens expire this long after seeding; every refresh must land before. */
  expiresInSeconds: 300,
  refreshLimitMs: Number(env('BENCH_REFRESH_LIMIT_MS', '240000')),
  pollMs: 250,
  connectFlows: Number(env('BENCH_CONNECT_FLOWS', '200')),
  connectWarmup: 10,
  readyLimitMs: 60_000,
  databaseUrl: env('BENCH_DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/hub_bench'),
  // A Redis database of its own, away from the tests' keys (db 0).
  redisUrl: env('BENCH_REDIS_URL', 'redis://127.0.0.1:6379/7'),
};
const WORKSPACE_PREFIX = 'ws_rbench_';
const CONNECT_WORKSPACE = `${WORKSPACE_PREFIX}connect`;
const CLIENT = { clientId: 'bench-client', clientSecret: randomBytes(16).toString('hex') };
const INSERT_BATCH = 500;

interface Seeded {
  workspaces: string[];
  /** connection id → the grant key the token server knows it by. */
  grantOf: Map<string, string>;
  expiresAt: Date;
}

/** Removes what earlier runs left: only this benchmark's workspaces, only in its own database. */
async function clean(pool: pg.Pool): Promise<void> {
  const name = new URL(settings.databaseUrl).pathname.slice(1);
  if (!name.startsWith('hub_bench')) throw new Error(`refusing to delete rows in "${name}": the benchmark's database is hub_bench`);
  await pool.query(`delete from audit_events where starts_with(workspace_id, $1)`, [WORKSPACE_PREFIX]);
  await pool.query(`delete from connections where starts_with(workspace_id, $1)`, [WORKSPACE_PREFIX]);
}

/** Deletes the hub's keys (prefix `hub:v1:`) in the benchmark's Redis database; other keys and databases stay. */
async function flushHubKeys(url: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let deleted = 0;
  try {
    for await (const keys of redis.scanStream({ match: 'hub:v1:*', count: 1000 }) as AsyncIterable<string[]>) {
      if (keys.length) deleted += await redis.unlink(...keys);
    }
  } finally {
    redis.disconnect();
  }
  return deleted;
}

async function seed(pool: pg.Pool, vault: Vault, server: TokenServer): Promise<Seeded> {
  const now = new Date();
  const expiresAt = new Date(now.getTime() + settings.expiresInSeconds * 1000);
  const grantOf = new Map<string, string>();
  const workspaces = new Set<string>();
  for (let start = 0; start < settings.connections; start += INSERT_BATCH) {
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (let i = start; i < Math.min(settings.connections, start + INSERT_BATCH); i++) {
      const id = newId('connection');
      const workspaceId = `${WORKSPACE_PREFIX}${String(Math.floor(i / settings.perWorkspace)).padStart(4, '0')}`;
      const email = `bench-${i}@example.com`;
      const refreshToken = `rt-${i}-0`;
      const sealed = vault.seal(id, 'credentials', {
        type: 'oauth2',
        tokens: { accessToken: `at-${i}-0`, refreshToken, expiresAt: expiresAt.toISOString(), tokenType: 'Bearer' },
      });
      server.addGrant(String(i), refreshToken, email);
      grantOf.set(id, String(i));
      workspaces.add(workspaceId);
      const p = values.length;
      tuples.push(`($${p + 1}, $${p + 2}, 'google-calendar', 'active', $${p + 3}, $${p + 3}, $${p + 4}::jsonb, $${p + 5}, $${p + 6}, $${p + 7}, $${p + 8})`);
      values.push(id, workspaceId, email, JSON.stringify({ email }), sealed.ciphertext, sealed.keyId, expiresAt, now);
    }
    await pool.query(
      `insert into connections (id, workspace_id, integration, status, external_account_id, external_account_name, metadata,
         credentials, credentials_key_id, access_expires_at, next_refresh_at) values ${tuples.join(', ')}`,
      values,
    );
  }
  return { workspaces: [...workspaces], grantOf, expiresAt };
}

/** CPU seconds (user + system) a process has used, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function dbCounters(pool: pg.Pool) {
  const { rows } = await pool.query<{ xact: string; updated: string; inserted: string }>(
    `select xact_commit + xact_rollback as xact, tup_updated as updated, tup_inserted as inserted from pg_stat_database where datname = current_database()`,
  );
  return { transactions: Number(rows[0]!.xact), updated: Number(rows[0]!.updated), inserted: Number(rows[0]!.inserted) };
}

interface RefreshRun {
  completed: boolean;
  refreshed: number;
  wallMs: number;
  /** Spawn → first token call: process start, migrations check, first claim. */
  firstCallMs?: number;
  /** First to last token call: the refresh work itself. */
  tokenWindowMs?: number;
  workerCpuSeconds: number[];
  workerExit: (number | null)[];
  stats: TokenServerStats;
  db: { transactions: number; updated: number; inserted: number };
}

async function runWorkers(pool: pg.Pool, server: TokenServer, seeded: Seeded, encryptionKey: string): Promise<RefreshRun> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hub-bench-refresh-'));
  const before = await dbCounters(pool);
  const workers: Child[] = [];
  const started = performance.now();
  const startedAt = Date.now();
  for (let w = 1; w <= settings.workers; w++) {
    workers.push(
      spawnNode(`worker ${w}`, ['dist/worker.js'], {
        NODE_ENV: 'production',
        DATA_DIR: dataDir,
        DATABASE_URL: settings.databaseUrl,
        REDIS_URL: settings.redisUrl,
        LOG_LEVEL: 'warn',
        AUTH_JWT_SECRET: randomBytes(20).toString('hex'),
        AUTH_JWKS_URL: '',
        TOKEN_ENCRYPTION_KEY: encryptionKey,
        GOOGLE_CLIENT_ID: CLIENT.clientId,
        GOOGLE_CLIENT_SECRET: CLIENT.clientSecret,
        // The query names the worker, so the token server can tell who made each call.
        GOOGLE_TOKEN_URL: `${server.url}/token?worker=${w}`,
      }),
    );
  }
  try {
    let refreshed: number;
    for (;;) {
      const { rows } = await pool.query<{ done: string }>(
        `select count(*) filter (where last_refreshed_at is not null) as done from connections where workspace_id = any($1)`,
        [seeded.workspaces],
      );
      refreshed = Number(rows[0]!.done);
      if (refreshed >= settings.connections) break;
      const dead = workers.find((w) => w.exit);
      if (dead) throw new Error(`${dead.name} exited (code ${dead.exit!.code}) with ${refreshed} refreshed:\n${dead.output()}`);
      if (performance.now() - started > settings.refreshLimitMs) break;
      await sleep(settings.pollMs);
    }
    const wallMs = performance.now() - started;
    const cpu = workers.map((w) => cpuSeconds(w.pid));
    // Late, unwanted calls (a second refresh of a row) would come right after the last row: give them a moment.
    await sleep(1_000);
    const exits = [];
    for (const w of workers) exits.push((await stop(w)).code);
    for (const w of workers) if (w.output().trim()) console.log(`[${w.name}] output:\n${w.output().slice(-4_000)}`);
    const stats = server.stats();
    const after = await dbCounters(pool);
    return {
      completed: refreshed >= settings.connections,
      refreshed,
      wallMs,
      firstCallMs: stats.firstRefreshAt === undefined ? undefined : stats.firstRefreshAt - startedAt,
      tokenWindowMs: stats.firstRefreshAt === undefined ? undefined : stats.lastRefreshAt! - stats.firstRefreshAt,
      workerCpuSeconds: cpu,
      workerExit: exits,
      stats,
      db: { transactions: after.transactions - before.transactions, updated: after.updated - before.updated, inserted: after.inserted - before.inserted },
    };
  } finally {
    for (const w of workers) await stop(w, 5_000);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

interface Verification {
  refreshedBeforeExpiry: number;
  active: number;
  /** credentials_version 1: written exactly once. */
  writtenOnce: number;
  /** The stored refresh token is the last one the provider issued: no grant lost. */
  grantsIntact: number;
}

async function verify(pool: pg.Pool, vault: Vault, server: TokenServer, seeded: Seeded): Promise<Verification> {
  const { rows } = await pool.query<{ id: string; credentials: string | null; status: string; credentials_version: number; last_refreshed_at: Date | null }>(
    `select id, credentials, status, credentials_version, last_refreshed_at from connections where workspace_id = any($1)`,
    [seeded.workspaces],
  );
  const result: Verification = { refreshedBeforeExpiry: 0, active: 0, writtenOnce: 0, grantsIntact: 0 };
  for (const row of rows) {
    if (row.last_refreshed_at && row.last_refreshed_at < seeded.expiresAt) result.refreshedBeforeExpiry++;
    if (row.status === 'active') result.active++;
    if (row.credentials_version === 1) result.writtenOnce++;
    if (!row.credentials) continue;
    const stored = vault.open<{ tokens?: { refreshToken?: string } }>(row.id, 'credentials', row.credentials);
    if (stored.tokens?.refreshToken === server.currentRefreshToken(seeded.grantOf.get(row.id)!)) result.grantsIntact++;
  }
  return result;
}

interface Target {
  name: string;
  value: string;
  pass: boolean;
}

function targetsOf(run: RefreshRun, check: Verification, connect: ConnectLatencyResult | undefined): Target[] {
  const n = settings.connections;
  const s = run.stats;
  const targets: Target[] = [
    { name: `all ${n} refreshed within ${settings.refreshLimitMs / 1000} s`, value: `${run.refreshed}`, pass: run.completed },
    { name: 'token-endpoint refresh calls = N', value: `${s.refreshCalls}`, pass: s.refreshCalls === n },
    { name: 'double refreshes (rotated token reused) = 0', value: `${s.doubleRefreshes}`, pass: s.doubleRefreshes === 0 },
    { name: 'connections refreshed more than once = 0', value: `${s.grantsRefreshedMoreThanOnce}`, pass: s.grantsRefreshedMoreThanOnce === 0 },
    { name: 'refreshed before original expiry = N', value: `${check.refreshedBeforeExpiry}`, pass: check.refreshedBeforeExpiry === n },
    { name: 'stored refresh token = last issued (no grant lost) = N', value: `${check.grantsIntact}`, pass: check.grantsIntact === n },
    { name: 'unknown tokens / bad client = 0', value: `${s.unknownRefreshTokens} / ${s.badClient}`, pass: s.unknownRefreshTokens === 0 && s.badClient === 0 },
    { name: 'workers exit 0 on SIGTERM', value: run.workerExit.join(', '), pass: run.workerExit.every((c) => c === 0) },
  ];
  if (connect) {
    targets.push({ name: `connect flows succeeded = ${connect.flows}`, value: `${connect.flows - connect.failures}`, pass: connect.failures === 0 });
  }
  return targets;
}

function print(run: RefreshRun, check: Verification, connect: ConnectLatencyResult | undefined, targets: Target[]): void {
  const n = settings.connections;
  const rate = (ms: number | undefined) => (ms ? ((n * 1000) / ms).toFixed(0) : '-');
  const lines: [string, string][] = [
    ['connections due', String(n)],
    ['wall time (spawn → all refreshed)', `${(run.wallMs / 1000).toFixed(2)} s`],
    ['refreshes/s (wall)', rate(run.wallMs)],
    ['spawn → first token call', run.firstCallMs === undefined ? '-' : `${run.firstCallMs} ms`],
    ['first → last token call', run.tokenWindowMs === undefined ? '-' : `${(run.tokenWindowMs / 1000).toFixed(2)} s (${rate(run.tokenWindowMs)}/s)`],
    ['token calls by worker', Object.entries(run.stats.callsByWorker).map(([w, c]) => `w${w}: ${c}`).join(', ')],
    ['token server sockets opened', String(run.stats.socketsOpened)],
    ['worker CPU', run.workerCpuSeconds.map((c) => `${c.toFixed(1)} s`).join(', ') + ` (${((run.workerCpuSeconds.reduce((a, b) => a + b, 0) * 1e3) / n).toFixed(2)} ms/refresh)`],
    ['DB transactions (statements)', `${run.db.transactions} (${(run.db.transactions / n).toFixed(1)}/refresh), rows updated ${run.db.updated}, inserted ${run.db.inserted}`],
    ['status active / written once', `${check.active} / ${check.writtenOnce}`],
  ];
  if (connect) {
    const p = (x: { p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number }) =>
      `p50 ${x.p50Ms.toFixed(1)}  p95 ${x.p95Ms.toFixed(1)}  p99 ${x.p99Ms.toFixed(1)}  max ${x.maxMs.toFixed(1)} ms`;
    lines.push(['connect flow (whole)', p(connect.flow)], ['callback alone', p(connect.callback)]);
    lines.push(['connect hub start to ready', `${connect.startToReadyMs.toFixed(0)} ms`]);
    if (connect.firstFailure) lines.push(['first connect failure', connect.firstFailure]);
  }
  const width = Math.max(...lines.map(([k]) => k.length));
  console.log('');
  for (const [k, v] of lines) console.log(`${k.padEnd(width)}  ${v}`);
  console.log('');
  for (const t of targets) console.log(`${t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.value}`);
}

export async function run(): Promise<void> {
  const limitMs = settings.refreshLimitMs + 300_000;
  const guard = setTimeout(() => {
    console.error(`benchmark exceeded ${limitMs / 1000} s: stopping`);
    void stopAll().then(() => process.exit(1));
  }, limitMs);
  guard.unref();

  ensureBuilt();
  await ensureDatabase(settings.databaseUrl);
  const database = openPostgres(settings.databaseUrl, 4);
  const server = await startTokenServer({ ...CLIENT, accessTtlSeconds: 3600 });
  const encryptionKey = randomBytes(32).toString('hex');
  const vault = createVault({ keyRing: createKeyRing({ currentKey: encryptionKey, previousKeys: [] }) });
  try {
    await runMigrations(database);
    await clean(database.pool);
    const flushed = await flushHubKeys(settings.redisUrl);
    console.log(`refresh bench: ${settings.connections} connections, ${settings.workers} workers, ${settings.databaseUrl}, ${settings.redisUrl} (${flushed} stale hub keys removed)`);
    const seedStarted = performance.now();
    const seeded = await seed(database.pool, vault, server);
    console.log(`seeded ${settings.connections} due connections in ${(performance.now() - seedStarted).toFixed(0)} ms; starting workers`);
    const refresh = await runWorkers(database.pool, server, seeded, encryptionKey);
    const check = await verify(database.pool, vault, server, seeded);

    let connect: ConnectLatencyResult | undefined;
    if (settings.connectFlows > 0) {
      console.log(`connect latency: ${settings.connectFlows} sequential flows after ${settings.connectWarmup} warm-up`);
      connect = await measureConnectLatency({
        server, ...CLIENT, databaseUrl: settings.databaseUrl, redisUrl: settings.redisUrl, encryptionKey,
        workspaceId: CONNECT_WORKSPACE, flows: settings.connectFlows, warmupFlows: settings.connectWarmup, readyLimitMs: settings.readyLimitMs,
      });
    }
    clearTimeout(guard);

    const targets = targetsOf(refresh, check, connect);
    print(refresh, check, connect, targets);
    mkdirSync('bench/results', { recursive: true });
    const file = join('bench/results', `refresh-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavg: loadavg() };
    const { clientSecret: _secret, ...client } = CLIENT;
    writeFileSync(file, `${JSON.stringify({ bench: 'refresh', date: new Date().toISOString(), machine, settings, client, refresh, check, connect, targets }, null, 2)}\n`);
    console.log(`\nresults: ${file}`);
    if (targets.some((t) => !t.pass)) process.exitCode = 1;
  } finally {
    clearTimeout(guard);
    await stopAll();
    await server.close();
    await database.close();
  }
}
