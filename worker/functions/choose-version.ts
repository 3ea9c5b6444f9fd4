/**
 * Which version of a function takes a request (docs/functions-runtime.md "Choosing the version";
 * Knative's tag routes and percent split, OCTO swimlanes). The first rule that applies wins:
 *
 * 1. tag: header `sluice-function-tag` equal to a target's tag → that target, whatever its
 *    percent; an unknown tag is ignored;
 * 2. lane: the request's OCTO lane equal to a target's lane → that target;
 * 3. split: bucket 0–99 — `bucket(key, 100)`, the CEL `bucket()` (wasm/reference/bucket.ts), of
 *    the stickiness key when the function has stickiness and the request carries the key, else
 *    uniformly random — against the cumulative percents in target order. E.g. percents
 *    [90, 0, 10]: buckets 0–89 → first, 90–99 → third; a 0 % target is never split to.
 *
 * Pure: randomness is a parameter. O(targets).
 */
import type { FunctionEntry, FunctionStickiness, FunctionTarget } from "../../wasm/functions-section.ts";
import { bucketOf } from "../../wasm/reference/bucket.ts";

/** The request header naming a target's tag (control/functions/traffic.ts TRAFFIC_TAG_HEADER). */
export const FUNCTION_TAG_HEADER = "sluice-function-tag";

/** Buckets of the split: percents are whole, so 100. */
const BUCKETS = 100;

/** What the chooser reads of a request. */
export interface VersionRequest {
  /** Value of header FUNCTION_TAG_HEADER, or undefined when absent. */
  readonly tag: string | undefined;
  /** The request's OCTO lane (LANE_HEADER), or undefined for the main lane. */
  readonly lane: string | undefined;
  /**
   * The request's value of the stickiness key: header (name as written in the traffic split; a
   * header lookup is case-insensitive), cookie or query parameter `name`; undefined when absent.
   * Called at most once, and only when the function has stickiness.
   */
  stickyValue(from: FunctionStickiness["from"], name: string): string | undefined;
}

/**
 * The target of `entry` that takes `request`; null only when `entry` has no targets.
 * @param random uniform in [0, 1) (e.g. Math.random); used only for a non-sticky split.
 * @example chooseVersion(entry, { tag: undefined, lane: "gray", stickyValue: () => undefined }, Math.random)
 *   // → the target whose lane is "gray", when there is one
 */
export function chooseVersion(entry: FunctionEntry, request: VersionRequest, random: () => number): FunctionTarget | null {
  const { targets } = entry;
  if (request.tag !== undefined) {
    const tagged = targets.find((t) => t.tag === request.tag);
    if (tagged) return tagged;
  }
  if (request.lane) {
    const laned = targets.find((t) => t.lane === request.lane);
    if (laned) return laned;
  }
  return splitTarget(targets, splitBucket(entry.stickiness, request, random));
}

/** The split's bucket 0–99: the sticky key's `bucket(key, 100)` when there is one, else random. */
export function splitBucket(stickiness: FunctionStickiness | null, request: VersionRequest, random: () => number): number {
  const key = stickiness ? request.stickyValue(stickiness.from, stickiness.name) : undefined;
  if (key !== undefined) return bucketOf(key, BUCKETS) as number;
  return Math.min(BUCKETS - 1, Math.floor(random() * BUCKETS));
}

/** The target whose cumulative percent range holds `bucket` (0–99); null when targets is empty. */
export function splitTarget(targets: readonly FunctionTarget[], bucket: number): FunctionTarget | null {
  let upTo = 0;
  for (const target of targets) {
    upTo += target.percent;
    if (bucket < upTo) return target;
  }
  return null; // percents sum to 100 (decodeFunctionsSection checks): only an empty list gets here
}
