/**
 * The OpenAPI (zod) schemas of what the API returns for each resource; the values themselves are
 * built by control/config/representations.ts, whose types the handlers' typed responses check
 * against these schemas.
 */
import { z } from "@hono/zod-openapi";
import type { GroupDto, InstanceDto, PolicyDto, RouteDto, ServiceDto } from "../config/representations.ts";
import type { TrafficCutDto } from "../config/traffic-cuts.ts";
import { ENVIRONMENTS, INSTANCE_ROLES, INSTANCE_STATUSES, REGISTRATIONS, TRAFFIC_CUT_KINDS } from "../db/schema.ts";
import { BALANCER_KINDS } from "../snapshot/options.ts";
import { BalancingSchema, RetrySchema } from "./balancing-fields.ts";
import { timestampField } from "./fields.ts";
import { RoutePluginsSchema, ServicePluginsSchema } from "./plugin-fields.ts";

const timestamps = { createdAt: timestampField, updatedAt: timestampField };

export const ServiceSchema = z
  .object({
    appkey: z.string(),
    description: z.string(),
    heartbeatIntervalMs: z.number().int(),
    unhealthyAfterMs: z.number().int(),
    removeAfterMs: z.number().int(),
    protectThresholdPct: z.number().int(),
    plugins: ServicePluginsSchema,
    ...timestamps,
  })
  .openapi("Service");

export const GroupSchema = z
  .object({ appkey: z.string(), name: z.string(), balancer: z.enum(BALANCER_KINDS), balancing: BalancingSchema, ...timestamps })
  .openapi("Group");

export const InstanceSchema = z
  .object({
    id: z.number().int(),
    appkey: z.string(),
    group: z.string(),
    host: z.string(),
    port: z.number().int(),
    weight: z.number().int(),
    status: z.enum(INSTANCE_STATUSES),
    zone: z.string(),
    lane: z.string(),
    version: z.string(),
    env: z.enum(ENVIRONMENTS),
    region: z.string(),
    idc: z.string(),
    cell: z.string(),
    role: z.enum(INSTANCE_ROLES),
    protocol: z.string(),
    metadata: z.record(z.string(), z.string()),
    warmupSeconds: z.number().int(),
    registration: z.enum(REGISTRATIONS),
    /** The registry's verdict; an unhealthy `alive` instance receives no traffic. */
    healthy: z.boolean(),
    /** When it last became routable (alive and healthy); its warmup ramps from here. */
    aliveSince: timestampField,
    ...timestamps,
  })
  .openapi("Instance");

export const PolicySchema = z
  .object({
    name: z.string(),
    category: z.enum(["private", "public"]),
    appkey: z.string().nullable(),
    key: z.string(),
    passway: z.enum(["query", "header", "cookie", "body"]),
    condition: z.string(),
    group: z.string(),
    enabled: z.boolean(),
    graylist: z.array(z.string()),
    ...timestamps,
  })
  .openapi("Policy");

export const RouteSchema = z
  .object({
    id: z.number().int(),
    appkey: z.string(),
    host: z.string(),
    path: z.string(),
    match: z.enum(["exact", "prefix"]),
    defaultGroup: z.string().nullable().openapi({ description: "null when the route targets a function" }),
    function: z.string().nullable().openapi({ description: "null when the route targets a group" }),
    policies: z.array(z.string()),
    timeoutMs: z.number().int(),
    bodyCapBytes: z.number().int(),
    retry: RetrySchema,
    plugins: RoutePluginsSchema,
    ...timestamps,
  })
  .openapi("Route");

/**
 * A cut as the API returns it. Fields that do not apply to its kind are null; an instance cut also
 * names the instance's service and group, a route cut the route's service.
 */
export const TrafficCutSchema = z
  .object({
    id: z.number().int(),
    kind: z.enum(TRAFFIC_CUT_KINDS),
    appkey: z.string().nullable(),
    group: z.string().nullable(),
    instanceId: z.number().int().nullable(),
    zone: z.string().nullable(),
    routeId: z.number().int().nullable(),
    toGroup: z.string().nullable(),
    reason: z.string(),
    createdAt: timestampField,
  })
  .openapi("TrafficCut");

/** True only when A and B are the same type (each assignable to the other). */
type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;

// The handlers' typed responses check that each value fits its schema; these checks also catch a
// field the mappers add that the schema (and so the OpenAPI document) does not list.
true satisfies Exactly<z.infer<typeof ServiceSchema>, ServiceDto>;
true satisfies Exactly<z.infer<typeof GroupSchema>, GroupDto>;
true satisfies Exactly<z.infer<typeof InstanceSchema>, InstanceDto>;
true satisfies Exactly<z.infer<typeof PolicySchema>, PolicyDto>;
true satisfies Exactly<z.infer<typeof RouteSchema>, RouteDto>;
true satisfies Exactly<z.infer<typeof TrafficCutSchema>, TrafficCutDto>;
