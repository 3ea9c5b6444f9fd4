CREATE TABLE "agent_tokens" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"token_hash" text NOT NULL,
	"appkeys" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agent_tokens_name_unique" UNIQUE("name"),
	CONSTRAINT "agent_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"appkey" text,
	"kind" text NOT NULL,
	"message" text NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "gateways" (
	"id" text PRIMARY KEY NOT NULL,
	"version" bigint NOT NULL,
	"poll_open" boolean NOT NULL,
	"poll_until" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "env" text DEFAULT 'prod' NOT NULL;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "region" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "idc" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "cell" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "role" text DEFAULT 'primary' NOT NULL;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "protocol" text DEFAULT 'http' NOT NULL;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "metadata" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "warmup_seconds" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "registration" text DEFAULT 'static' NOT NULL;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "healthy" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "services" ADD COLUMN "heartbeat_interval_ms" integer DEFAULT 5000 NOT NULL;--> statement-breakpoint
ALTER TABLE "services" ADD COLUMN "unhealthy_after_ms" integer DEFAULT 15000 NOT NULL;--> statement-breakpoint
ALTER TABLE "services" ADD COLUMN "remove_after_ms" integer DEFAULT 30000 NOT NULL;--> statement-breakpoint
ALTER TABLE "services" ADD COLUMN "protect_threshold_pct" integer DEFAULT 50 NOT NULL;--> statement-breakpoint
ALTER TABLE "snapshots" ADD COLUMN "covers_revision" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "events_appkey_idx" ON "events" USING btree ("appkey","id");--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_env_check" CHECK ("instances"."env" in ('prod', 'staging', 'test'));--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_role_check" CHECK ("instances"."role" in ('primary', 'backup'));--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_registration_check" CHECK ("instances"."registration" in ('static', 'ephemeral', 'persistent'));--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_warmup_seconds_check" CHECK ("instances"."warmup_seconds" between 0 and 3600);--> statement-breakpoint
ALTER TABLE "services" ADD CONSTRAINT "services_heartbeat_interval_ms_check" CHECK ("services"."heartbeat_interval_ms" between 100 and 600000);--> statement-breakpoint
ALTER TABLE "services" ADD CONSTRAINT "services_unhealthy_after_ms_check" CHECK ("services"."unhealthy_after_ms" > "services"."heartbeat_interval_ms");--> statement-breakpoint
ALTER TABLE "services" ADD CONSTRAINT "services_remove_after_ms_check" CHECK ("services"."remove_after_ms" >= "services"."unhealthy_after_ms");--> statement-breakpoint
ALTER TABLE "services" ADD CONSTRAINT "services_protect_threshold_pct_check" CHECK ("services"."protect_threshold_pct" between 0 and 100);