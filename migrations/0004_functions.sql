CREATE TABLE "function_bundles" (
	"sha256" text PRIMARY KEY NOT NULL,
	"bytes" "bytea" NOT NULL,
	"size" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "function_bundles_sha256_check" CHECK ("function_bundles"."sha256" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE TABLE "function_traffic" (
	"function_id" integer PRIMARY KEY NOT NULL,
	"targets" jsonb NOT NULL,
	"stickiness" jsonb,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "function_versions" (
	"id" serial PRIMARY KEY NOT NULL,
	"function_id" integer NOT NULL,
	"number" integer NOT NULL,
	"bundle_sha256" text NOT NULL,
	"main_module" text NOT NULL,
	"env" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"compatibility_date" text NOT NULL,
	"status" text DEFAULT 'ready' NOT NULL,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "function_versions_number_check" CHECK ("function_versions"."number" >= 1),
	CONSTRAINT "function_versions_status_check" CHECK ("function_versions"."status" in ('ready', 'failed')),
	CONSTRAINT "function_versions_compatibility_date_check" CHECK ("function_versions"."compatibility_date" ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
);
--> statement-breakpoint
CREATE TABLE "functions" (
	"id" serial PRIMARY KEY NOT NULL,
	"service_id" integer NOT NULL,
	"name" text NOT NULL,
	"scaling" jsonb NOT NULL,
	"allow_outbound" boolean DEFAULT false NOT NULL,
	"last_version" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "function_traffic" ADD CONSTRAINT "function_traffic_function_id_functions_id_fk" FOREIGN KEY ("function_id") REFERENCES "public"."functions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "function_versions" ADD CONSTRAINT "function_versions_function_id_functions_id_fk" FOREIGN KEY ("function_id") REFERENCES "public"."functions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "function_versions" ADD CONSTRAINT "function_versions_bundle_sha256_function_bundles_sha256_fk" FOREIGN KEY ("bundle_sha256") REFERENCES "public"."function_bundles"("sha256") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "functions" ADD CONSTRAINT "functions_service_id_services_id_fk" FOREIGN KEY ("service_id") REFERENCES "public"."services"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "function_versions_function_id_number_key" ON "function_versions" USING btree ("function_id","number");--> statement-breakpoint
CREATE INDEX "function_versions_bundle_sha256_idx" ON "function_versions" USING btree ("bundle_sha256");--> statement-breakpoint
CREATE UNIQUE INDEX "functions_service_id_name_key" ON "functions" USING btree ("service_id","name");