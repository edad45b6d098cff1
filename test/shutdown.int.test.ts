// Graceful shutdown of the built server (`node dist/main.js`, as deployed): on SIGTERM it stops accepting
// connections at once, still answers the request it is in the middle of (a widget read waiting on a provider that
// holds its answer), then exits 0. Each case starts a server of its own (a process shuts down once).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mintToken } from '../src/modules/auth/auth.service.js';
import { startFakeDatadog, type FakeDatadog } from './fakes/datadog.js';

vi.setConfig({ testTimeout: 180_000 });

const ROOT = resolve(import.meta.dirname, '..');
const API_KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const APP_KEY = 'ddapp_0123456789abcdef0123456789abcdef01234567';
const JWT_SECRET = randomBytes(32).toString('hex');
/** Generous: PGlite's first start, migrations and the job queue take seconds, and far longer on a loaded machine. */
const READY_LIMIT_MS = 120_000;
const SHUTDOWN_TIMEOUT_MS = 60_000;

/**
 * The server under test is the bundle CI builds and ships. Building takes a few seconds, so it is built here only
 * when dist/main.js is missing or older than a source file (CI builds before the tests run: nothing to do there;
 * locally an edit under src/ triggers one rebuild). Both vitest projects run this file, possibly at once: a lock
 * directory makes one build and the other wait for it and find dist/ fresh.
 */
async function ensureBuilt(): Promise<void> {
  const lock = join(tmpdir(), `integration-hub-build-${Buffer.from(ROOT).toString('base64url').slice(-40)}.lock`);
  const tryLock = () => {
    try {
      mkdirSync(lock);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return false;
    }
  };
  const deadline = Date.now() + 180_000;
  while (!tryLock()) {
    // A holder that died leaves its lock behind: a build never takes minutes.
    if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 120_000) rmSync(lock, { recursive: true, force: true });
    if (Date.now() > deadline) throw new Error(`waited too long for the build lock ${lock}`);
    await sleep(200);
  }
  try {
    const main = join(ROOT, 'dist/main.js');
    const built = existsSync(main) ? statSync(main).mtimeMs : 0;
    const newest = readdirSync(join(ROOT, 'src'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && !e.name.endsWith('.test.ts'))
      .reduce((max, e) => Math.max(max, statSync(join(e.parentPath, e.name)).mtimeMs), 0);
    if (built > newest) return;
    // `pnpm build` is `node scripts/build.mjs`; run directly, it needs no pnpm on PATH.
    const result = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`the build failed (exit ${result.status}): ${result.stderr}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Opens (and at once closes) a TCP connection: whether the server still accepts new ones. A connection caught
 * in the backlog while the listener closes is reset: not served, but not yet the steady state either.
 */
function tryConnect(port: number): Promise<'accepted' | 'reset' | 'refused'> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve('accepted');
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNREFUSED' ? resolve('refused') : error.code === 'ECONNRESET' ? resolve('reset') : reject(error),
    );
  });
}

interface Hub {
  child: ChildProcess;
  base: string;
  port: number;
  dataDir: string;
  output: string[];
  /** Set once the process has exited. */
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  exited: Promise<unknown>;
}

let fake: FakeDatadog;
const hubs: Hub[] = [];

/** Starts `node dist/main.js` with its own port and data directory, and waits for /readyz. */
async function startHub(shutdownTimeoutMs: number): Promise<Hub> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'hub-shutdown-'));
  const realBackends = process.env.HUB_TEST_BACKEND === 'postgres-redis';
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      AUTH_JWT_SECRET: JWT_SECRET,
      AUTH_JWKS_URL: '',
      DATADOG_API_URL: fake.url,
      SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
      // Embedded defaults (PGlite, in-memory store, workers on). In the postgres-redis project the same server on
      // PostgreSQL and Redis, without workers: the database is shared with other test files, whose rows and jobs
      // this server must not pick up.
      DATABASE_URL: realBackends ? process.env.DATABASE_URL! : '',
      REDIS_URL: realBackends ? process.env.REDIS_URL! : '',
      RUN_WORKERS: realBackends ? 'false' : 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const hub: Hub = { child, base: `http://127.0.0.1:${port}`, port, dataDir, output: [], exited: Promise.resolve() };
  hubs.push(hub);
  child.stdout!.on('data', (d: Buffer) => hub.output.push(d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => hub.output.push(d.toString('utf8')));
  hub.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve((hub.exit = { code, signal }))));
  await until(hub, '/readyz answering 200', READY_LIMIT_MS, async () => {
    if (hub.exit) throw new Error(`the server exited before it was ready (${JSON.stringify(hub.exit)})\n${hub.output.join('').slice(-4000)}`);
    return fetch(`${hub.base}/readyz`).then((r) => r.status === 200, () => false);
  });
  return hub;
}

/** Polls `check` until it holds, at most `limitMs` (a bound for a loaded machine, not a speed assertion). */
async function until(hub: Hub, what: string, limitMs: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${limitMs} ms\n--- server output ---\n${hub.output.join('').slice(-4000)}`);
    await sleep(50);
  }
}

/** Connects a Datadog organisation through the hub and starts a widget read that the provider holds unanswered. */
async function widgetReadInFlight(hub: Hub, requestHeaders: Record<string, string> = {}) {
  const ws = `ws_${randomUUID()}`;
  const headers = { authorization: `Bearer ${await mintToken({ secret: JWT_SECRET, audience: 'integration-hub', workspaces: [ws] })}` };
  const connected = await fetch(`${hub.base}/workspaces/${ws}/integrations/datadog/connect`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ credentials: { apiKey: API_KEY, appKey: APP_KEY, site: 'datadoghq.eu' } }),
  });
  expect(connected.status).toBe(201);
  const integrationId = ((await connected.json()) as { integration: { id: string } }).integration.id;
  let release!: () => void;
  fake.api.hold = new Promise<void>((r) => (release = r));
  const seen = fake.api.routeCalls.monitors;
  const state = { settled: false };
  const answer = fetch(`${hub.base}/workspaces/${ws}/integrations/${integrationId}/widgets/alerting-monitors/data`, { headers: { ...headers, ...requestHeaders } })
    .then(async (r) => ({ status: r.status, body: (await r.json()) as { source: string; data: { items: { id: string }[] } } }))
    .finally(() => (state.settled = true));
  await until(hub, 'the widget read reaching the provider', 30_000, () => fake.api.routeCalls.monitors > seen);
  return {
    answer,
    state,
    release() {
      fake.api.hold = undefined;
      release();
    },
  };
}

beforeAll(async () => {
  await ensureBuilt();
  fake = await startFakeDatadog({ apiKey: API_KEY, appKey: APP_KEY });
  fake.data.monitors.push({ id: 7, name: 'Checkout errors', status: 'Alert', lastTriggered: 1_700_000_000 });
}, 200_000);

afterAll(async () => {
  for (const hub of hubs) {
    if (!hub.exit) {
      hub.child.kill('SIGKILL');
      await hub.exited;
    }
    rmSync(hub.dataDir, { recursive: true, force: true });
  }
  await fake?.close();
});

describe('SIGTERM with a request in flight', () => {
  it('refuses new connections, finishes the in-flight request with its 200, then exits 0', async () => {
    const hub = await startHub(SHUTDOWN_TIMEOUT_MS);
    // Connection: close, so that the answered request leaves no idle keep-alive socket behind: see the next test.
    const read = await widgetReadInFlight(hub, { connection: 'close' });

    expect(hub.child.kill('SIGTERM')).toBe(true);
    await until(hub, 'new connections refused after SIGTERM', 30_000, async () => (await tryConnect(hub.port)) === 'refused');
    // Not listening any more, yet alive: it is waiting for the request it started.
    expect(read.state.settled).toBe(false);
    expect(hub.exit).toBeUndefined();

    read.release();
    const answer = await read.answer;
    expect(answer.status).toBe(200);
    expect(answer.body.source).toBe('provider');
    expect(answer.body.data.items.map((i) => i.id)).toEqual(['7']);

    await until(hub, 'the process exiting', SHUTDOWN_TIMEOUT_MS + 30_000, () => hub.exit !== undefined);
    expect(hub.exit, hub.output.join('').slice(-4000)).toEqual({ code: 0, signal: null });
    expect(hub.output.join('')).toContain('shutdown complete');
  });

});

describe('SIGTERM with a request in flight on a keep-alive connection', () => {
  const timeoutMs = 10_000; // SHUTDOWN_TIMEOUT_MS's default
  let hub: Hub;
  let status: number;
  // Everything but the exit is done here, so that the expected failure below can only be the exit code.
  beforeAll(async () => {
    hub = await startHub(timeoutMs);
    const read = await widgetReadInFlight(hub);
    hub.child.kill('SIGTERM');
    await until(hub, 'new connections refused after SIGTERM', 30_000, async () => (await tryConnect(hub.port)) === 'refused');
    read.release();
    status = (await read.answer).status;
    await until(hub, 'the process exiting', timeoutMs + 30_000, () => hub.exit !== undefined);
  }, READY_LIMIT_MS + 120_000);

  it('answers the in-flight request', () => {
    expect(status).toBe(200);
  });

  // The answered request's keep-alive connection (any browser, dashboard or load balancer keeps one) must not hold
  // the shutdown: once it begins, answers close their connections, and the process exits 0 with everything closed.
  it('exits 0', () => {
    expect(hub.exit, hub.output.join('').slice(-2000)).toEqual({ code: 0, signal: null });
  });
});
