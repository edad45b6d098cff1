// The one place the hub's parts are wired together. Tests pass their own database or store through `overrides`.
import type { Redis } from 'ioredis';
import type { Config } from './config.js';
import { createDatabase, type Database } from './db/database.js';
import { runMigrations } from './db/migrate.js';
import { createJobQueue, type JobQueue } from './jobs/queue.js';
import { createKeyValueStore } from './lib/kv/index.js';
import type { KeyValueStore } from './lib/kv/kv.js';
import type { Logger } from './lib/logger.js';
import { createMetrics, type Metrics } from './lib/metrics.js';
import { createAuthService, type AuthService } from './modules/auth/auth.service.js';
import { createCatalogService, type CatalogService } from './modules/catalog/catalog.service.js';
import { createConnectionRepo } from './modules/connections/connection.repo.js';
import { createConnectionService, type ConnectionService } from './modules/connections/connection.service.js';

export interface Deps {
  config: Config;
  logger: Logger;
  database: Database;
  kv: KeyValueStore;
  /** The raw Redis client when REDIS_URL is set (shared rate-limiter buckets). */
  redis?: Redis;
  jobs: JobQueue;
  metrics: Metrics;
  auth: AuthService;
  catalog: CatalogService;
  connections: ConnectionService;
  /** Closes what createDeps opened, in reverse order. */
  close(): Promise<void>;
}

export interface DepsOverrides {
  database?: Database;
  kv?: KeyValueStore;
  metrics?: Metrics;
}

export async function createDeps(config: Config, logger: Logger, overrides: DepsOverrides = {}): Promise<Deps> {
  const database =
    overrides.database ??
    (await createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.databasePoolSize }));
  await runMigrations(database);
  const store = overrides.kv ? { kv: overrides.kv, redis: undefined } : createKeyValueStore({ redisUrl: config.redisUrl, onError: (err) => logger.error({ err }, 'key-value store error') });
  const jobs = createJobQueue({ database, logger });
  const metrics = overrides.metrics ?? createMetrics();

  return {
    config,
    logger,
    database,
    kv: store.kv,
    redis: store.redis,
    jobs,
    metrics,
    auth: createAuthService({ config }),
    catalog: createCatalogService({ config }),
    connections: createConnectionService({ connectionRepo: createConnectionRepo(database.db) }),
    async close() {
      await jobs.stop();
      if (!overrides.kv) await store.kv.close();
      if (!overrides.database) await database.close();
    },
  };
}
