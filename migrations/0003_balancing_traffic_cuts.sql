CREATE TABLE "traffic_cuts" (
	"id" serial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"target" text NOT NULL,
	"instance_id" integer,
	"group_id" integer,
	"zone" text,
	"service_id" integer,
	"route_id" integer,
	"to_group" text,
	"reason" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "traffic_cuts_kind_check" CHECK ("traffic_cuts"."kind" in ('instance', 'group', 'zone', 'route')),
	CONSTRAINT "traffic_cuts_fields_check" CHECK (case "traffic_cuts"."kind"
        when 'instance' then "traffic_cuts"."instance_id" is not null
        when 'group' then "traffic_cuts"."group_id" is not null
        when 'zone' then "traffic_cuts"."zone" is not null
        else "traffic_cuts"."route_id" is not null and "traffic_cuts"."to_group" is not null end)
);
--> statement-breakpoint
ALTER TABLE "groups" DROP CONSTRAINT "groups_balancer_check";--> statement-breakpoint
ALTER TABLE "groups" ADD COLUMN "balancing" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "alive_since" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "policies" ADD COLUMN "condition_ir" jsonb;--> statement-breakpoint
ALTER TABLE "routes" ADD COLUMN "retry" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "traffic_cuts" ADD CONSTRAINT "traffic_cuts_instance_id_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "traffic_cuts" ADD CONSTRAINT "traffic_cuts_group_id_groups_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."groups"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "traffic_cuts" ADD CONSTRAINT "traffic_cuts_service_id_services_id_fk" FOREIGN KEY ("service_id") REFERENCES "public"."services"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "traffic_cuts" ADD CONSTRAINT "traffic_cuts_route_id_routes_id_fk" FOREIGN KEY ("route_id") REFERENCES "public"."routes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "traffic_cuts_target_key" ON "traffic_cuts" USING btree ("target");--> statement-breakpoint
ALTER TABLE "groups" ADD CONSTRAINT "groups_balancer_check" CHECK ("groups"."balancer" in ('swrr', 'random', 'least-request', 'peak-ewma', 'ring-hash', 'maglev'));