// `pnpm bench widgets`: (a) cached widget reads at 50 connections beside a bare Fastify route answering the same
// JSON from one Redis GET, same run; (b) cold stampedes (1,000 reads of one uncached widget at once, and 500 + 500
// on two hubs) against a fake Google Calendar answering in 200 ms: exactly one upstream call each.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { mintToken } from '../src/modules/auth/auth.service.js';
import { ensureBuilt, ensureDatabase, startHub, type HubConfig, type RunningHub } from './support/hub.js';
import { runLoad, type LoadResult } from './support/load.js';
import { freePort, spawnNode, stop, stopAll, waitForOk } from './support/processes.js';
import { startCalendarFake, type CalendarFake } from './support/widget-provider.js';
import { printStampede, runStampede, type StampedeHub, type StampedeResult } from './support/widget-stampede.js';
import { runWrk, wrkAvailable, type WrkResult } from './support/wrk.js';

const env = (name: string, fallback: string) => process.env[name] || fallback;
const settings = {
  connections: Number(env('BENCH_CONNECTIONS', '50')),
  durationSeconds: Number(env('BENCH_DURATION', '10')),
  warmupSeconds: Number(env('BENCH_WARMUP', '2')),
  rounds: Number(env('BENCH_ROUNDS', '2')),
  wrkThreads: 2,
  configs: env('BENCH_CONFIGS', 'postgres-redis,embedded').split(','),
  phases: env('BENCH_WIDGET_PHASES', 'cached,stampede,two-hubs').split(','),
  stampedeRequests: Number(env('BENCH_STAMPEDE_N', '1000')),
  stampedeRuns: 2,
  providerDelayMs: 200,
  meetingsPerDay: 8,
  settleMs: 1_000,
  readyLimitMs: 60_000,
  databaseUrl: env('BENCH_DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/hub_bench'),
  // A Redis database of its own, away from the tests' keys (db 0).
  redisUrl: env('BENCH_REDIS_URL', 'redis://127.0.0.1:6379/7'),
  /** When set, the first hub of each config and the baseline run with --cpu-prof and write their profiles here on exit. */
  cpuProfDir: process.env.BENCH_CPU_PROF_DIR || undefined,
};
const WORKSPACE_PREFIX = 'ws_wbench_';
const WIDGET = 'todays-meetings';
const CLIENT = { clientId: 'bench-widgets', clientSecret: randomBytes(16).toString('hex') };
/** One cold cache key per stampede: a time zone not read before on the connection. */
const COLD_ZONES = ['Europe/Paris', 'Asia/Tokyo', 'America/New_York', 'Australia/Sydney'];

interface Side {
  autocannon: LoadResult[];
  wrk: WrkResult[];
  /** CPU time the server process used per request, over the autocannon runs. */
  cpuUsPerRequest: number[];
}
interface Comparison {
  tool: 'autocannon' | 'wrk';
  baselineRps: number;
  hubRps: number;
  ratio: number;
  baselineP99Ms: number;
  hubP99Ms: number;
  hubP50Ms: number;
}
interface CachedResult {
  bodyBytes: number;
  baseline: Side;
  hub: Side;
  comparisons: Comparison[];
  valid: boolean;
  /** Upstream calls while under load: 0 when every read was a cache hit. */
  upstreamCallsDuringLoad: number;
  sourceAfterLoad: string;
}
interface ConfigResult {
  config: string;
  startToReadyMs: number;
  cached?: CachedResult;
  stampedes: StampedeResult[];
}
interface Target {
  name: string;
  value: string;
  pass: boolean;
  /** A failed critical target makes the benchmark exit non-zero. */
  critical: boolean;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const widgetPath = (workspaceId: string, integrationId: string, query = '') =>
  `/workspaces/${workspaceId}/integrations/${integrationId}/widgets/${WIDGET}/data${query}`;

async function expectStatus(response: Response, status: number, step: string): Promise<Response> {
  if (response.status !== status) throw new Error(`${step} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
  return response;
}

/** The user connects Google Calendar through the browser round trip; returns the connection id. */
async function connectCalendar(hubUrl: string, workspaceId: string, bearer: string, fake: CalendarFake): Promise<string> {
  const connect = await expectStatus(
    await fetch(`${hubUrl}/workspaces/${workspaceId}/integrations/google-calendar/connect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ returnUrl: `${fake.url}/done` }),
    }),
    200,
    'connect',
  );
  const { authorizationUrl } = (await connect.json()) as { authorizationUrl: string };
  const bind = await expectStatus(await fetch(authorizationUrl, { redirect: 'manual' }), 302, 'authorize (binding) route');
  const cookie = bind.headers.getSetCookie()[0]?.split(';')[0];
  if (!cookie) throw new Error('binding route set no cookie');
  const consent = await expectStatus(await fetch(bind.headers.get('location')!, { redirect: 'manual' }), 302, 'provider /auth');
  const callback = await fetch(consent.headers.get('location')!, { redirect: 'manual', headers: { cookie } });
  const target = callback.status === 302 ? new URL(callback.headers.get('location')!) : undefined;
  const integrationId = target?.searchParams.get('integrationId');
  if (target?.searchParams.get('status') !== 'connected' || !integrationId) {
    throw new Error(`callback answered ${callback.status} ${callback.headers.get('location') ?? (await callback.text()).slice(0, 300)}`);
  }
  return integrationId;
}

function hubConfig(name: string, fake: CalendarFake, encryptionKey: string, apiTag?: string): HubConfig {
  const backends =
    name === 'embedded'
      ? { NODE_ENV: 'development', DATABASE_URL: '', REDIS_URL: '' }
      : { NODE_ENV: 'production', DATABASE_URL: settings.databaseUrl, REDIS_URL: settings.redisUrl };
  return {
    name: name as HubConfig['name'],
    env: {
      ...backends,
      RUN_WORKERS: 'false',
      // Shared by every hub of a run: the connection's credentials and data key are sealed under it.
      TOKEN_ENCRYPTION_KEY: encryptionKey,
      HUB_ALLOWED_RETURN_ORIGINS: fake.url,
      GOOGLE_CLIENT_ID: CLIENT.clientId,
      GOOGLE_CLIENT_SECRET: CLIENT.clientSecret,
      GOOGLE_AUTHORIZE_URL: `${fake.url}/auth`,
      GOOGLE_TOKEN_URL: `${fake.url}/token`,
      GOOGLE_REVOKE_URL: `${fake.url}/revoke`,
      GOOGLE_API_URL: fake.apiUrl(apiTag),
    },
  };
}

async function startBaseline(body: string, routePath: string) {
  const key = `bench:widgets:baseline:${randomBytes(6).toString('hex')}`;
  const redis = new Redis(settings.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  await redis.set(key, body, 'PX', 3_600_000);
  const port = await freePort();
  const started = performance.now();
  const profile = settings.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${settings.cpuProfDir}`, '--cpu-prof-name=baseline.cpuprofile'] : [];
  const child = spawnNode('baseline (redis)', [...profile, '--import', 'tsx', 'bench/support/redis-baseline-server.ts', String(port), settings.redisUrl, key, routePath], {});
  const url = `http://127.0.0.1:${port}`;
  await waitForOk(child, `${url}/ready`, started, settings.readyLimitMs);
  return {
    child,
    url,
    async close() {
      await stop(child, 5_000);
      await redis.del(key);
      redis.disconnect();
    },
  };
}

async function benchCached(hub: RunningHub, fake: CalendarFake, path: string, bearer: string): Promise<CachedResult> {
  const auth = { authorization: `Bearer ${bearer}` };
  const first = await expectStatus(await fetch(hub.baseUrl + path, { headers: auth }), 200, 'first widget read');
  const firstBody = (await first.json()) as { source: string };
  const cached = await expectStatus(await fetch(hub.baseUrl + path, { headers: auth }), 200, 'second widget read');
  const body = await cached.text();
  if (firstBody.source !== 'provider' || (JSON.parse(body) as { source: string }).source !== 'cache') {
    throw new Error(`expected a provider read then a cache hit, got ${firstBody.source} then ${body.slice(0, 200)}`);
  }
  const baseline = await startBaseline(body, '/workspaces/:workspaceId/integrations/:integrationId/widgets/:widgetId/data');
  const useWrk = wrkAvailable();
  const sides = { baseline: { autocannon: [], wrk: [], cpuUsPerRequest: [] } as Side, hub: { autocannon: [], wrk: [], cpuUsPerRequest: [] } as Side };
  const upstreamBefore = fake.stats().eventsCalls;
  try {
    for (let round = 0; round < settings.rounds; round++) {
      // Alternate which goes first, so neither always meets a warmer (or hotter) machine.
      const order = round % 2 === 0 ? (['baseline', 'hub'] as const) : (['hub', 'baseline'] as const);
      for (const side of order) {
        const origin = side === 'hub' ? hub.baseUrl : baseline.url;
        const pid = side === 'hub' ? hub.child.pid : baseline.child.pid;
        // The baseline takes the same headers: same request bytes to parse.
        const load = { url: origin + path, headers: auth, connections: settings.connections };
        await runLoad({ ...load, durationSeconds: settings.warmupSeconds });
        const cpuBefore = cpuSeconds(pid);
        const r = await runLoad({ ...load, durationSeconds: settings.durationSeconds });
        sides[side].cpuUsPerRequest.push(((cpuSeconds(pid) - cpuBefore) * 1e6) / Math.max(1, r.requests));
        sides[side].autocannon.push(r);
        let line = `  ${side.padEnd(8)} round ${round + 1}: autocannon ${r.requestsPerSecond.toFixed(0)} req/s p50 ${r.p50Ms} p99 ${r.p99Ms} ms`;
        if (useWrk) {
          const w = await runWrk({ ...load, threads: settings.wrkThreads, durationSeconds: settings.durationSeconds });
          sides[side].wrk.push(w);
          line += ` | wrk ${w.requestsPerSecond.toFixed(0)} req/s p50 ${w.p50Ms.toFixed(2)} p99 ${w.p99Ms.toFixed(2)} ms`;
        }
        console.log(`${line} | ${sides[side].cpuUsPerRequest.at(-1)!.toFixed(0)} µs CPU/req`);
      }
    }
  } finally {
    await baseline.close();
  }
  const after = await expectStatus(await fetch(hub.baseUrl + path, { headers: auth }), 200, 'read after load');
  const sourceAfterLoad = ((await after.json()) as { source: string }).source;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const compare = (tool: Comparison['tool'], b: (LoadResult | WrkResult)[], h: (LoadResult | WrkResult)[]): Comparison => ({
    tool,
    baselineRps: mean(b.map((r) => r.requestsPerSecond)),
    hubRps: mean(h.map((r) => r.requestsPerSecond)),
    ratio: mean(h.map((r) => r.requestsPerSecond)) / mean(b.map((r) => r.requestsPerSecond)),
    baselineP99Ms: Math.max(...b.map((r) => r.p99Ms)),
    hubP99Ms: Math.max(...h.map((r) => r.p99Ms)),
    hubP50Ms: Math.max(...h.map((r) => r.p50Ms)),
  });
  const comparisons = [compare('autocannon', sides.baseline.autocannon, sides.hub.autocannon)];
  if (useWrk) comparisons.push(compare('wrk', sides.baseline.wrk, sides.hub.wrk));
  const all = [...sides.baseline.autocannon, ...sides.hub.autocannon];
  const valid =
    all.every((r) => r.non2xx === 0 && r.errors === 0 && r.timeouts === 0) &&
    [...sides.baseline.wrk, ...sides.hub.wrk].every((r) => r.non2xx === 0 && r.errors === 0);
  return {
    bodyBytes: Buffer.byteLength(body),
    baseline: sides.baseline,
    hub: sides.hub,
    comparisons,
    valid,
    upstreamCallsDuringLoad: fake.stats().eventsCalls - upstreamBefore,
    sourceAfterLoad,
  };
}

/** Removes this benchmark's rows (its workspaces only, in its own database) and its connections' Redis keys. */
async function cleanUp(connectionIds: string[]): Promise<void> {
  const name = new URL(settings.databaseUrl).pathname.slice(1);
  if (!name.startsWith('hub_bench')) throw new Error(`refusing to delete rows in "${name}": the benchmark's database is hub_bench`);
  const pool = new pg.Pool({ connectionString: settings.databaseUrl, max: 1 });
  try {
    await pool.query(`delete from audit_events where starts_with(workspace_id, $1)`, [WORKSPACE_PREFIX]);
    await pool.query(`delete from connections where starts_with(workspace_id, $1)`, [WORKSPACE_PREFIX]);
  } finally {
    await pool.end();
  }
  const redis = new Redis(settings.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    for (const id of connectionIds) {
      for (const kind of ['wc', 'wf', 'wr']) {
        for await (const keys of redis.scanStream({ match: `hub:v1:${kind}:${encodeURIComponent(id)}:*`, count: 500 }) as AsyncIterable<string[]>) {
          if (keys.length) await redis.unlink(...keys);
        }
      }
    }
  } finally {
    redis.disconnect();
  }
}

async function benchConfig(name: string, fake: CalendarFake, connectionIds: string[]): Promise<ConfigResult> {
  if (name === 'postgres-redis') await ensureDatabase(settings.databaseUrl);
  const encryptionKey = randomBytes(32).toString('hex');
  const config = hubConfig(name, fake, encryptionKey);
  if (settings.cpuProfDir) config.env.NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=${settings.cpuProfDir} --cpu-prof-name=hub-${name}.cpuprofile`;
  console.log(`\n[${name}] starting the hub`);
  const hub = await startHub(config, { settleMs: settings.settleMs, readyLimitMs: settings.readyLimitMs });
  const extra: RunningHub[] = [];
  try {
    console.log(`[${name}] ready in ${hub.startToReadyMs.toFixed(0)} ms`);
    const workspaceId = `${WORKSPACE_PREFIX}${randomBytes(5).toString('hex')}`;
    const bearerFor = (h: RunningHub) => mintToken({ secret: h.jwtSecret, audience: 'integration-hub', subject: 'bench-widgets', workspaces: [workspaceId], ttlSeconds: 3600 });
    const bearer = await bearerFor(hub);
    const integrationId = await connectCalendar(hub.baseUrl, workspaceId, bearer, fake);
    connectionIds.push(integrationId);
    console.log(`[${name}] connected ${integrationId} in ${workspaceId}`);
    const result: ConfigResult = { config: name, startToReadyMs: hub.startToReadyMs, stampedes: [] };

    if (settings.phases.includes('cached')) {
      console.log(`[${name}] (a) cached reads: ${settings.connections} connections, ${settings.warmupSeconds} s warmup + ${settings.durationSeconds} s, ${settings.rounds} rounds`);
      result.cached = await benchCached(hub, fake, widgetPath(workspaceId, integrationId), bearer);
    }
    const zones = [...COLD_ZONES];
    const stampedeOf = (timeZone: string) => ({
      fake,
      warmPath: widgetPath(workspaceId, integrationId),
      coldPath: widgetPath(workspaceId, integrationId, `?timeZone=${encodeURIComponent(timeZone)}`),
      requests: settings.stampedeRequests,
    });
    if (settings.phases.includes('stampede')) {
      console.log(`[${name}] (b) cold stampede: ${settings.stampedeRequests} reads at once, provider answering in ${settings.providerDelayMs} ms`);
      for (let run = 1; run <= settings.stampedeRuns; run++) {
        const s = await runStampede({ ...stampedeOf(zones.shift()!), label: `one hub, cold key ${run}`, hubs: [{ baseUrl: hub.baseUrl, bearer, tag: 'default' }] });
        printStampede(s);
        result.stampedes.push(s);
      }
    }
    if (settings.phases.includes('two-hubs') && name === 'postgres-redis') {
      console.log(`[${name}] (b) cold stampede across two hubs on one PostgreSQL + Redis`);
      const second = await startHub(hubConfig(name, fake, encryptionKey, 'h2'), { settleMs: settings.settleMs, readyLimitMs: settings.readyLimitMs });
      extra.push(second);
      const both: StampedeHub[] = [{ baseUrl: hub.baseUrl, bearer, tag: 'default' }, { baseUrl: second.baseUrl, bearer: await bearerFor(second), tag: 'h2' }];
      for (let run = 1; run <= settings.stampedeRuns; run++) {
        const s = await runStampede({ ...stampedeOf(zones.shift()!), label: `two hubs, cold key ${run}`, hubs: both });
        printStampede(s);
        result.stampedes.push(s);
      }
    }
    return result;
  } finally {
    for (const h of [...extra, hub]) {
      const exit = await stop(h.child);
      if (exit.code !== 0) console.error(`[${name}] ${h.child.name} exit after SIGTERM: code ${exit.code}, signal ${exit.signal}\n${h.child.output().slice(-2000)}`);
      rmSync(h.dataDir, { recursive: true, force: true });
    }
  }
}

function targetsOf(results: ConfigResult[]): Target[] {
  const targets: Target[] = [];
  for (const c of results) {
    if (c.cached) {
      for (const cmp of c.cached.comparisons) {
        targets.push({ name: `[${c.config}] (a) hub/baseline req/s ≥ 0.8 (${cmp.tool})`, value: cmp.ratio.toFixed(2), pass: cmp.ratio >= 0.8, critical: false });
        targets.push({ name: `[${c.config}] (a) hub p99 ≤ 10 ms at ${settings.connections} connections (${cmp.tool})`, value: `${cmp.hubP99Ms.toFixed(2)} ms`, pass: cmp.hubP99Ms <= 10, critical: false });
      }
      targets.push({ name: `[${c.config}] (a) every answer 2xx, no errors; all cache hits`, value: `${c.cached.valid ? 'valid' : 'INVALID'}, ${c.cached.upstreamCallsDuringLoad} upstream calls under load`, pass: c.cached.valid && c.cached.upstreamCallsDuringLoad === 0 && c.cached.sourceAfterLoad === 'cache', critical: false });
    }
    for (const s of c.stampedes) {
      targets.push({ name: `[${c.config}] (b) ${s.label}: exactly 1 upstream call`, value: String(s.upstreamCalls), pass: s.upstreamCalls === 1, critical: true });
      targets.push({ name: `[${c.config}] (b) ${s.label}: all ${s.requests} answered 200 with one fetchedAt`, value: `${s.ok200} × 200, ${s.distinctFetchedAt} fetchedAt`, pass: s.ok200 === s.requests && s.distinctFetchedAt === 1, critical: true });
    }
  }
  return targets;
}

function printTable(results: ConfigResult[]): void {
  const rows = [['config', 'tool', 'body B', 'base req/s', 'base p99', 'hub req/s', 'hub p50', 'hub p99', 'hub/base', 'CPU µs/req base→hub']];
  for (const c of results) {
    if (!c.cached) continue;
    const cpu = (s: Side) => (s.cpuUsPerRequest.reduce((a, b) => a + b, 0) / s.cpuUsPerRequest.length).toFixed(0);
    for (const cmp of c.cached.comparisons) {
      const ms = (x: number) => (cmp.tool === 'wrk' ? `${x.toFixed(2)} ms` : `${x} ms`);
      rows.push([c.config, cmp.tool, String(c.cached.bodyBytes), cmp.baselineRps.toFixed(0), ms(cmp.baselineP99Ms), cmp.hubRps.toFixed(0), ms(cmp.hubP50Ms), ms(cmp.hubP99Ms), cmp.ratio.toFixed(2), `${cpu(c.cached.baseline)} → ${cpu(c.cached.hub)}`]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log('');
  if (rows.length > 1) for (const r of rows) console.log(r.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  console.log('');
  for (const c of results) for (const s of c.stampedes) printStampede(s, `[${c.config}] `);
}

export async function run(): Promise<void> {
  const configs = settings.configs.filter((c) => c === 'embedded' || c === 'postgres-redis');
  if (configs.length === 0) throw new Error(`BENCH_CONFIGS names no known configuration: ${settings.configs.join(',')}`);
  // Bounded: every run's length is known; past twice that, something hangs.
  const loadSeconds = settings.rounds * 2 * (settings.warmupSeconds + 2 * settings.durationSeconds + 6);
  const limitMs = 2 * (configs.length * (90 + loadSeconds) + 60) * 1000;
  const guard = setTimeout(() => {
    console.error(`benchmark exceeded ${limitMs / 1000} s: stopping`);
    void stopAll().then(() => process.exit(1));
  }, limitMs);
  guard.unref();

  ensureBuilt();
  if (settings.cpuProfDir) mkdirSync(settings.cpuProfDir, { recursive: true });
  console.log(`widgets bench: configs ${configs.join(', ')}; phases ${settings.phases.join(', ')}; wrk ${wrkAvailable() ? 'found' : 'not installed (autocannon only)'}`);
  const fake = await startCalendarFake({ ...CLIENT, eventsDelayMs: settings.providerDelayMs, meetingsPerDay: settings.meetingsPerDay });
  const connectionIds: string[] = [];
  const results: ConfigResult[] = [];
  try {
    for (const name of configs) results.push(await benchConfig(name, fake, connectionIds));
  } finally {
    clearTimeout(guard);
    await stopAll();
    await fake.close();
    if (configs.includes('postgres-redis')) await cleanUp(connectionIds).catch((error: unknown) => console.error(`clean-up failed: ${error instanceof Error ? error.message : String(error)}`));
  }

  const targets = targetsOf(results);
  printTable(results);
  console.log('');
  for (const t of targets) console.log(`${t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.value}${t.pass || t.critical ? '' : ' (reported, not failing the run)'}`);
  const provider = fake.stats();
  if (provider.unauthorized) console.log(`provider answered ${provider.unauthorized} × 401 (the hub sent credentials it did not issue)`);
  mkdirSync('bench/results', { recursive: true });
  const file = join('bench/results', `widgets-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavg: loadavg() };
  writeFileSync(file, `${JSON.stringify({ bench: 'widgets', date: new Date().toISOString(), machine, settings, results, provider, targets }, null, 2)}\n`);
  console.log(`\nresults: ${file}`);
  if (targets.some((t) => t.critical && !t.pass)) process.exitCode = 1;
}
