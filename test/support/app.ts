// buildTestApp: the real app on the project's backends (PGlite + memory, or PostgreSQL + Redis), logs captured.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { parseConfig, type Config } from '../../src/config.js';
import { createDeps, type Deps } from '../../src/deps.js';
import { createLogger } from '../../src/lib/logger.js';
import { ADMIN_SCOPE, mintToken } from '../../src/modules/auth/auth.service.js';
import { openTestDatabase } from './database.js';

export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'hub-test-')),
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    AUTH_JWT_SECRET: randomBytes(32).toString('hex'),
    DATABASE_URL: process.env.DATABASE_URL ?? '',
    REDIS_URL: process.env.REDIS_URL ?? '',
    RATE_LIMIT_PER_MINUTE: '100000',
    RATE_LIMIT_PER_IP_PER_MINUTE: '100000',
    ...overrides,
  };
}

/** Collects every log line the app writes, so tests can assert what never appears in them. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void) {
    this.lines.push(chunk.toString('utf8'));
    done();
  }
  text(): string {
    return this.lines.join('');
  }
}

export interface TestApp {
  app: FastifyInstance;
  /** The environment the app was configured from (for child processes that must share its keys). */
  env: Record<string, string>;
  deps: Deps;
  config: Config;
  logs: LogCapture;
  /** A fresh workspace id, unique to this test. */
  newWorkspace(): string;
  token(options: { workspaces?: string[]; admin?: boolean; ttlSeconds?: number; audience?: string; secret?: string }): Promise<string>;
  close(): Promise<void>;
}

/**
 * Builds the app without calling ready(), so a test may add a route of its own first (to exercise the
 * app's conventions on a body route, for instance); call `await app.ready()` or inject (which readies it).
 */
export async function buildTestApp(envOverrides: Record<string, string> = {}, options: { secondInstanceOf?: TestApp } = {}): Promise<TestApp> {
  const first = options.secondInstanceOf;
  // A second instance shares the first one's configuration (keys, secrets) and backends: on PostgreSQL and
  // Redis it connects to them on its own; on the embedded backends (one process by design) it shares them.
  const env = first ? { ...first.env, ...envOverrides } : testEnv(envOverrides);
  const config = parseConfig(env);
  const logs = new LogCapture();
  const logger = createLogger({ level: config.logLevel, destination: logs });
  const embedded = !config.databaseUrl;
  // The database named by the configuration (a test may point DATABASE_URL at a scratch database of its own).
  const database = first && embedded ? first.deps.database : await openTestDatabase(config.databaseUrl);
  const deps = await createDeps(config, logger, { database, ...(first && embedded ? { kv: first.deps.kv } : {}) });
  const app = await buildApp(deps);
  return {
    app,
    env,
    deps,
    config,
    logs,
    newWorkspace: () => `ws_${randomUUID()}`,
    token: (o) =>
      mintToken({
        secret: o.secret ?? config.auth.jwtSecret!,
        audience: o.audience ?? config.auth.audience,
        workspaces: o.workspaces,
        scope: o.admin ? ADMIN_SCOPE : undefined,
        ttlSeconds: o.ttlSeconds,
      }),
    async close() {
      await app.close();
      await deps.close();
      if (!(first && embedded)) await database.close();
    },
  };
}
