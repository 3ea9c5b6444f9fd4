CREATE TABLE "consumer_jwt_credentials" (
	"consumer_id" integer PRIMARY KEY NOT NULL,
	"key" text NOT NULL,
	"algorithm" text NOT NULL,
	"secret" text,
	"public_keys" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"jwks_url" text,
	"jwks" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"jwks_fetched_at" timestamp with time zone,
	"issuer" text,
	"audience" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "consumer_jwt_credentials_key_unique" UNIQUE("key"),
	CONSTRAINT "consumer_jwt_credentials_algorithm_check" CHECK ("consumer_jwt_credentials"."algorithm" in ('HS256', 'RS256', 'ES256')),
	CONSTRAINT "consumer_jwt_credentials_key_material_check" CHECK (case when "consumer_jwt_credentials"."algorithm" = 'HS256' then "consumer_jwt_credentials"."secret" is not null and "consumer_jwt_credentials"."jwks_url" is null
        else "consumer_jwt_credentials"."secret" is null and ("consumer_jwt_credentials"."jwks_url" is not null or jsonb_array_length("consumer_jwt_credentials"."public_keys") > 0) end)
);
--> statement-breakpoint
CREATE TABLE "consumers" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"key_auth_hash" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "consumers_name_unique" UNIQUE("name"),
	CONSTRAINT "consumers_key_auth_hash_unique" UNIQUE("key_auth_hash"),
	CONSTRAINT "consumers_key_auth_hash_check" CHECK ("consumers"."key_auth_hash" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
ALTER TABLE "routes" ADD COLUMN "plugins" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "services" ADD COLUMN "plugins" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "consumer_jwt_credentials" ADD CONSTRAINT "consumer_jwt_credentials_consumer_id_consumers_id_fk" FOREIGN KEY ("consumer_id") REFERENCES "public"."consumers"("id") ON DELETE cascade ON UPDATE no action;