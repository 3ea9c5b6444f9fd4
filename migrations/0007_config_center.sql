CREATE TABLE "config_grays" (
	"id" serial PRIMARY KEY NOT NULL,
	"namespace_id" integer NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"rules" jsonb NOT NULL,
	"draft" text NOT NULL,
	"base_release_id" bigint,
	"latest_release_id" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "config_grays_status_check" CHECK ("config_grays"."status" in ('active', 'merged', 'abandoned'))
);
--> statement-breakpoint
CREATE TABLE "config_namespaces" (
	"id" serial PRIMARY KEY NOT NULL,
	"service_id" integer NOT NULL,
	"env" text NOT NULL,
	"name" text NOT NULL,
	"format" text NOT NULL,
	"schema" jsonb,
	"draft" text DEFAULT '' NOT NULL,
	"current_release_id" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "config_namespaces_env_check" CHECK ("config_namespaces"."env" in ('prod', 'staging', 'test')),
	CONSTRAINT "config_namespaces_format_check" CHECK ("config_namespaces"."format" in ('properties', 'json', 'yaml', 'text'))
);
--> statement-breakpoint
CREATE TABLE "config_releases" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"namespace_id" integer NOT NULL,
	"kind" text NOT NULL,
	"content" text NOT NULL,
	"hash" text NOT NULL,
	"author" text NOT NULL,
	"comment" text DEFAULT '' NOT NULL,
	"gray_id" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "config_releases_kind_check" CHECK ("config_releases"."kind" in ('main', 'rollback', 'gray', 'merge')),
	CONSTRAINT "config_releases_hash_check" CHECK ("config_releases"."hash" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
ALTER TABLE "config_grays" ADD CONSTRAINT "config_grays_namespace_id_config_namespaces_id_fk" FOREIGN KEY ("namespace_id") REFERENCES "public"."config_namespaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "config_grays" ADD CONSTRAINT "config_grays_base_release_id_config_releases_id_fk" FOREIGN KEY ("base_release_id") REFERENCES "public"."config_releases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "config_grays" ADD CONSTRAINT "config_grays_latest_release_id_config_releases_id_fk" FOREIGN KEY ("latest_release_id") REFERENCES "public"."config_releases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "config_namespaces" ADD CONSTRAINT "config_namespaces_service_id_services_id_fk" FOREIGN KEY ("service_id") REFERENCES "public"."services"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "config_namespaces" ADD CONSTRAINT "config_namespaces_current_release_id_config_releases_id_fk" FOREIGN KEY ("current_release_id") REFERENCES "public"."config_releases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "config_releases" ADD CONSTRAINT "config_releases_namespace_id_config_namespaces_id_fk" FOREIGN KEY ("namespace_id") REFERENCES "public"."config_namespaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "config_releases" ADD CONSTRAINT "config_releases_gray_id_config_grays_id_fk" FOREIGN KEY ("gray_id") REFERENCES "public"."config_grays"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "config_grays_one_active_key" ON "config_grays" USING btree ("namespace_id") WHERE "config_grays"."status" = 'active';--> statement-breakpoint
CREATE UNIQUE INDEX "config_namespaces_service_id_env_name_key" ON "config_namespaces" USING btree ("service_id","env","name");--> statement-breakpoint
CREATE INDEX "config_releases_namespace_id_id_idx" ON "config_releases" USING btree ("namespace_id","id");