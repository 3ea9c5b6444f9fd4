/**
 * What the API returns for each resource, and what revisions record as `before`/`after`: the
 * row → JSON mappers and their types (the OpenAPI schemas are control/api/resource-schemas.ts).
 * Field names are camelCase; timestamps ISO 8601 strings; names, not database ids, link resources
 * (instances and routes, which have no natural name, expose their id).
 */

import type {
  ENVIRONMENTS,
  groups,
  INSTANCE_ROLES,
  INSTANCE_STATUSES,
  instances,
  policies,
  REGISTRATIONS,
  routes,
  services,
} from "../db/schema.ts";
import {
  type BalancerKind,
  type GroupBalancing,
  type GroupBalancingInput,
  type RetryOn,
  type RouteRetry,
  resolveBalancing,
  resolveRetry,
} from "../snapshot/options.ts";
import {
  type RoutePluginsInput,
  resolveRoutePlugins,
  resolveServicePlugins,
  type ServicePluginsInput,
} from "../snapshot/plugin-options.ts";

/** Creation and last-change times, ISO 8601. */
interface Timestamps {
  createdAt: string;
  updatedAt: string;
}

export interface ServiceDto extends Timestamps {
  appkey: string;
  description: string;
  heartbeatIntervalMs: number;
  unhealthyAfterMs: number;
  removeAfterMs: number;
  protectThresholdPct: number;
  /** Default plugins of its routes, each with every default filled in. */
  plugins: ServicePluginsInput;
}

export interface GroupDto extends Timestamps {
  appkey: string;
  name: string;
  balancer: BalancerKind;
  /** Every default filled in. */
  balancing: GroupBalancing;
}

export interface InstanceDto extends Timestamps {
  id: number;
  appkey: string;
  group: string;
  host: string;
  port: number;
  weight: number;
  status: (typeof INSTANCE_STATUSES)[number];
  zone: string;
  lane: string;
  version: string;
  env: (typeof ENVIRONMENTS)[number];
  region: string;
  idc: string;
  cell: string;
  role: (typeof INSTANCE_ROLES)[number];
  protocol: string;
  metadata: Record<string, string>;
  warmupSeconds: number;
  registration: (typeof REGISTRATIONS)[number];
  /** The registry's verdict; an unhealthy `alive` instance receives no traffic. */
  healthy: boolean;
  /** When it last became routable (alive and healthy); its warmup ramps from here. */
  aliveSince: string;
}

export interface PolicyDto extends Timestamps {
  name: string;
  category: "private" | "public";
  /** The owning service of a private policy; null for a public one. */
  appkey: string | null;
  key: string;
  passway: "query" | "header" | "cookie" | "body";
  condition: string;
  group: string;
  enabled: boolean;
  graylist: string[];
}

export interface RouteDto extends Timestamps {
  id: number;
  appkey: string;
  host: string;
  path: string;
  match: "exact" | "prefix";
  /** The group taking the traffic no policy takes; null when the route targets a function. */
  defaultGroup: string | null;
  /** The function (in the route's service) taking that traffic; null when it is a group. */
  function: string | null;
  policies: string[];
  timeoutMs: number;
  bodyCapBytes: number;
  /** Every default filled in. */
  retry: Omit<RouteRetry, "retryOn"> & { retryOn: RetryOn[] };
  /** The route's own plugins (null: the service's turned off), each with every default filled in. */
  plugins: RoutePluginsInput;
}

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
    plugins: resolveServicePlugins(row.plugins),
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
    defaultGroup: row.function === null ? row.defaultGroup : null,
    function: row.function,
    policies: row.policies,
    timeoutMs: row.timeoutMs,
    bodyCapBytes: row.bodyCapBytes,
    retry: retryDto(resolveRetry(row.retry as Partial<RouteRetry>)),
    plugins: resolveRoutePlugins(row.plugins),
    ...iso(row),
  };
}

function retryDto(retry: RouteRetry): RouteDto["retry"] {
  return { ...retry, retryOn: [...retry.retryOn] };
}
