/**
 * A gateway push's `functions` block as the scaler's input: each version's load is stored as the
 * latest report of source `gateway:<isolate id>` (function_load), and its activation waits and
 * buffered count go to the function metrics. Never throws: the push itself is counted whatever
 * happens here (a database outage loses this second of load, which the windows tolerate).
 */
import type { Logger } from "pino";
import { upsertLoads } from "../../config/function-instances.ts";
import type { Database } from "../../db/connect.ts";
import type { FunctionMetrics } from "../../metrics/function-metrics.ts";
import type { GatewayPush } from "../../metrics/gateway-push.ts";
import { refKey, resolveVersions } from "../version-refs.ts";

/** Records `push.functions` (if any) at `nowMs` (Unix ms). */
export async function recordGatewayLoad(
  deps: { db: Database; logger: Logger; metrics?: FunctionMetrics },
  push: GatewayPush,
  nowMs: number,
): Promise<void> {
  const loads = push.functions ?? [];
  if (loads.length === 0) return;
  deps.metrics?.recordPush(push.gateway, loads);
  try {
    const versions = await resolveVersions(deps.db, loads);
    await upsertLoads(
      deps.db,
      loads.flatMap((load) => {
        const version = versions.get(refKey(load));
        if (!version) return [];
        return [
          {
            source: `gateway:${push.gateway}`,
            versionId: version.id,
            atMs: nowMs,
            intervalMs: Math.max(1, Math.round(push.intervalMs)),
            concurrency: load.concurrency,
            requests: load.requests,
          },
        ];
      }),
    );
  } catch (err) {
    deps.logger.warn({ err, gateway: push.gateway }, "could not record a gateway's function load");
  }
}
