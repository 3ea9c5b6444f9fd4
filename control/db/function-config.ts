/**
 * Reads the functions routes target as the snapshot model's FunctionConfig
 * (control/snapshot/model.ts; docs/functions-runtime.md "In the snapshot"), inside the caller's
 * read transaction so they agree with the routes: each function's scaling (its activation
 * timeout), traffic with `latest` resolved to the highest ready version, the versions the
 * targets name, and their instances in state `ready` whose lease is live
 * (`reported_at > now() − FUNCTION_LEASE_MS`, control/functions/lease.ts). Rows by id, so the
 * same data gives the same model.
 */
import { and, asc, eq, gt, inArray, sql } from "drizzle-orm";
import { SCALING_DEFAULTS, type ScalingSettings } from "../functions/autoscaler/settings.ts";
import { FUNCTION_LEASE_MS } from "../functions/lease.ts";
import { resolveTargets, type Stickiness, type TrafficTarget } from "../functions/traffic.ts";
import type { FunctionConfig, InstanceConfig } from "../snapshot/model.ts";
import type { Queryable } from "./connect.ts";
import { functionInstances, functions, functionTraffic, functionVersions } from "./schema.ts";

/** Weight of every function instance: OCTO's usual 10 (instances of a version are alike). */
const FUNCTION_INSTANCE_WEIGHT = 10;

/**
 * The functions named by `targeted` (`{serviceId, appkey, name}` of each function route; repeats
 * are fine), by functions.id. A name with no function row is left out (the route's writer check
 * then reports it). A target naming a version that is not `ready` (failed after the split was
 * set) still gets its version group, with no instance: its share waits in gateway buffers.
 */
export async function loadFunctionConfigs(
  tx: Queryable,
  targeted: readonly { serviceId: number; appkey: string; name: string }[],
): Promise<FunctionConfig[]> {
  if (targeted.length === 0) return [];
  const appkeyOf = new Map(targeted.map((t) => [`${t.serviceId}/${t.name}`, t.appkey]));
  const serviceIds = [...new Set(targeted.map((t) => t.serviceId))];
  const fnRows = (await tx.select().from(functions).where(inArray(functions.serviceId, serviceIds)).orderBy(asc(functions.id))).filter(
    (fn) => appkeyOf.has(`${fn.serviceId}/${fn.name}`),
  );
  if (fnRows.length === 0) return [];
  const fnIds = fnRows.map((fn) => fn.id);
  const versionRows = await tx
    .select()
    .from(functionVersions)
    .where(inArray(functionVersions.functionId, fnIds))
    .orderBy(asc(functionVersions.id));
  const trafficRows = await tx.select().from(functionTraffic).where(inArray(functionTraffic.functionId, fnIds));
  const instanceRows =
    versionRows.length === 0
      ? []
      : await tx
          .select()
          .from(functionInstances)
          .where(
            and(
              inArray(
                functionInstances.versionId,
                versionRows.map((v) => v.id),
              ),
              eq(functionInstances.state, "ready"),
              gt(functionInstances.reportedAt, sql`now() - ${FUNCTION_LEASE_MS} * interval '1 millisecond'`),
            ),
          )
          .orderBy(asc(functionInstances.id));
  const trafficOf = new Map(trafficRows.map((row) => [row.functionId, row]));

  return fnRows.map((fn): FunctionConfig => {
    const versions = versionRows.filter((v) => v.functionId === fn.id);
    const ready = versions.filter((v) => v.status === "ready").map((v) => v.number);
    const latestReady = ready.length > 0 ? Math.max(...ready) : null;
    const traffic = trafficOf.get(fn.id);
    const targets = resolveTargets((traffic?.targets as TrafficTarget[] | undefined) ?? null, latestReady);
    const named = new Set(targets.map((t) => t.version));
    // Rows written before activationTimeoutMs existed lack it: the default applies.
    const scaling = { ...SCALING_DEFAULTS, ...(fn.scaling as Partial<ScalingSettings>) };
    return {
      id: fn.id,
      appkey: appkeyOf.get(`${fn.serviceId}/${fn.name}`) as string,
      name: fn.name,
      activationTimeoutMs: scaling.activationTimeoutMs,
      stickiness: (traffic?.stickiness as Stickiness | null | undefined) ?? null,
      targets,
      versions: versions
        .filter((v) => named.has(v.number))
        .map((v) => ({
          id: v.id,
          number: v.number,
          instances: instanceRows
            .filter((i) => i.versionId === v.id)
            .map(
              (i): InstanceConfig => ({
                id: i.id,
                host: i.host,
                port: i.port,
                weight: FUNCTION_INSTANCE_WEIGHT,
                status: "alive",
                zone: i.zone,
                region: i.region,
                cell: i.cell,
                // Lanes pick versions (traffic targets), not instances within one.
                lane: "",
                version: String(v.number),
              }),
            ),
        })),
    };
  });
}
