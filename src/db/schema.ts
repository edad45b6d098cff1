// The hub's tables (DESIGN.md "Data model"); drizzle-kit generates the migrations in ./migrations from this file.
import { sql, type SQL } from 'drizzle-orm';
import {
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
  type AnyPgColumn,
} from 'drizzle-orm/pg-core';

export const CONNECTION_STATUSES = ['active', 'refreshing', 'needs_reauth', 'error', 'disconnected'] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

export const SYNC_TRIGGERS = ['manual', 'schedule', 'webhook'] as const;
export type SyncTrigger = (typeof SYNC_TRIGGERS)[number];

export const SYNC_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
export type SyncStatus = (typeof SYNC_STATUSES)[number];

export const WEBHOOK_EVENT_STATUSES = ['received', 'processed', 'failed', 'unmatched', 'ignored'] as const;
export type WebhookEventStatus = (typeof WEBHOOK_EVENT_STATUSES)[number];

/** Audit actions the hub writes today; the column is plain text so a new action needs no migration. */
export const AUDIT_ACTIONS = [
  'connected',
  'refreshed',
  'refresh_failed',
  'needs_reauth',
  'disconnected',
  'revoke_failed',
  'key_rotated',
  'webhook_lifecycle',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number] | (string & {});

export type JsonObject = Record<string, unknown>;

/** `column IN ('a', 'b')` with literals, not parameters: CHECK constraints and partial indexes are DDL. */
function isOneOf(column: AnyPgColumn, values: readonly string[]): SQL {
  const literals = values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ');
  return sql`${column} IN (${sql.raw(literals)})`;
}

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const connections = pgTable(
  'connections',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    integration: text('integration').notNull(),
    status: text('status').$type<ConnectionStatus>().notNull().default('active'),
    externalAccountId: text('external_account_id'),
    externalAccountName: text('external_account_name'),
    metadata: jsonb('metadata').$type<JsonObject>().notNull().default({}),
    // Tenant keys that webhooks are routed by (`team:T123`, `realm:456`). A text[] with a GIN index
    // answers `routing_keys @> ARRAY['team:T123']` directly, which indexing arbitrary metadata json would not.
    routingKeys: text('routing_keys').array().notNull().default(sql`'{}'::text[]`),
    scopes: text('scopes').array().notNull().default(sql`'{}'::text[]`),
    /** Ciphertext from the vault; null once disconnected. */
    credentials: text('credentials'),
    credentialsKeyId: text('credentials_key_id'),
    /** Bumped on every credentials write; a writer that read an older version loses (optimistic concurrency). */
    credentialsVersion: integer('credentials_version').notNull().default(0),
    /** This connection's data key, wrapped by the key ring; deleting it makes cached widget data unreadable. */
    dataKey: text('data_key'),
    accessExpiresAt: timestamptz('access_expires_at'),
    refreshFailures: integer('refresh_failures').notNull().default(0),
    nextRefreshAt: timestamptz('next_refresh_at'),
    lastError: text('last_error'),
    connectedAt: timestamptz('connected_at').notNull().defaultNow(),
    lastRefreshedAt: timestamptz('last_refreshed_at'),
    lastSyncedAt: timestamptz('last_synced_at'),
    disconnectedAt: timestamptz('disconnected_at'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at')
      .notNull()
      .defaultNow()
      .$onUpdate(() => new Date()),
  },
  (t) => [
    check('connections_status_check', isOneOf(t.status, CONNECTION_STATUSES)),
    unique('connections_workspace_integration_account_key').on(t.workspaceId, t.integration, t.externalAccountId),
    index('connections_workspace_integration_idx').on(t.workspaceId, t.integration),
    // Only connections the scheduler may refresh are indexed, so the due scan costs O(due), not O(all).
    index('connections_next_refresh_idx')
      .on(t.nextRefreshAt)
      .where(sql`${t.nextRefreshAt} IS NOT NULL AND ${isOneOf(t.status, ['active', 'error'])}`),
    index('connections_routing_keys_idx').using('gin', t.routingKeys),
    index('connections_credentials_key_id_idx').on(t.credentialsKeyId),
  ],
);

export const syncRuns = pgTable(
  'sync_runs',
  {
    id: text('id').primaryKey(),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    workspaceId: text('workspace_id').notNull(),
    trigger: text('trigger').$type<SyncTrigger>().notNull(),
    status: text('status').$type<SyncStatus>().notNull().default('queued'),
    widgetsTotal: integer('widgets_total').notNull().default(0),
    widgetsRefreshed: integer('widgets_refreshed').notNull().default(0),
    widgetsFailed: integer('widgets_failed').notNull().default(0),
    error: text('error'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    startedAt: timestamptz('started_at'),
    finishedAt: timestamptz('finished_at'),
  },
  (t) => [
    check('sync_runs_trigger_check', isOneOf(t.trigger, SYNC_TRIGGERS)),
    check('sync_runs_status_check', isOneOf(t.status, SYNC_STATUSES)),
    index('sync_runs_connection_created_idx').on(t.connectionId, t.createdAt.desc()),
    // At most one pending run per connection: a second POST …/sync finds the first instead of queueing another.
    uniqueIndex('sync_runs_one_pending_idx')
      .on(t.connectionId)
      .where(isOneOf(t.status, ['queued', 'running'])),
  ],
);

export const webhookEvents = pgTable(
  'webhook_events',
  {
    id: text('id').primaryKey(),
    connector: text('connector').notNull(),
    deliveryId: text('delivery_id').notNull(),
    eventType: text('event_type').notNull().default(''),
    /** Tenant keys read from the delivery (`team:T123`), matched against connections.routing_keys when processed. */
    routingKeys: text('routing_keys').array().notNull().default(sql`'{}'::text[]`),
    /** The connection the delivery named directly (Asana URL, Graph subscription, Google channel); kept as null
     *  when that connection is deleted. */
    connectionId: text('connection_id').references(() => connections.id, { onDelete: 'set null' }),
    /** The connections the event was applied to, once processed. */
    matchedConnectionIds: text('matched_connection_ids').array().notNull().default(sql`'{}'::text[]`),
    receivedAt: timestamptz('received_at').notNull().defaultNow(),
    /** Headers kept for audit, signatures and secrets removed before insert. */
    headers: jsonb('headers').$type<Record<string, string>>().notNull().default({}),
    payload: jsonb('payload').$type<unknown>(),
    status: text('status').$type<WebhookEventStatus>().notNull().default('received'),
    attempts: integer('attempts').notNull().default(0),
    /** When a worker may (next) take the event: now on arrival, later after a failed attempt, or when a
     *  worker's lease on it runs out. */
    nextAttemptAt: timestamptz('next_attempt_at').notNull().defaultNow(),
    error: text('error'),
    processedAt: timestamptz('processed_at'),
  },
  (t) => [
    check('webhook_events_status_check', isOneOf(t.status, WEBHOOK_EVENT_STATUSES)),
    // The de-duplication point: a provider's retry of one delivery conflicts here and is acknowledged once.
    unique('webhook_events_connector_delivery_key').on(t.connector, t.deliveryId),
    index('webhook_events_status_received_idx').on(t.status, t.receivedAt),
    index('webhook_events_connection_idx').on(t.connectionId),
    // The inbox's work queue: only events still to process are indexed, so a claim costs O(due).
    index('webhook_events_due_idx').on(t.nextAttemptAt).where(sql`${t.status} = 'received'`),
  ],
);

export const WEBHOOK_SUBSCRIPTION_STATUSES = ['pending', 'active', 'failed'] as const;
export type WebhookSubscriptionStatus = (typeof WEBHOOK_SUBSCRIPTION_STATUSES)[number];

/** Subscriptions the hub created at a provider for one connection (Graph, Google channels, Asana, Jira). */
export const webhookSubscriptions = pgTable(
  'webhook_subscriptions',
  {
    id: text('id').primaryKey(),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    connector: text('connector').notNull(),
    /** The provider's id: Graph subscription id, Google channel id, Asana webhook gid, Jira webhook id. */
    externalId: text('external_id'),
    resource: text('resource').notNull(),
    status: text('status').$type<WebhookSubscriptionStatus>().notNull().default('pending'),
    /** The subscription's secret (clientState, channel token, X-Hook-Secret), sealed by the vault to this row's id. */
    secret: text('secret').notNull(),
    secretKeyId: text('secret_key_id').notNull(),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
    expiresAt: timestamptz('expires_at'),
    /** When the renewal scan takes it next (ahead of expiry, or a retry after a failed renewal). */
    nextRenewAt: timestamptz('next_renew_at'),
    failures: integer('failures').notNull().default(0),
    lastError: text('last_error'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at')
      .notNull()
      .defaultNow()
      .$onUpdate(() => new Date()),
  },
  (t) => [
    check('webhook_subscriptions_status_check', isOneOf(t.status, WEBHOOK_SUBSCRIPTION_STATUSES)),
    unique('webhook_subscriptions_connector_external_key').on(t.connector, t.externalId),
    index('webhook_subscriptions_connection_idx').on(t.connectionId),
    index('webhook_subscriptions_renew_idx').on(t.nextRenewAt).where(sql`${t.nextRenewAt} IS NOT NULL`),
  ],
);

export const auditEvents = pgTable(
  'audit_events',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id').notNull(),
    // No foreign key on purpose: the activity trail outlives the connection it talks about.
    connectionId: text('connection_id'),
    integration: text('integration'),
    action: text('action').$type<AuditAction>().notNull(),
    /** Who acted: `user:<sub>`, `system`, `worker` … */
    actor: text('actor').notNull(),
    detail: jsonb('detail').$type<JsonObject>().notNull().default({}),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [
    index('audit_events_workspace_created_idx').on(t.workspaceId, t.createdAt.desc()),
    index('audit_events_connection_idx').on(t.connectionId),
  ],
);

/** Which widget parameter sets were read recently: what a sync refreshes and scheduled syncs keep warm. */
export const widgetReads = pgTable(
  'widget_reads',
  {
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    widgetId: text('widget_id').notNull(),
    paramsHash: text('params_hash').notNull(),
    params: jsonb('params').$type<JsonObject>().notNull().default({}),
    lastReadAt: timestamptz('last_read_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.connectionId, t.widgetId, t.paramsHash] }),
    index('widget_reads_last_read_idx').on(t.lastReadAt),
  ],
);

export type ConnectionRow = typeof connections.$inferSelect;
export type NewConnectionRow = typeof connections.$inferInsert;
export type SyncRunRow = typeof syncRuns.$inferSelect;
export type NewSyncRunRow = typeof syncRuns.$inferInsert;
export type WebhookEventRow = typeof webhookEvents.$inferSelect;
export type NewWebhookEventRow = typeof webhookEvents.$inferInsert;
export type WebhookSubscriptionRow = typeof webhookSubscriptions.$inferSelect;
export type AuditEventRow = typeof auditEvents.$inferSelect;
export type WidgetReadRow = typeof widgetReads.$inferSelect;
export type NewAuditEventRow = typeof auditEvents.$inferInsert;
