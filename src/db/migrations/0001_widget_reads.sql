CREATE TABLE "widget_reads" (
	"connection_id" text NOT NULL,
	"widget_id" text NOT NULL,
	"params_hash" text NOT NULL,
	"params" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"last_read_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "widget_reads_connection_id_widget_id_params_hash_pk" PRIMARY KEY("connection_id","widget_id","params_hash")
);
--> statement-breakpoint
ALTER TABLE "widget_reads" ADD CONSTRAINT "widget_reads_connection_id_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."connections"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "widget_reads_last_read_idx" ON "widget_reads" USING btree ("last_read_at");