/**
 * Resolving `appkey/function@number` references (as agents and gateways name versions) to
 * version rows in one query, with what the runtime needs of each: the function's scaling
 * settings and code address.
 */
import { and, eq, inArray, or, sql } from "drizzle-orm";
import type { Queryable } from "../db/connect.ts";
import { functions, functionVersions, services } from "../db/schema.ts";
import { SCALING_DEFAULTS, type ScalingSettings } from "./autoscaler/settings.ts";

/** A version as the runtime names it. */
export interface VersionRef {
  appkey: string;
  function: string;
  version: number;
}

/** A resolved version with its function's settings. */
export interface VersionInfo extends VersionRef {
  id: number;
  status: "ready" | "failed";
  sha256: string;
  main: string;
  compatibilityDate: string;
  env: Record<string, string>;
  allowOutbound: boolean;
  scaling: ScalingSettings;
}

/** `appkey/function@version`, the map key of a reference. */
export function refKey(ref: VersionRef): string {
  return `${ref.appkey}/${ref.function}@${ref.version}`;
}

const columns = {
  id: functionVersions.id,
  appkey: services.appkey,
  function: functions.name,
  version: functionVersions.number,
  status: functionVersions.status,
  sha256: functionVersions.bundleSha256,
  main: functionVersions.mainModule,
  compatibilityDate: functionVersions.compatibilityDate,
  env: functionVersions.env,
  allowOutbound: functions.allowOutbound,
  scaling: functions.scaling,
};

type Row = { [K in keyof typeof columns]: unknown };

function toInfo(row: Row): VersionInfo {
  return {
    ...(row as unknown as VersionInfo),
    // Rows are written with every default applied; spreading them again guards older rows.
    scaling: { ...SCALING_DEFAULTS, ...(row.scaling as Partial<ScalingSettings>) },
  };
}

/** The versions `refs` name that exist, by refKey(). */
export async function resolveVersions(db: Queryable, refs: readonly VersionRef[]): Promise<Map<string, VersionInfo>> {
  if (refs.length === 0) return new Map();
  const unique = [...new Map(refs.map((r) => [refKey(r), r])).values()];
  const rows = await db
    .select(columns)
    .from(functionVersions)
    .innerJoin(functions, eq(functions.id, functionVersions.functionId))
    .innerJoin(services, eq(services.id, functions.serviceId))
    .where(
      or(...unique.map((r) => and(eq(services.appkey, r.appkey), eq(functions.name, r.function), eq(functionVersions.number, r.version)))),
    );
  return new Map(rows.map((row) => [refKey(row as VersionRef), toInfo(row)]));
}

/** The versions with the given ids, by id. */
export async function versionsById(db: Queryable, ids: readonly number[]): Promise<Map<number, VersionInfo>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select(columns)
    .from(functionVersions)
    .innerJoin(functions, eq(functions.id, functionVersions.functionId))
    .innerJoin(services, eq(services.id, functions.serviceId))
    .where(inArray(functionVersions.id, [...ids]));
  return new Map(rows.map((row) => [row.id, toInfo(row)]));
}

/** True when some version of a service in `appkeys` (null: any service) uses bundle `sha256`. */
export async function bundleUsedBy(db: Queryable, sha256: string, appkeys: readonly string[] | null): Promise<boolean> {
  if (appkeys !== null && appkeys.length === 0) return false;
  const [row] = await db
    .select({ one: sql<number>`1` })
    .from(functionVersions)
    .innerJoin(functions, eq(functions.id, functionVersions.functionId))
    .innerJoin(services, eq(services.id, functions.serviceId))
    .where(
      appkeys === null
        ? eq(functionVersions.bundleSha256, sha256)
        : and(eq(functionVersions.bundleSha256, sha256), inArray(services.appkey, [...appkeys])),
    )
    .limit(1);
  return row !== undefined;
}
