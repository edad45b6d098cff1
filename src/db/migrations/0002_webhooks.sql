CREATE TABLE "webhook_subscriptions" (
	"id" text PRIMARY KEY NOT NULL,
	"connection_id" text NOT NULL,
	"connector" text NOT NULL,
	"external_id" text,
	"resource" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"secret" text NOT NULL,
	"secret_key_id" text NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"expires_at" timestamp with time zone,
	"next_renew_at" timestamp with time zone,
	"failures" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "webhook_subscriptions_connector_external_key" UNIQUE("connector","external_id"),
	CONSTRAINT "webhook_subscriptions_status_check" CHECK ("webhook_subscriptions"."status" IN ('pending', 'active', 'failed'))
);
--> statement-breakpoint
ALTER TABLE "webhook_events" ADD COLUMN "event_type" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_events" ADD COLUMN "routing_keys" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_events" ADD COLUMN "matched_connection_ids" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_events" ADD COLUMN "next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_subscriptions" ADD CONSTRAINT "webhook_subscriptions_connection_id_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."connections"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "webhook_subscriptions_connection_idx" ON "webhook_subscriptions" USING btree ("connection_id");--> statement-breakpoint
CREATE INDEX "webhook_subscriptions_renew_idx" ON "webhook_subscriptions" USING btree ("next_renew_at") WHERE "webhook_subscriptions"."next_renew_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "webhook_events_due_idx" ON "webhook_events" USING btree ("next_attempt_at") WHERE "webhook_events"."status" = 'received';--> statement-breakpoint
ALTER TABLE "webhook_events" DROP COLUMN "workspace_id";--> statement-breakpoint
ALTER TABLE "webhook_events" DROP COLUMN "raw_body";