CREATE TABLE "groups" (
	"id" serial PRIMARY KEY NOT NULL,
	"service_id" integer NOT NULL,
	"name" text NOT NULL,
	"balancer" text DEFAULT 'swrr' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "groups_balancer_check" CHECK ("groups"."balancer" in ('swrr'))
);
--> statement-breakpoint
CREATE TABLE "instances" (
	"id" serial PRIMARY KEY NOT NULL,
	"group_id" integer NOT NULL,
	"host" text NOT NULL,
	"port" integer NOT NULL,
	"weight" integer DEFAULT 10 NOT NULL,
	"status" text DEFAULT 'alive' NOT NULL,
	"zone" text DEFAULT '' NOT NULL,
	"lane" text DEFAULT '' NOT NULL,
	"version" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "instances_port_check" CHECK ("instances"."port" between 1 and 65535),
	CONSTRAINT "instances_weight_check" CHECK ("instances"."weight" between 0 and 10000),
	CONSTRAINT "instances_status_check" CHECK ("instances"."status" in ('dead', 'starting', 'alive', 'stopping', 'stopped', 'warning'))
);
--> statement-breakpoint
CREATE TABLE "policies" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"category" text NOT NULL,
	"service_id" integer,
	"key" text NOT NULL,
	"passway" text NOT NULL,
	"condition" text NOT NULL,
	"group_name" text NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"graylist" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "policies_name_unique" UNIQUE("name"),
	CONSTRAINT "policies_category_check" CHECK ("policies"."category" in ('private', 'public')),
	CONSTRAINT "policies_category_service_check" CHECK (("policies"."category" = 'private') = ("policies"."service_id" is not null)),
	CONSTRAINT "policies_passway_check" CHECK ("policies"."passway" in ('query', 'header', 'cookie', 'body'))
);
--> statement-breakpoint
CREATE TABLE "revisions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"resource" text NOT NULL,
	"resource_id" text NOT NULL,
	"body" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "routes" (
	"id" serial PRIMARY KEY NOT NULL,
	"service_id" integer NOT NULL,
	"host" text DEFAULT '*' NOT NULL,
	"path" text NOT NULL,
	"match" text NOT NULL,
	"default_group" text NOT NULL,
	"policies" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"timeout_ms" integer DEFAULT 15000 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "routes_match_check" CHECK ("routes"."match" in ('exact', 'prefix')),
	CONSTRAINT "routes_timeout_ms_check" CHECK ("routes"."timeout_ms" between 1 and 300000)
);
--> statement-breakpoint
CREATE TABLE "services" (
	"id" serial PRIMARY KEY NOT NULL,
	"appkey" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "services_appkey_unique" UNIQUE("appkey")
);
--> statement-breakpoint
CREATE TABLE "snapshots" (
	"version" bigserial PRIMARY KEY NOT NULL,
	"content_hash" text NOT NULL,
	"size" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"body" "bytea" NOT NULL
);
--> statement-breakpoint
ALTER TABLE "groups" ADD CONSTRAINT "groups_service_id_services_id_fk" FOREIGN KEY ("service_id") REFERENCES "public"."services"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_group_id_groups_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."groups"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "policies" ADD CONSTRAINT "policies_service_id_services_id_fk" FOREIGN KEY ("service_id") REFERENCES "public"."services"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "routes" ADD CONSTRAINT "routes_service_id_services_id_fk" FOREIGN KEY ("service_id") REFERENCES "public"."services"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "groups_service_id_name_key" ON "groups" USING btree ("service_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "instances_group_id_host_port_key" ON "instances" USING btree ("group_id","host","port");--> statement-breakpoint
CREATE INDEX "policies_service_id_idx" ON "policies" USING btree ("service_id");--> statement-breakpoint
CREATE UNIQUE INDEX "routes_host_path_match_key" ON "routes" USING btree ("host","path","match");--> statement-breakpoint
CREATE INDEX "routes_service_id_idx" ON "routes" USING btree ("service_id");