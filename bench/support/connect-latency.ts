// Connect → callback latency: one hub (`node dist/main.js`, no workers) driven through the whole browser
// round trip (connect, binding redirect, consent, callback) against the local token server, flow after flow.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintToken } from '../../src/modules/auth/auth.service.js';
import { freePort, spawnNode, stop, waitForOk } from './processes.js';
import type { TokenServer } from './token-server.js';

export interface Percentiles {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ConnectLatencyResult {
  flows: number;
  failures: number;
  firstFailure?: string;
  startToReadyMs: number;
  /** connect → binding redirect → consent → callback, end to end. */
  flow: Percentiles;
  /** The callback request alone (state consumed, code exchanged, account looked up, credentials sealed and stored). */
  callback: Percentiles;
  hubExitCode: number | null;
}

export interface ConnectLatencyOptions {
  server: TokenServer;
  clientId: string;
  clientSecret: string;
  databaseUrl: string;
  redisUrl: string;
  encryptionKey: string;
  workspaceId: string;
  flows: number;
  warmupFlows: number;
  readyLimitMs: number;
}

export function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  // Nearest rank: the smallest sample with at least p% of the samples at or below it.
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
  return { p50Ms: at(50), p95Ms: at(95), p99Ms: at(99), maxMs: sorted.at(-1) ?? NaN };
}

async function expectStatus(response: Response, status: number, step: string): Promise<Response> {
  if (response.status !== status) throw new Error(`${step} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
  return response;
}

/** One user connecting: returns the whole flow's and the callback's durations in ms. */
async function oneFlow(hubUrl: string, workspaceId: string, bearer: string, returnUrl: string): Promise<{ flowMs: number; callbackMs: number }> {
  const started = performance.now();
  const connect = await expectStatus(
    await fetch(`${hubUrl}/workspaces/${workspaceId}/integrations/google-calendar/connect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ returnUrl }),
    }),
    200,
    'connect',
  );
  const { authorizationUrl } = (await connect.json()) as { authorizationUrl: string };
  const bind = await expectStatus(await fetch(authorizationUrl, { redirect: 'manual' }), 302, 'authorize (binding) route');
  await bind.arrayBuffer();
  const cookie = bind.headers.getSetCookie()[0]?.split(';')[0];
  if (!cookie) throw new Error('binding route set no cookie');
  const consent = await expectStatus(await fetch(bind.headers.get('location')!, { redirect: 'manual' }), 302, 'provider /auth');
  await consent.arrayBuffer();
  const callbackStarted = performance.now();
  const callback = await fetch(consent.headers.get('location')!, { redirect: 'manual', headers: { cookie } });
  await callback.arrayBuffer();
  const ended = performance.now();
  const target = callback.status === 302 ? new URL(callback.headers.get('location')!) : undefined;
  if (target?.searchParams.get('status') !== 'connected' || !target.searchParams.get('integrationId')) {
    throw new Error(`callback answered ${callback.status} ${callback.headers.get('location') ?? ''}`);
  }
  return { flowMs: ended - started, callbackMs: ended - callbackStarted };
}

export async function measureConnectLatency(options: ConnectLatencyOptions): Promise<ConnectLatencyResult> {
  const port = await freePort();
  const hubUrl = `http://127.0.0.1:${port}`;
  const jwtSecret = randomBytes(32).toString('hex');
  const dataDir = mkdtempSync(join(tmpdir(), 'hub-bench-connect-'));
  const { server } = options;
  const started = performance.now();
  const hub = spawnNode('hub (connect)', ['dist/main.js'], {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: hubUrl,
    DATA_DIR: dataDir,
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    RUN_WORKERS: 'false',
    LOG_LEVEL: 'warn',
    AUTH_JWT_SECRET: jwtSecret,
    AUTH_JWKS_URL: '',
    TOKEN_ENCRYPTION_KEY: options.encryptionKey,
    HUB_ALLOWED_RETURN_ORIGINS: server.url,
    GOOGLE_CLIENT_ID: options.clientId,
    GOOGLE_CLIENT_SECRET: options.clientSecret,
    GOOGLE_AUTHORIZE_URL: `${server.url}/auth`,
    GOOGLE_TOKEN_URL: `${server.url}/token?worker=connect`,
    GOOGLE_API_URL: `${server.url}/calendar/v3`,
    // The limiter would answer 429 partway through and measure itself, not the flow.
    RATE_LIMIT_PER_MINUTE: '1000000000',
    RATE_LIMIT_PER_IP_PER_MINUTE: '1000000000',
  });
  try {
    const startToReadyMs = await waitForOk(hub, `${hubUrl}/readyz`, started, options.readyLimitMs);
    const bearer = await mintToken({ secret: jwtSecret, audience: 'integration-hub', subject: 'bench', workspaces: [options.workspaceId], ttlSeconds: 3600 });
    const returnUrl = `${server.url}/done`;
    for (let i = 0; i < options.warmupFlows; i++) await oneFlow(hubUrl, options.workspaceId, bearer, returnUrl);
    const flowMs: number[] = [];
    const callbackMs: number[] = [];
    let failures = 0;
    let firstFailure: string | undefined;
    for (let i = 0; i < options.flows; i++) {
      try {
        const r = await oneFlow(hubUrl, options.workspaceId, bearer, returnUrl);
        flowMs.push(r.flowMs);
        callbackMs.push(r.callbackMs);
      } catch (error) {
        failures++;
        firstFailure ??= error instanceof Error ? error.message : String(error);
      }
    }
    const exit = await stop(hub);
    return {
      flows: options.flows,
      failures,
      firstFailure,
      startToReadyMs,
      flow: percentiles(flowMs),
      callback: percentiles(callbackMs),
      hubExitCode: exit.code,
    };
  } finally {
    await stop(hub, 5_000);
    rmSync(dataDir, { recursive: true, force: true });
  }
}
