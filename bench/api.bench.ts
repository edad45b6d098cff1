// `pnpm bench api`: the hub's start time, idle memory and HTTP throughput on both backends, each route
// measured beside a bare Fastify server answering the same JSON in the same run (loopback, 2 cores shared).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintToken } from '../src/modules/auth/auth.service.js';
import { ensureBuilt, ensureDatabase, startHub, type HubConfig } from './support/hub.js';
import { runLoad, type LoadResult } from './support/load.js';
import { freePort, rssMiB, spawnNode, stop, stopAll, waitForOk } from './support/processes.js';

const env = (name: string, fallback: string) => process.env[name] || fallback;
const settings = {
  connections: Number(env('BENCH_CONNECTIONS', '50')),
  durationSeconds: Number(env('BENCH_DURATION', '10')),
  warmupSeconds: Number(env('BENCH_WARMUP', '2')),
  rounds: Number(env('BENCH_ROUNDS', '2')),
  settleMs: 2_000,
  readyLimitMs: 60_000,
  configs: env('BENCH_CONFIGS', 'embedded,postgres-redis').split(','),
  databaseUrl: env('BENCH_DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/hub_bench'),
  // A Redis database of its own, away from the tests' keys.
  redisUrl: env('BENCH_REDIS_URL', 'redis://127.0.0.1:6379/7'),
};
const WORKSPACE_ID = 'ws_bench';

interface Side {
  runs: LoadResult[];
  requestsPerSecond: number;
  p99Ms: number;
}
interface EndpointResult {
  endpoint: string;
  bodyBytes: number;
  baseline: Side;
  hub: Side;
  ratio: number;
  valid: boolean;
}
interface ConfigResult {
  config: string;
  nodeEnv: string;
  startToReadyMs: number;
  idleRssMiB: number;
  baselineIdleRssMiB: number;
  shutdown: { code: number | null; ms: number };
  endpoints: EndpointResult[];
}

function hubConfigs(): HubConfig[] {
  const all: HubConfig[] = [
    { name: 'embedded', env: { NODE_ENV: 'development', DATABASE_URL: '', REDIS_URL: '' } },
    {
      name: 'postgres-redis',
      env: { NODE_ENV: 'production', DATABASE_URL: settings.databaseUrl, REDIS_URL: settings.redisUrl },
    },
  ];
  return all.filter((c) => settings.configs.includes(c.name));
}

function summarize(runs: LoadResult[]): Side {
  return {
    runs,
    requestsPerSecond: runs.reduce((s, r) => s + r.requestsPerSecond, 0) / runs.length,
    p99Ms: Math.max(...runs.map((r) => r.p99Ms)),
  };
}

async function fetchJson(url: string, headers: Record<string, string> = {}): Promise<unknown> {
  const response = await fetch(url, { headers });
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

async function benchConfig(config: HubConfig): Promise<ConfigResult> {
  if (config.name === 'postgres-redis') await ensureDatabase(settings.databaseUrl);
  console.log(`\n[${config.name}] starting the hub`);
  const hub = await startHub(config, { settleMs: settings.settleMs, readyLimitMs: settings.readyLimitMs });
  const work = mkdtempSync(join(tmpdir(), 'hub-bench-baseline-'));
  try {
    console.log(`[${config.name}] ready in ${hub.startToReadyMs.toFixed(0)} ms, idle RSS ${hub.idleRssMiB.toFixed(1)} MiB`);
    const token = await mintToken({ secret: hub.jwtSecret, audience: 'integration-hub', subject: 'bench', workspaces: [WORKSPACE_ID], ttlSeconds: 3600 });
    const auth = { authorization: `Bearer ${token}` };
    const endpoints = [
      { endpoint: 'GET /integrations', path: '/integrations', headers: {} },
      { endpoint: 'GET /workspaces/:id/integrations', path: `/workspaces/${WORKSPACE_ID}/integrations`, headers: auth },
    ];
    const routes: Record<string, unknown> = {};
    for (const e of endpoints) routes[e.path] = await fetchJson(hub.baseUrl + e.path, e.headers);
    const routesFile = join(work, 'routes.json');
    writeFileSync(routesFile, JSON.stringify(routes));

    const basePort = await freePort();
    const started = performance.now();
    const baseline = spawnNode('baseline', ['--import', 'tsx', 'bench/baseline-server.ts', String(basePort), routesFile], {});
    const baseUrl = `http://127.0.0.1:${basePort}`;
    await waitForOk(baseline, `${baseUrl}/ready`, started, settings.readyLimitMs);
    const baselineIdleRssMiB = rssMiB(baseline.pid);

    const results: EndpointResult[] = [];
    for (const e of endpoints) {
      const runs = { baseline: [] as LoadResult[], hub: [] as LoadResult[] };
      for (let round = 0; round < settings.rounds; round++) {
        // Alternate which goes first, so neither always meets a warmer (or hotter) machine.
        const order = round % 2 === 0 ? (['baseline', 'hub'] as const) : (['hub', 'baseline'] as const);
        for (const side of order) {
          const url = (side === 'hub' ? hub.baseUrl : baseUrl) + e.path;
          const load = { url, headers: e.headers, connections: settings.connections };
          await runLoad({ ...load, durationSeconds: settings.warmupSeconds });
          const r = await runLoad({ ...load, durationSeconds: settings.durationSeconds });
          runs[side].push(r);
          console.log(`[${config.name}] ${e.endpoint} ${side.padEnd(8)} round ${round + 1}: ${r.requestsPerSecond.toFixed(0)} req/s, p99 ${r.p99Ms} ms`);
        }
      }
      const b = summarize(runs.baseline);
      const h = summarize(runs.hub);
      const valid = [...runs.baseline, ...runs.hub].every((r) => r.non2xx === 0 && r.errors === 0 && r.timeouts === 0);
      const bodyBytes = Buffer.byteLength(JSON.stringify(routes[e.path]));
      results.push({ endpoint: e.endpoint, bodyBytes, baseline: b, hub: h, ratio: h.requestsPerSecond / b.requestsPerSecond, valid });
    }

    await stop(baseline);
    const shutdown = await stop(hub.child);
    if (shutdown.code !== 0) console.error(`[${config.name}] hub exit after SIGTERM: code ${shutdown.code}, signal ${shutdown.signal}`);
    return {
      config: config.name,
      nodeEnv: config.env.NODE_ENV ?? '',
      startToReadyMs: hub.startToReadyMs,
      idleRssMiB: hub.idleRssMiB,
      baselineIdleRssMiB,
      shutdown: { code: shutdown.code, ms: shutdown.ms },
      endpoints: results,
    };
  } finally {
    await stopAll();
    rmSync(work, { recursive: true, force: true });
    rmSync(hub.dataDir, { recursive: true, force: true });
  }
}

function printTable(results: ConfigResult[]): void {
  const rows = [['config', 'endpoint', 'body B', 'base req/s', 'base p99', 'hub req/s', 'hub p99', 'hub/base', '']];
  for (const c of results) {
    for (const e of c.endpoints) {
      rows.push([
        c.config,
        e.endpoint,
        String(e.bodyBytes),
        e.baseline.requestsPerSecond.toFixed(0),
        `${e.baseline.p99Ms} ms`,
        e.hub.requestsPerSecond.toFixed(0),
        `${e.hub.p99Ms} ms`,
        e.ratio.toFixed(2),
        e.valid ? '' : 'INVALID: non-2xx or errors',
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log('');
  for (const r of rows) console.log(r.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  console.log('');
  for (const c of results) {
    console.log(
      `${c.config}: start to ready ${c.startToReadyMs.toFixed(0)} ms, idle RSS ${c.idleRssMiB.toFixed(1)} MiB ` +
        `(baseline ${c.baselineIdleRssMiB.toFixed(1)} MiB), SIGTERM → exit ${c.shutdown.code} in ${c.shutdown.ms.toFixed(0)} ms`,
    );
  }
}

export async function run(): Promise<void> {
  const configs = hubConfigs();
  if (configs.length === 0) throw new Error(`BENCH_CONFIGS names no known configuration: ${settings.configs.join(',')}`);
  // Bounded: every run's length is known; past twice that, something hangs.
  const perConfig = 60 + 2 * settings.rounds * 2 * (settings.warmupSeconds + settings.durationSeconds + 2);
  const limitMs = 2 * (configs.length * perConfig + 120) * 1000;
  const guard = setTimeout(() => {
    console.error(`benchmark exceeded ${limitMs / 1000} s: stopping`);
    void stopAll().then(() => process.exit(1));
  }, limitMs);
  guard.unref();

  ensureBuilt();
  console.log(`api bench: ${settings.connections} connections, ${settings.warmupSeconds} s warmup + ${settings.durationSeconds} s, ${settings.rounds} rounds, configs ${configs.map((c) => c.name).join(', ')}`);
  const results: ConfigResult[] = [];
  for (const config of configs) results.push(await benchConfig(config));
  clearTimeout(guard);

  printTable(results);
  mkdirSync('bench/results', { recursive: true });
  const file = join('bench/results', `api-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavg: loadavg() };
  writeFileSync(file, `${JSON.stringify({ bench: 'api', date: new Date().toISOString(), machine, settings, results }, null, 2)}\n`);
  console.log(`\nresults: ${file}`);
  if (results.some((c) => c.endpoints.some((e) => !e.valid) || c.shutdown.code !== 0)) process.exitCode = 1;
}
