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
import { createAuditRepo, type AuditRepo } from './modules/audit/audit.repo.js';
import { createConnectionStore } from './modules/connections/connection-store.service.js';
import { createConnectionCache, type ConnectionCache } from './modules/connections/connection-cache.js';
import { createConnectionRepo, type ConnectionRepo } from './modules/connections/connection.repo.js';
import { createCredentialSealer, type CredentialSealer } from './modules/connections/credentials.js';
import { createCallbackService, type CallbackService } from './modules/oauth/callback.service.js';
import { createConnectService, type ConnectService } from './modules/oauth/connect.service.js';
import { createOAuthStateStore, type OAuthStateStore } from './modules/oauth/oauth-state.js';
import { createDisconnectService, type DisconnectService } from './modules/connections/disconnect.service.js';
import { createRefreshScheduler, type RefreshScheduler } from './modules/refresh/refresh.scheduler.js';
import { createRefreshService, type RefreshService } from './modules/refresh/refresh.service.js';
import { createSyncRepo } from './modules/sync/sync.repo.js';
import { createSyncScheduler } from './modules/sync/sync.scheduler.js';
import { createSyncService, type SyncService } from './modules/sync/sync.service.js';
import { createKeyRing } from './modules/vault/keyring.js';
import { createOutboundLimiter } from './modules/widgets/outbound-limiter.js';
import { createProviderApiFactory } from './modules/widgets/provider-api.js';
import { createWidgetCache, type WidgetCache } from './modules/widgets/widget-cache.js';
import { createWidgetService, type WidgetService } from './modules/widgets/widget.service.js';
import { createVault, type Vault } from './modules/vault/vault.service.js';
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
  connectionRepo: ConnectionRepo;
  connectionCache: ConnectionCache;
  auditRepo: AuditRepo;
  vault: Vault;
  sealer: CredentialSealer;
  oauthStates: OAuthStateStore;
  connect: ConnectService;
  callback: CallbackService;
  disconnect: DisconnectService;
  refresh: RefreshService;
  refreshScheduler: RefreshScheduler;
  widgets: WidgetService;
  widgetCache: WidgetCache;
  sync: SyncService;
  syncScheduler: ReturnType<typeof createSyncScheduler>;
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
    (await createDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      poolSize: config.databasePoolSize,
      onPoolError: (err) => logger.warn({ err }, 'idle database client failed'),
    }));
  await runMigrations(database);
  const store = overrides.kv ? { kv: overrides.kv, redis: undefined } : createKeyValueStore({ redisUrl: config.redisUrl, onError: (err) => logger.error({ err }, 'key-value store error') });
  const jobs = createJobQueue({ database, logger });
  const metrics = overrides.metrics ?? createMetrics();

  if (!config.encryption.currentKey) throw new Error('TOKEN_ENCRYPTION_KEY is required');
  const vault = createVault({
    keyRing: createKeyRing({ currentKey: config.encryption.currentKey, previousKeys: config.encryption.previousKeys }),
  });
  const connectionRepo = createConnectionRepo(database.db);
  const auditRepo = createAuditRepo(database.db);
  const sealer = createCredentialSealer({ vault });
  const oauthStates = createOAuthStateStore({ kv: store.kv });
  const connectionCache = createConnectionCache({ repo: connectionRepo, vault, kv: store.kv, logger });
  await connectionCache.start();
  const onChanged = (id: string) => connectionCache.changed(id);
  const refresh = createRefreshService({ config, connectionRepo, auditRepo, sealer, kv: store.kv, logger });
  const refreshScheduler = createRefreshScheduler({ connectionRepo, refresh, logger }, { concurrency: config.refreshConcurrency });
  const widgetCache = createWidgetCache({ kv: store.kv });
  // Reads are recorded for syncs; the recorder belongs to the sync service, which itself needs the widgets
  // (the closure runs only once requests arrive, after both exist).
  const widgets = createWidgetService({
    connectionRepo,
    connectionCache,
    vault,
    cache: widgetCache,
    api: createProviderApiFactory({ config, refresh, outbound: createOutboundLimiter({ redis: store.redis }) }),
    kv: store.kv,
    logger,
    onRead: (row, widgetId, params, paramsHash) => recordRead(row.id, widgetId, params, paramsHash),
  });
  const sync = createSyncService({ config, syncRepo: createSyncRepo(database.db), connectionRepo, jobs, widgets, logger });
  const recordRead = sync.readRecorder();
  const syncScheduler = createSyncScheduler({ sync, logger, intervalSeconds: config.syncIntervalSeconds });
  const connectionStore = createConnectionStore({ connectionRepo, auditRepo, sealer, refreshAheadSeconds: config.refreshAheadSeconds, onChanged });

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
    connections: createConnectionService({ connectionRepo }),
    connectionRepo,
    connectionCache,
    auditRepo,
    vault,
    sealer,
    oauthStates,
    connect: createConnectService({ config, states: oauthStates, store: connectionStore }),
    callback: createCallbackService({ config, states: oauthStates, store: connectionStore, logger }),
    disconnect: createDisconnectService({ config, connectionRepo, auditRepo, sealer, kv: store.kv, logger, onChanged }),
    refresh,
    refreshScheduler,
    widgetCache,
    widgets,
    sync,
    syncScheduler,
    async close() {
      await refreshScheduler.stop();
      syncScheduler.stop();
      await connectionCache.stop();
      await jobs.stop();
      if (!overrides.kv) await store.kv.close();
      if (!overrides.database) await database.close();
    },
  };
}
