/**
 * What the API returns for each resource: the zod (OpenAPI) schemas and the row → JSON mappers.
 * Field names are camelCase; timestamps ISO 8601 strings; names, not database ids, link resources
 * (instances and routes, which have no natural name, expose their id).
 */
import { z } from "@hono/zod-openapi";
import { BalancingSchema, RetrySchema } from "../api/balancing-fields.ts";
import { timestampField } from "../api/fields.ts";
import type { groups, instances, policies, routes, services } from "../db/schema.ts";
import { ENVIRONMENTS, INSTANCE_ROLES, INSTANCE_STATUSES, REGISTRATIONS } from "../db/schema.ts";
import { BALANCER_KINDS, type GroupBalancingInput, type RouteRetry, resolveBalancing, resolveRetry } from "../snapshot/options.ts";

const timestamps = { createdAt: timestampField, updatedAt: timestampField };

export const ServiceSchema = z
  .object({
    appkey: z.string(),
    description: z.string(),
    heartbeatIntervalMs: z.number().int(),
    unhealthyAfterMs: z.number().int(),
    removeAfterMs: z.number().int(),
    protectThresholdPct: z.number().int(),
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
    defaultGroup: z.string(),
    policies: z.array(z.string()),
    timeoutMs: z.number().int(),
    bodyCapBytes: z.number().int(),
    retry: RetrySchema,
    ...timestamps,
  })
  .openapi("Route");

export type ServiceDto = z.infer<typeof ServiceSchema>;
export type GroupDto = z.infer<typeof GroupSchema>;
export type InstanceDto = z.infer<typeof InstanceSchema>;
export type PolicyDto = z.infer<typeof PolicySchema>;
export type RouteDto = z.infer<typeof RouteSchema>;

type Stamped = { createdAt: Date; updatedAt: Date };
const iso = (row: Stamped) => ({
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

/** The API representation of a service row. */
export function toServiceDto(row: typeof services.$inferSelect): ServiceDto {
  return {
    appkey: row.appkey,
    description: row.description,
    heartbeatIntervalMs: row.heartbeatIntervalMs,
    unhealthyAfterMs: row.unhealthyAfterMs,
    removeAfterMs: row.removeAfterMs,
    protectThresholdPct: row.protectThresholdPct,
    ...iso(row),
  };
}

/** A group row as the API returns it: `balancing` with every default filled in. */
export function toGroupDto(row: typeof groups.$inferSelect, appkey: string): GroupDto {
  return {
    appkey,
    name: row.name,
    balancer: row.balancer as GroupDto["balancer"],
    balancing: resolveBalancing(row.balancing as GroupBalancingInput),
    ...iso(row),
  };
}

/** An instance row as the API returns it, labelled with its service and group. */
export function toInstanceDto(row: typeof instances.$inferSelect, appkey: string, group: string): InstanceDto {
  return {
    id: row.id,
    appkey,
    group,
    host: row.host,
    port: row.port,
    weight: row.weight,
    status: row.status as InstanceDto["status"],
    zone: row.zone,
    lane: row.lane,
    version: row.version,
    env: row.env as InstanceDto["env"],
    region: row.region,
    idc: row.idc,
    cell: row.cell,
    role: row.role as InstanceDto["role"],
    protocol: row.protocol,
    metadata: row.metadata,
    warmupSeconds: row.warmupSeconds,
    registration: row.registration as InstanceDto["registration"],
    healthy: row.healthy,
    aliveSince: row.aliveSince.toISOString(),
    ...iso(row),
  };
}

/** `appkey` is the owning service's appkey for private policies, null for public ones. */
export function toPolicyDto(row: typeof policies.$inferSelect, appkey: string | null): PolicyDto {
  return {
    name: row.name,
    category: row.category as PolicyDto["category"],
    appkey: row.category === "private" ? appkey : null,
    key: row.key,
    passway: row.passway as PolicyDto["passway"],
    condition: row.condition,
    group: row.groupName,
    enabled: row.enabled,
    graylist: row.graylist,
    ...iso(row),
  };
}

/** A route row as the API returns it: `retry` with every default filled in. */
export function toRouteDto(row: typeof routes.$inferSelect, appkey: string): RouteDto {
  return {
    id: row.id,
    appkey,
    host: row.host,
    path: row.path,
    match: row.match as RouteDto["match"],
    defaultGroup: row.defaultGroup,
    policies: row.policies,
    timeoutMs: row.timeoutMs,
    bodyCapBytes: row.bodyCapBytes,
    retry: retryDto(resolveRetry(row.retry as Partial<RouteRetry>)),
    ...iso(row),
  };
}

function retryDto(retry: RouteRetry): RouteDto["retry"] {
  return { ...retry, retryOn: [...retry.retryOn] };
}
