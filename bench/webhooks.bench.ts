// `pnpm bench webhooks`: signed GitHub and Stripe deliveries at rising concurrency, each batch unique, sent to the
// hub (PostgreSQL + Redis, workers on) and to a bare Fastify baseline that only verifies the HMAC and INSERTs the
// delivery, in the same run. Reports stored deliveries per second, p50/p99 time to 2xx, the ratio to the baseline,
// and the proof that every stored delivery was processed exactly once (and redeliveries not at all).
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { ensureBuilt, ensureDatabase, startHub, type RunningHub } from './support/hub.js';
import { freePort, spawnNode, stop, stopAll, waitForOk } from './support/processes.js';
import { githubDeliveries, stripeDeliveries, type Provider, type SignedDelivery } from './support/webhook-deliveries.js';

const env = (name: string, fallback: string) => process.env[name] || fallback;
const settings = {
  levels: env('BENCH_WEBHOOK_CONCURRENCY', '10,20,50,100').split(',').map(Number),
  /** Seconds of load per provider, side and concurrency. */
  seconds: Number(env('BENCH_DURATION', '6')),
  /** Unique signed deliveries made per run: more than the fastest side can send in `seconds`. */
  deliveriesPerRun: Number(env('BENCH_WEBHOOK_N', '100000')),
  providers: env('BENCH_WEBHOOK_PROVIDERS', 'github,stripe').split(',') as Provider[],
  databaseUrl: env('BENCH_WEBHOOK_DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/hub_bench_webhooks'),
  redisUrl: env('BENCH_REDIS_URL', 'redis://127.0.0.1:6379/7'),
  drainLimitMs: 180_000,
  targets: { storedPerSecond: 2_000, p99Ms: 25 },
};
const SECRETS = { github: `gh-${randomBytes(16).toString('hex')}`, stripe: `whsec_${randomBytes(24).toString('base64')}` };
const RUN = `b${Date.now().toString(36)}`;

interface Side {
  requestsPerSecond: number;
  storedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  stored: number;
  sent: number;
}
interface Row {
  provider: Provider;
  connections: number;
  baseline: Side;
  hub: Side;
}

function prefixOf(provider: Provider, side: string, connections: number): string {
  return `${RUN}-${side}-${provider}-c${connections}`;
}

async function deliveries(provider: Provider, prefix: string, count: number): Promise<SignedDelivery[]> {
  return provider === 'github' ? githubDeliveries(SECRETS.github, prefix, count) : stripeDeliveries(SECRETS.stripe, prefix, count);
}

/**
 * Sends deliveries from `batch`, each once, `connections` at a time, for `seconds` (autocannon's `amount` mode ends
 * only on its one-second tick, which would round every rate down). Past the end of the batch it would repeat
 * deliveries; the caller sizes the batch so that does not happen, and `exhausted` says if it did.
 */
async function send(url: string, batch: SignedDelivery[], connections: number, seconds = settings.seconds) {
  let next = 0;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        setupRequest: (request) => {
          const d = batch[next++ % batch.length]!;
          return { ...request, headers: d.headers, body: d.body };
        },
      },
    ],
  });
  return {
    seconds: result.duration,
    sent: result.requests.total,
    requestsPerSecond: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    exhausted: next > batch.length,
  };
}

/** Sends every delivery of a small batch once (redeliveries): one request at a time, statuses counted. */
async function sendAll(url: string, batch: SignedDelivery[]) {
  let non2xx = 0;
  for (const d of batch) {
    const res = await fetch(url, { method: 'POST', headers: d.headers, body: d.body });
    await res.arrayBuffer();
    if (res.status < 200 || res.status >= 300) non2xx++;
  }
  return { non2xx };
}

async function countStored(db: pg.Pool, table: 'hub' | 'baseline', provider: Provider, prefix: string): Promise<number> {
  const pattern = provider === 'stripe' ? `evt_${prefix.replace(/-/g, '_')}_%` : `${prefix}-%`;
  const sql =
    table === 'hub'
      ? 'SELECT count(*)::int AS n FROM webhook_events WHERE connector = $1 AND delivery_id LIKE $2'
      : 'SELECT count(*)::int AS n FROM bench_webhook_baseline WHERE provider = $1 AND delivery_id LIKE $2';
  return (await db.query(sql, [provider, pattern])).rows[0].n as number;
}

async function runOne(hub: RunningHub, baselineUrl: string, db: pg.Pool, provider: Provider, connections: number): Promise<Row> {
  const row = { provider, connections } as Row;
  for (const side of ['baseline', 'hub'] as const) {
    const prefix = prefixOf(provider, side, connections);
    const batch = await deliveries(provider, prefix, settings.deliveriesPerRun);
    const origin = side === 'hub' ? hub.baseUrl : baselineUrl;
    const r = await send(`${origin}/webhooks/${provider}`, batch, connections);
    const stored = await countStored(db, side, provider, prefix);
    if (r.exhausted) throw new Error(`${side} sent all ${batch.length} deliveries before ${settings.seconds} s: raise BENCH_WEBHOOK_N`);
    row[side] = { requestsPerSecond: r.requestsPerSecond, storedPerSecond: stored / r.seconds, p50Ms: r.p50Ms, p99Ms: r.p99Ms, non2xx: r.non2xx, errors: r.errors, stored, sent: r.sent };
    console.log(
      `  ${provider.padEnd(6)} c=${String(connections).padStart(3)} ${side.padEnd(8)} ${r.requestsPerSecond.toFixed(0).padStart(5)} req/s, ` +
        `${row[side].storedPerSecond.toFixed(0).padStart(5)} stored/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, non-2xx ${r.non2xx}, errors ${r.errors}`,
    );
  }
  return row;
}

/** Waits for the hub's workers to finish this run's events, then checks each was processed once and only once. */
/** Events the hub's workers say they processed (hub_webhook_events_total, processed + unmatched). */
async function processedCounter(hub: RunningHub): Promise<number> {
  const metrics = await (await fetch(`${hub.baseUrl}/metrics`)).text();
  return [...metrics.matchAll(/^hub_webhook_events_total\{[^}]*status="(processed|unmatched)"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[2]), 0);
}

async function exactlyOnce(hub: RunningHub, db: pg.Pool, storedByHub: number, countedBefore: number) {
  const started = Date.now();
  const pattern = [`${RUN}-hub-%`, `evt_${RUN}_hub_%`];
  const counts = async () =>
    (await db.query(
      `SELECT count(*) FILTER (WHERE status = 'received')::int AS pending,
              count(*) FILTER (WHERE status IN ('processed', 'unmatched') AND attempts = 1)::int AS once,
              count(*) FILTER (WHERE attempts > 1 OR status = 'failed')::int AS more,
              count(*)::int AS total,
              max(processed_at) AS last
         FROM webhook_events WHERE delivery_id LIKE $1 OR delivery_id LIKE $2`,
      pattern,
    )).rows[0] as { pending: number; once: number; more: number; total: number };
  let c = await counts();
  while (c.pending > 0 && Date.now() - started < settings.drainLimitMs) {
    await new Promise((r) => setTimeout(r, 500));
    c = await counts();
  }
  const drainSeconds = (Date.now() - started) / 1000;
  // Redeliveries of 1,000 stored deliveries: acknowledged, never stored or processed again.
  const again = await githubDeliveries(SECRETS.github, prefixOf('github', 'hub', settings.levels[0]!), 1_000);
  const resent = await sendAll(`${hub.baseUrl}/webhooks/github`, again);
  await new Promise((r) => setTimeout(r, 2_000));
  const after = await counts();
  const processedByMetric = (await processedCounter(hub)) - countedBefore;
  return {
    // Counted again now: requests in flight when a load stopped were stored after the first count.
    stored: Math.max(storedByHub, c.total),
    total: c.total,
    processedOnce: c.once,
    processedMoreThanOnce: c.more,
    pendingAfterDrain: c.pending,
    drainSeconds,
    processedByMetric,
    redeliveries: { sent: again.length, non2xx: resent.non2xx, totalAfter: after.total, onceAfter: after.once },
  };
}

async function startBaseline(databaseUrl: string) {
  const port = await freePort();
  const started = performance.now();
  const child = spawnNode('baseline (webhooks)', ['--import', 'tsx', 'bench/support/webhook-baseline-server.ts', String(port), databaseUrl, SECRETS.github, SECRETS.stripe], {});
  const url = `http://127.0.0.1:${port}`;
  await waitForOk(child, `${url}/ready`, started, 60_000);
  return { child, url };
}

export async function run(): Promise<void> {
  console.log(`webhooks bench: ${settings.seconds} s of unique signed deliveries per run, concurrency ${settings.levels.join(', ')}, GitHub and Stripe; PostgreSQL + Redis`);
  ensureBuilt();
  await ensureDatabase(settings.databaseUrl);
  const db = new pg.Pool({ connectionString: settings.databaseUrl, max: 2 });
  const baseline = await startBaseline(settings.databaseUrl);
  const hub = await startHub(
    {
      name: 'postgres-redis',
      env: {
        NODE_ENV: 'production',
        DATABASE_URL: settings.databaseUrl,
        REDIS_URL: settings.redisUrl,
        // Off only to measure ingest alone (the exactly-once check then fails: nothing processes).
        RUN_WORKERS: env('BENCH_WEBHOOK_WORKERS', 'true'),
        GITHUB_WEBHOOK_SECRET: SECRETS.github,
        STRIPE_WEBHOOK_SECRET: SECRETS.stripe,
      },
    },
    { settleMs: 1_000, readyLimitMs: 60_000 },
  );
  const rows: Row[] = [];
  try {
    // The database is the benchmark's own: start from an empty inbox, so no earlier run's backlog competes.
    await db.query('TRUNCATE webhook_events, bench_webhook_baseline');
    // Warm both sides up (JIT, connection pools, prepared statements) on deliveries outside the measured runs.
    for (const [side, url] of [['baseline', baseline.url], ['hub', hub.baseUrl]] as const) {
      for (const provider of settings.providers) await send(`${url}/webhooks/${provider}`, await deliveries(provider, `${RUN}-warm${side}-${provider}`, 10_000), 20, 2);
    }
    // The warm-up's events processed, then the hub's counter read: the measured runs are counted from here.
    while ((await db.query("SELECT count(*)::int AS n FROM webhook_events WHERE status = 'received'")).rows[0].n > 0) await new Promise((r) => setTimeout(r, 200));
    const countedBefore = await processedCounter(hub);
    await db.query('TRUNCATE webhook_events, bench_webhook_baseline');
    for (const connections of settings.levels) {
      for (const provider of settings.providers) rows.push(await runOne(hub, baseline.url, db, provider, connections));
    }
    const storedByHub = rows.reduce((n, r) => n + r.hub.stored, 0);
    const once = await exactlyOnce(hub, db, storedByHub, countedBefore);
    report(rows, once, hub);
  } finally {
    await stop(hub.child);
    await stop(baseline.child, 5_000);
    await stopAll();
    await db.end();
  }
}

function report(rows: Row[], once: Awaited<ReturnType<typeof exactlyOnce>>, hub: RunningHub) {
  const { targets } = settings;
  const best = Math.max(...rows.map((r) => r.hub.storedPerSecond));
  const atBest = rows.find((r) => r.hub.storedPerSecond === best)!;
  const both = rows.filter((r) => r.hub.storedPerSecond >= targets.storedPerSecond && r.hub.p99Ms <= targets.p99Ms);
  const checks = [
    { name: `stored deliveries/s ≥ ${targets.storedPerSecond} (best level)`, value: `${best.toFixed(0)} (${atBest.provider}, c=${atBest.connections}, p99 ${atBest.hub.p99Ms} ms)`, pass: best >= targets.storedPerSecond },
    {
      name: `a level with ≥ ${targets.storedPerSecond} stored/s and p99 ≤ ${targets.p99Ms} ms together`,
      value: both.length ? both.map((r) => `${r.provider} c=${r.connections}: ${r.hub.storedPerSecond.toFixed(0)}/s p99 ${r.hub.p99Ms} ms`).join('; ') : 'none',
      pass: both.length > 0,
    },
    {
      name: 'every stored delivery processed exactly once',
      value: `${once.processedOnce}/${once.stored} once, ${once.processedMoreThanOnce} more, ${once.pendingAfterDrain} pending; processed per the hub's counter: ${once.processedByMetric}`,
      pass: once.processedOnce === once.stored && once.total === once.stored && once.processedMoreThanOnce === 0 && once.processedByMetric === once.stored,
    },
    { name: 'redeliveries acknowledged and not stored or processed again', value: `${once.redeliveries.sent} sent, ${once.redeliveries.non2xx} non-2xx, total ${once.redeliveries.totalAfter}`, pass: once.redeliveries.non2xx === 0 && once.redeliveries.totalAfter === once.stored && once.redeliveries.onceAfter === once.stored },
    {
      // Requests still in flight when the load stops may be stored without their answer being counted.
      name: 'every acknowledged delivery stored, none refused',
      value: rows.map((r) => `${r.hub.stored}/${r.hub.sent}`).join(', '),
      pass: rows.every((r) => r.hub.non2xx === 0 && r.hub.errors === 0 && r.hub.stored >= r.hub.sent && r.hub.stored <= r.hub.sent + r.connections),
    },
  ];
  console.log('\n| provider | conns | baseline stored/s | hub stored/s | ratio | baseline p99 | hub p50 | hub p99 |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.provider} | ${r.connections} | ${r.baseline.storedPerSecond.toFixed(0)} | ${r.hub.storedPerSecond.toFixed(0)} | ${(r.hub.storedPerSecond / r.baseline.storedPerSecond).toFixed(2)} | ${r.baseline.p99Ms} ms | ${r.hub.p50Ms} ms | ${r.hub.p99Ms} ms |`);
  }
  console.log(`\nprocessing drained ${once.drainSeconds.toFixed(1)} s after the last load; start to ready ${hub.startToReadyMs.toFixed(0)} ms`);
  for (const c of checks) console.log(`${c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.value}`);
  const dir = join('bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `webhooks-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ settings, machine: { cpus: cpus().length, loadavg: loadavg() }, rows, once, checks }, null, 2));
  console.log(`results: ${file}`);
  if (checks.some((c) => !c.pass)) process.exitCode = 1;
}
