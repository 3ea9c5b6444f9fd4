/**
 * Writing a function's traffic split (after Knative's Service `traffic` block): the whole split
 * in one statement, so a blue-green switch moving 100 % is one write, and readers (and the
 * revision log) never see half of it. Call inside runWrite, which serialises writes.
 */

import type { Queryable } from "../db/connect.ts";
import { functionTraffic } from "../db/schema.ts";
import { type TrafficSplit, trafficShapeProblems } from "../functions/traffic.ts";
import { invalidField } from "./errors.ts";
import { type FunctionRow, findVersion, latestReadyVersion } from "./function-store.ts";

/**
 * Replaces `fn`'s split with `split`.
 * @throws ConfigError invalid naming `targets` (percents not summing to 100), `targets[i].tag`
 *   (a repeated tag) or `targets[i].version` (no such version, or not `ready`; `latest` with no
 *   ready version). Nothing is written then.
 */
export async function replaceTraffic(tx: Queryable, fn: FunctionRow, split: TrafficSplit): Promise<void> {
  const [problem] = trafficShapeProblems(split.targets);
  if (problem) throw invalidField(problem.field, problem.message);
  for (const [i, target] of split.targets.entries()) {
    const field = `targets[${i}].version`;
    if (target.version === "latest") {
      if ((await latestReadyVersion(tx, fn.id)) === null)
        throw invalidField(field, `function "${fn.name}" has no ready version for latest`);
      continue;
    }
    const version = await findVersion(tx, fn.id, target.version);
    if (!version) throw invalidField(field, `version ${target.version} of function "${fn.name}" does not exist`);
    if (version.status !== "ready") throw invalidField(field, `version ${target.version} is ${version.status}, not ready`);
  }
  await tx
    .insert(functionTraffic)
    .values({ functionId: fn.id, targets: split.targets, stickiness: split.stickiness })
    .onConflictDoUpdate({
      target: functionTraffic.functionId,
      set: { targets: split.targets, stickiness: split.stickiness, updatedAt: new Date() },
    });
}
