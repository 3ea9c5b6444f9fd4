/**
 * Functions of a service as stored (issue 15): resolving `appkey/name` to rows with the not_found
 * each miss deserves, reading a function's versions and traffic, and the API representations the
 * audit log records. Writes are in function-versions.ts and function-traffic.ts.
 */
import { and, asc, desc, eq } from "drizzle-orm";
import type { Queryable } from "../db/connect.ts";
import { functions, functionTraffic, functionVersions } from "../db/schema.ts";
import { SCALING_DEFAULTS, type ScalingSettings } from "../functions/autoscaler/settings.ts";
import type { Stickiness, TrafficSplit, TrafficTarget } from "../functions/traffic.ts";
import { notFound } from "./errors.ts";
import { requireService, type ServiceRow } from "./lookup.ts";

export type FunctionRow = typeof functions.$inferSelect;
export type FunctionVersionRow = typeof functionVersions.$inferSelect;

/** A function as the API returns it. */
export interface FunctionDto {
  appkey: string;
  name: string;
  scaling: ScalingSettings;
  allowOutbound: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A version's metadata as the API returns it (never its code; see GET …/bundle). */
export interface FunctionVersionDto {
  appkey: string;
  function: string;
  version: number;
  sha256: string;
  main: string;
  env: Record<string, string>;
  compatibilityDate: string;
  status: "ready" | "failed";
  error: string | null;
  createdAt: string;
}

export function toFunctionDto(row: FunctionRow, appkey: string): FunctionDto {
  return {
    appkey,
    name: row.name,
    // Rows written before a setting existed lack it: it then has its default.
    scaling: { ...SCALING_DEFAULTS, ...(row.scaling as Partial<ScalingSettings>) },
    allowOutbound: row.allowOutbound,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function toVersionDto(row: FunctionVersionRow, appkey: string, fn: string): FunctionVersionDto {
  return {
    appkey,
    function: fn,
    version: row.number,
    sha256: row.bundleSha256,
    main: row.mainModule,
    env: row.env,
    compatibilityDate: row.compatibilityDate,
    status: row.status as "ready" | "failed",
    error: row.error,
    createdAt: row.createdAt.toISOString(),
  };
}

/** Function `name` of service `serviceId`, or null. */
export async function findFunction(db: Queryable, serviceId: number, name: string): Promise<FunctionRow | null> {
  const [row] = await db
    .select()
    .from(functions)
    .where(and(eq(functions.serviceId, serviceId), eq(functions.name, name)));
  return row ?? null;
}

/** The service and its function `name`. @throws ConfigError not_found naming whichever is missing. */
export async function requireFunction(db: Queryable, appkey: string, name: string): Promise<{ service: ServiceRow; fn: FunctionRow }> {
  const service = await requireService(db, appkey);
  const fn = await findFunction(db, service.id, name);
  if (!fn) throw notFound(`function "${name}" not found in service "${appkey}"`);
  return { service, fn };
}

/** Version `number` of function `functionId`, or null. */
export async function findVersion(db: Queryable, functionId: number, number: number): Promise<FunctionVersionRow | null> {
  const [row] = await db
    .select()
    .from(functionVersions)
    .where(and(eq(functionVersions.functionId, functionId), eq(functionVersions.number, number)));
  return row ?? null;
}

/** Version `number` of `fn`. @throws ConfigError not_found */
export async function requireVersion(db: Queryable, fn: FunctionRow, appkey: string, number: number): Promise<FunctionVersionRow> {
  const row = await findVersion(db, fn.id, number);
  if (!row) throw notFound(`version ${number} of function "${fn.name}" not found in service "${appkey}"`);
  return row;
}

/** The function's versions, oldest first. */
export async function listVersions(db: Queryable, functionId: number): Promise<FunctionVersionRow[]> {
  return db.select().from(functionVersions).where(eq(functionVersions.functionId, functionId)).orderBy(asc(functionVersions.number));
}

/** The highest-numbered `ready` version of the function (what `latest` routes to), or null. */
export async function latestReadyVersion(db: Queryable, functionId: number): Promise<number | null> {
  const [row] = await db
    .select({ number: functionVersions.number })
    .from(functionVersions)
    .where(and(eq(functionVersions.functionId, functionId), eq(functionVersions.status, "ready")))
    .orderBy(desc(functionVersions.number))
    .limit(1);
  return row?.number ?? null;
}

/** The function's traffic split; `{targets: [], stickiness: null}` before the first write. */
export async function readTraffic(db: Queryable, functionId: number): Promise<TrafficSplit> {
  const [row] = await db.select().from(functionTraffic).where(eq(functionTraffic.functionId, functionId));
  if (!row) return { targets: [], stickiness: null };
  return { targets: row.targets as TrafficTarget[], stickiness: (row.stickiness as Stickiness | null) ?? null };
}
