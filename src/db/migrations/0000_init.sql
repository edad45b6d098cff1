CREATE TABLE "audit_events" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"connection_id" text,
	"integration" text,
	"action" text NOT NULL,
	"actor" text NOT NULL,
	"detail" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "connections" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"integration" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"external_account_id" text,
	"external_account_name" text,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"routing_keys" text[] DEFAULT '{}'::text[] NOT NULL,
	"scopes" text[] DEFAULT '{}'::text[] NOT NULL,
	"credentials" text,
	"credentials_key_id" text,
	"credentials_version" integer DEFAULT 0 NOT NULL,
	"data_key" text,
	"access_expires_at" timestamp with time zone,
	"refresh_failures" integer DEFAULT 0 NOT NULL,
	"next_refresh_at" timestamp with time zone,
	"last_error" text,
	"connected_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_refreshed_at" timestamp with time zone,
	"last_synced_at" timestamp with time zone,
	"disconnected_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "connections_workspace_integration_account_key" UNIQUE("workspace_id","integration","external_account_id"),
	CONSTRAINT "connections_status_check" CHECK ("connections"."status" IN ('active', 'refreshing', 'needs_reauth', 'error', 'disconnected'))
);
--> statement-breakpoint
CREATE TABLE "sync_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"connection_id" text NOT NULL,
	"workspace_id" text NOT NULL,
	"trigger" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"widgets_total" integer DEFAULT 0 NOT NULL,
	"widgets_refreshed" integer DEFAULT 0 NOT NULL,
	"widgets_failed" integer DEFAULT 0 NOT NULL,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	CONSTRAINT "sync_runs_trigger_check" CHECK ("sync_runs"."trigger" IN ('manual', 'schedule', 'webhook')),
	CONSTRAINT "sync_runs_status_check" CHECK ("sync_runs"."status" IN ('queued', 'running', 'succeeded', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "webhook_events" (
	"id" text PRIMARY KEY NOT NULL,
	"connector" text NOT NULL,
	"delivery_id" text NOT NULL,
	"connection_id" text,
	"workspace_id" text,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"headers" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"payload" jsonb,
	"raw_body" text,
	"status" text DEFAULT 'received' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"error" text,
	"processed_at" timestamp with time zone,
	CONSTRAINT "webhook_events_connector_delivery_key" UNIQUE("connector","delivery_id"),
	CONSTRAINT "webhook_events_status_check" CHECK ("webhook_events"."status" IN ('received', 'processed', 'failed', 'unmatched', 'ignored'))
);
--> statement-breakpoint
ALTER TABLE "sync_runs" ADD CONSTRAINT "sync_runs_connection_id_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."connections"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_events" ADD CONSTRAINT "webhook_events_connection_id_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."connections"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_events_workspace_created_idx" ON "audit_events" USING btree ("workspace_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "audit_events_connection_idx" ON "audit_events" USING btree ("connection_id");--> statement-breakpoint
CREATE INDEX "connections_workspace_integration_idx" ON "connections" USING btree ("workspace_id","integration");--> statement-breakpoint
CREATE INDEX "connections_next_refresh_idx" ON "connections" USING btree ("next_refresh_at") WHERE "connections"."next_refresh_at" IS NOT NULL AND "connections"."status" IN ('active', 'error');--> statement-breakpoint
CREATE INDEX "connections_routing_keys_idx" ON "connections" USING gin ("routing_keys");--> statement-breakpoint
CREATE INDEX "connections_credentials_key_id_idx" ON "connections" USING btree ("credentials_key_id");--> statement-breakpoint
CREATE INDEX "sync_runs_connection_created_idx" ON "sync_runs" USING btree ("connection_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "sync_runs_one_pending_idx" ON "sync_runs" USING btree ("connection_id") WHERE "sync_runs"."status" IN ('queued', 'running');--> statement-breakpoint
CREATE INDEX "webhook_events_status_received_idx" ON "webhook_events" USING btree ("status","received_at");--> statement-breakpoint
CREATE INDEX "webhook_events_connection_idx" ON "webhook_events" USING btree ("connection_id");