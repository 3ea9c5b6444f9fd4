/**
 * Functions as snapshot records (docs/functions-runtime.md "In the snapshot"): no WASM change, so
 * each targeted function becomes ordinary groups plus the FUNCTIONS section that WASM skips.
 *
 * - entry group `fn:<name>` (id 0x40000000 + functions.id), no instances: a function route's
 *   default group, so WASM decides it as NO_INSTANCE and the gateway picks the version;
 * - version group `fn:<name>@<n>` (id 0x60000000 + function_versions.id, least-request) per
 *   version the traffic names, its instances the ready ones with a live lease (id
 *   0x40000000 + function_instances.id, so they never collide with registry instance ids);
 * - FUNCTIONS (section 14): per function its entry group, activation timeout, stickiness and
 *   targets with their version group's GROUPS index (wasm/functions-section.ts).
 *
 * `:` is outside NAME_PATTERN, so these group names never collide with a user's. Pure.
 */
import type { FunctionEntry, FunctionsSection } from "../../wasm/functions-section.ts";
import { SnapshotModelError } from "./compile-routes.ts";
import type { FunctionConfig, GroupConfig, RouteConfig } from "./model.ts";

/** Entry group id = base + functions.id. */
export const FUNCTION_ENTRY_GROUP_ID_BASE = 0x40000000;
/** Version group id = base + function_versions.id. */
export const FUNCTION_VERSION_GROUP_ID_BASE = 0x60000000;
/** Instance id = base + function_instances.id. */
export const FUNCTION_INSTANCE_ID_BASE = 0x40000000;

/** `fn:hello`: the entry group of function `hello`. */
export function entryGroupName(fn: string): string {
  return `fn:${fn}`;
}

/** `fn:hello@3`: the group of version 3 of function `hello`. */
export function versionGroupName(fn: string, version: number): string {
  return `fn:${fn}@${version}`;
}

/**
 * The groups that carry `functions`: one entry group each, one version group per version (the
 * model lists the versions its targets name). @throws SnapshotModelError when a target names a
 * version the function does not list.
 */
export function functionGroups(functions: readonly FunctionConfig[]): GroupConfig[] {
  const out: GroupConfig[] = [];
  for (const fn of functions) {
    out.push({
      id: FUNCTION_ENTRY_GROUP_ID_BASE + fn.id,
      appkey: fn.appkey,
      name: entryGroupName(fn.name),
      balancer: "swrr",
      instances: [],
    });
    for (const target of fn.targets) {
      if (!fn.versions.some((v) => v.number === target.version)) {
        throw new SnapshotModelError(`function '${fn.name}' of service '${fn.appkey}': target version ${target.version} is not listed`);
      }
    }
    for (const version of fn.versions) {
      out.push({
        id: FUNCTION_VERSION_GROUP_ID_BASE + version.id,
        appkey: fn.appkey,
        name: versionGroupName(fn.name, version.number),
        balancer: "least-request",
        instances: version.instances.map((inst) => ({ ...inst, id: FUNCTION_INSTANCE_ID_BASE + inst.id })),
      });
    }
  }
  return out;
}

/**
 * `routes` with each function route's default group set to its function's entry group.
 * @throws SnapshotModelError when a route names a function `functions` does not list.
 */
export function withFunctionTargets(routes: readonly RouteConfig[], functions: readonly FunctionConfig[]): RouteConfig[] {
  const known = new Set(functions.map((fn) => `${fn.appkey}\u0000${fn.name}`));
  return routes.map((route) => {
    if (route.function === undefined) return route;
    if (!known.has(`${route.appkey}\u0000${route.function}`)) {
      throw new SnapshotModelError(`route ${route.id}: function '${route.function}' does not exist in service '${route.appkey}'`);
    }
    return { ...route, defaultGroup: entryGroupName(route.function) };
  });
}

/**
 * The FUNCTIONS section's content, functions by id, targets in their stored order.
 * @param groupIndex GROUPS index of group `name` of `appkey` in the file being written.
 */
export function functionsSection(
  functions: readonly FunctionConfig[],
  groupIndex: (appkey: string, name: string) => number,
): FunctionsSection {
  const entries = [...functions]
    .sort((a, b) => a.id - b.id)
    .map(
      (fn): FunctionEntry => ({
        id: fn.id,
        appkey: fn.appkey,
        name: fn.name,
        entryGroup: groupIndex(fn.appkey, entryGroupName(fn.name)),
        activationTimeoutMs: fn.activationTimeoutMs,
        stickiness: fn.stickiness,
        targets: fn.targets.map((t) => ({
          version: t.version,
          group: groupIndex(fn.appkey, versionGroupName(fn.name, t.version)),
          percent: t.percent,
          tag: t.tag,
          lane: t.lane,
        })),
      }),
    );
  return { functions: entries };
}
