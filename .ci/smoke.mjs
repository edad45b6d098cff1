// CI smoke check of the built server: starts `node dist/main.js` on the embedded backends, waits for
// /readyz, reads the catalog, then stops it with SIGTERM and expects a clean exit. Loopback only.
/* global console, fetch, AbortSignal, performance, Buffer -- plain .mjs: the lint config declares no Node globals */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';

// PGlite, its migrations and the job queue start in seconds, but a busy 2-core machine can stretch that a lot.
const READY_LIMIT_MS = 120_000;
const SHUTDOWN_TIMEOUT_MS = 10_000;
const EXIT_LIMIT_MS = SHUTDOWN_TIMEOUT_MS + 5_000;
const EXPECTED_INTEGRATIONS = 12;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function get(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  return { status: response.status, text };
}

const port = await freePort();
const dataDir = mkdtempSync(join(tmpdir(), 'hub-smoke-'));
const base = `http://127.0.0.1:${port}`;
const output = [];
const started = performance.now();
const child = spawn(process.execPath, ['dist/main.js'], {
  env: {
    ...process.env,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: dataDir,
    // Empty means unset: the embedded backends (PGlite, in-memory store).
    DATABASE_URL: '',
    REDIS_URL: '',
    LOG_LEVEL: 'warn',
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
child.stdout.on('data', (d) => output.push(d));
child.stderr.on('data', (d) => output.push(d));
const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
let exit;
void exited.then((e) => (exit = e));

function fail(message) {
  console.error(`smoke: FAILED: ${message}`);
  const log = Buffer.concat(output).toString('utf8');
  if (log) console.error(`--- server output (last 4000 characters) ---\n${log.slice(-4000)}`);
  process.exitCode = 1;
}

try {
  let ready = false;
  while (!ready) {
    if (exit) throw new Error(`server exited before it was ready (code ${exit.code}, signal ${exit.signal})`);
    if (performance.now() - started > READY_LIMIT_MS) throw new Error(`/readyz not 200 within ${READY_LIMIT_MS} ms`);
    ready = await get(`${base}/readyz`).then((r) => r.status === 200, () => false);
    if (!ready) await sleep(100);
  }
  console.log(`smoke: ready in ${Math.round(performance.now() - started)} ms on port ${port}`);

  const health = await get(`${base}/healthz`);
  if (health.status !== 200) throw new Error(`/healthz answered ${health.status}: ${health.text}`);

  const catalog = await get(`${base}/integrations`);
  if (catalog.status !== 200) throw new Error(`/integrations answered ${catalog.status}: ${catalog.text}`);
  const integrations = JSON.parse(catalog.text).integrations;
  if (!Array.isArray(integrations) || integrations.length !== EXPECTED_INTEGRATIONS) {
    throw new Error(`/integrations listed ${integrations?.length} integrations, expected ${EXPECTED_INTEGRATIONS}`);
  }
  console.log(`smoke: /integrations lists ${integrations.length}: ${integrations.map((i) => i.slug).join(', ')}`);

  const stopAt = performance.now();
  child.kill('SIGTERM');
  const result = await Promise.race([exited, sleep(EXIT_LIMIT_MS, undefined, { ref: false })]);
  if (!result) throw new Error(`no exit within ${EXIT_LIMIT_MS} ms of SIGTERM`);
  if (result.code !== 0) throw new Error(`exit after SIGTERM: code ${result.code}, signal ${result.signal}`);
  console.log(`smoke: stopped cleanly ${Math.round(performance.now() - stopAt)} ms after SIGTERM`);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
} finally {
  if (!exit) {
    child.kill('SIGKILL');
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
}
