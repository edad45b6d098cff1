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
import { createKeyRecheck } from './modules/refresh/key-recheck.service.js';
import { createProviderApiFactory } from './modules/widgets/provider-api.js';
import { createWidgetCache, type WidgetCache } from './modules/widgets/widget-cache.js';
import { createWidgetService, type WidgetService } from './modules/widgets/widget.service.js';
import { createVault, type Vault } from './modules/vault/vault.service.js';
import { createConnectionService, type ConnectionService } from './modules/connections/connection.service.js';
import { webhookWakeChannel } from './lib/kv-keys.js';
import { createLiveEvents, type LiveEvents } from './modules/events/live-events.service.js';
import { createSubscriptionScheduler, type SubscriptionScheduler } from './modules/webhooks/subscriptions/subscription.scheduler.js';
import { createWebhookSubscriptionRepo } from './modules/webhooks/subscriptions/webhook-subscription.repo.js';
import { createWebhookSubscriptionService, type WebhookSubscriptionService } from './modules/webhooks/subscriptions/webhook-subscription.service.js';
import { createWebhookEventRepo, type WebhookEventRepo } from './modules/webhooks/webhook-event.repo.js';
import { createInboxWriter } from './modules/webhooks/inbox-writer.js';
import { createWebhookIngest, type WebhookIngest } from './modules/webhooks/webhook-ingest.service.js';
import { createWebhookProcessing } from './modules/webhooks/webhook-processing.service.js';
import { createWebhookProcessor, type WebhookProcessor } from './modules/webhooks/webhook-processor.js';

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
  liveEvents: LiveEvents;
  webhookIngest: WebhookIngest;
  webhookEventRepo: WebhookEventRepo;
  webhookProcessor: WebhookProcessor;
  webhookSubscriptions: WebhookSubscriptionService;
  subscriptionScheduler: SubscriptionScheduler;
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
  const liveEvents = createLiveEvents({ kv: store.kv, logger });
  // A changed connection: every instance drops its cached copy, and the workspace's dashboards hear of it.
  const onChanged = async (id: string) => {
    await connectionCache.changed(id);
    const row = await connectionRepo.findById(id);
    if (row) await liveEvents.publish(row.workspaceId, { type: 'connection.updated', data: { integrationId: row.id, slug: row.integration, status: row.status } });
  };
  const refresh = createRefreshService({ config, connectionRepo, auditRepo, sealer, kv: store.kv, logger, onStatusChanged: onChanged });
  const refreshScheduler = createRefreshScheduler({ connectionRepo, refresh, logger }, { concurrency: config.refreshConcurrency });
  const widgetCache = createWidgetCache({ kv: store.kv });
  const keyRecheck = createKeyRecheck({ config, connectionRepo, auditRepo, sealer, kv: store.kv, logger, onStatusChanged: onChanged });
  const api = createProviderApiFactory({
    config, refresh, outbound: createOutboundLimiter({ redis: store.redis }),
    onKeyRefused: (connectionId, version) => keyRecheck.recheck(connectionId, version),
  });
  // Reads are recorded for syncs; the recorder belongs to the sync service, which itself needs the widgets
  // (the closure runs only once requests arrive, after both exist).
  const widgets = createWidgetService({
    connectionRepo,
    connectionCache,
    vault,
    cache: widgetCache,
    api,
    kv: store.kv,
    logger,
    onRead: (row, widgetId, params, paramsHash, cacheKey) => recordRead(row.id, widgetId, params, paramsHash, cacheKey),
  });
  const syncRepo = createSyncRepo(database.db);
  const sync = createSyncService({ config, syncRepo, connectionRepo, jobs, widgets, logger });
  const recordRead = sync.readRecorder();
  const syncScheduler = createSyncScheduler({ sync, logger, intervalSeconds: config.syncIntervalSeconds });

  const webhookSubscriptions = createWebhookSubscriptionService({ config, repo: createWebhookSubscriptionRepo(database.db), connectionRepo, vault, api, logger });
  const subscriptionScheduler = createSubscriptionScheduler({ subscriptions: webhookSubscriptions, logger });
  const onConnected = async (row: { id: string; integration: string }) => {
    if (webhookSubscriptions.manages(row.integration)) await jobs.send('webhooks.subscribe', { connectionId: row.id }, { singletonKey: row.id });
  };
  const connectionStore = createConnectionStore({ connectionRepo, auditRepo, sealer, refreshAheadSeconds: config.refreshAheadSeconds, onChanged, onConnected });
  const disconnect = createDisconnectService({
    config, connectionRepo, auditRepo, sealer, kv: store.kv, logger, onChanged,
    unsubscribe: (row) => webhookSubscriptions.unsubscribeAll(row),
  });

  const webhookEventRepo = createWebhookEventRepo(database.db);
  const webhookProcessor = createWebhookProcessor(
    {
      events: webhookEventRepo,
      processing: createWebhookProcessing({
        connectionRepo, auditRepo, syncRepo, widgets, disconnect, subscriptions: webhookSubscriptions, liveEvents, onConnectionChanged: onChanged, logger,
      }),
      metrics,
      logger,
    },
    { maxAttempts: config.webhookMaxAttempts },
  );
  // Workers on every instance take new events at once: woken here directly, elsewhere through the store (at
  // most one announcement per few milliseconds, however many deliveries arrive).
  const stopWakeListener = await store.kv.subscribe(webhookWakeChannel(), () => webhookProcessor.wake());
  let wakeQueued = false;
  const onStored = () => {
    webhookProcessor.wake();
    if (wakeQueued) return;
    wakeQueued = true;
    setTimeout(() => {
      wakeQueued = false;
      store.kv.publish(webhookWakeChannel(), '1').catch((err: unknown) => logger.warn({ err }, 'could not wake webhook workers'));
    }, 5).unref();
  };
  // Deliveries arriving together are stored together (group commit), on at most half the pool's connections
  // (PGlite has one connection: one insert at a time, everything else waiting joins the next).
  const inboxInFlight = database.kind === 'pglite' ? 1 : Math.max(1, Math.min(4, Math.floor(config.databasePoolSize / 2)));
  const inbox = createInboxWriter(webhookEventRepo, { maxInFlight: inboxInFlight });
  const webhookIngest = createWebhookIngest({ config, events: inbox, subscriptions: webhookSubscriptions, metrics, logger, onStored });

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
    disconnect,
    refresh,
    refreshScheduler,
    widgetCache,
    widgets,
    sync,
    syncScheduler,
    liveEvents,
    webhookIngest,
    webhookEventRepo,
    webhookProcessor,
    webhookSubscriptions,
    subscriptionScheduler,
    async close() {
      await refreshScheduler.stop();
      syncScheduler.stop();
      await webhookProcessor.stop();
      await subscriptionScheduler.stop();
      await sync.flushReads();
      await stopWakeListener();
      await connectionCache.stop();
      await jobs.stop();
      if (!overrides.kv) await store.kv.close();
      if (!overrides.database) await database.close();
    },
  };
}
