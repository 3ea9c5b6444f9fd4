CREATE TABLE "function_instances" (
	"id" serial PRIMARY KEY NOT NULL,
	"version_id" integer NOT NULL,
	"node" text NOT NULL,
	"instance_key" text NOT NULL,
	"host" text NOT NULL,
	"port" integer NOT NULL,
	"zone" text DEFAULT '' NOT NULL,
	"region" text DEFAULT '' NOT NULL,
	"cell" text DEFAULT '' NOT NULL,
	"state" text NOT NULL,
	"error" text,
	"started_at" timestamp with time zone,
	"ready_at" timestamp with time zone,
	"cold_start_ms" double precision,
	"reported_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "function_instances_port_check" CHECK ("function_instances"."port" between 1 and 65535),
	CONSTRAINT "function_instances_state_check" CHECK ("function_instances"."state" in ('starting', 'ready', 'draining', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "function_load" (
	"source" text NOT NULL,
	"version_id" integer NOT NULL,
	"at_ms" bigint NOT NULL,
	"interval_ms" integer NOT NULL,
	"concurrency" double precision NOT NULL,
	"requests" integer NOT NULL,
	CONSTRAINT "function_load_source_version_id_pk" PRIMARY KEY("source","version_id")
);
--> statement-breakpoint
CREATE TABLE "function_scale" (
	"version_id" integer PRIMARY KEY NOT NULL,
	"desired" integer DEFAULT 0 NOT NULL,
	"panic" boolean DEFAULT false NOT NULL,
	"reason" text,
	"decided_at" timestamp with time zone,
	"activation_requested_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "routes" ADD COLUMN "function" text;--> statement-breakpoint
ALTER TABLE "function_instances" ADD CONSTRAINT "function_instances_version_id_function_versions_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."function_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "function_load" ADD CONSTRAINT "function_load_version_id_function_versions_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."function_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "function_scale" ADD CONSTRAINT "function_scale_version_id_function_versions_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."function_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "function_instances_node_instance_key_key" ON "function_instances" USING btree ("node","instance_key");--> statement-breakpoint
CREATE INDEX "function_instances_version_id_idx" ON "function_instances" USING btree ("version_id");--> statement-breakpoint
ALTER TABLE "routes" ADD CONSTRAINT "routes_target_check" CHECK (("routes"."function" is null) <> ("routes"."default_group" = ''));