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
import type { FunctionEntry, FunctionTarget } from "../../wasm/functions-section.ts";
import { bucketOf } from "../../wasm/reference/bucket.ts";

/** Buckets of the split: percents are whole, so 100. */
const BUCKETS = 100;

/**
 * What the chooser reads of a request (the gateway builds it per function: worker/functions/table.ts
 * `versionRequest`).
 */
export interface VersionChoiceRequest {
  /** Value of header `sluice-function-tag`, null when absent. */
  tag: string | null;
  /** The request's OCTO lane (LANE_HEADER), "" for the main lane. */
  lane: string;
  /** The stickiness key's value when the function is sticky and the request carries it, else null. */
  stickyKey: string | null;
}

/**
 * The target of `entry` that takes `request`.
 * @param random uniform in [0, 1) (e.g. Math.random); read only for a non-sticky split.
 * @throws RangeError when `entry` has no targets (a function with no ready version: the caller
 *   answers without choosing).
 * @example chooseVersion(entry, { tag: null, lane: "gray", stickyKey: null }, Math.random)
 *   // → the target whose lane is "gray", when there is one
 */
export function chooseVersion(entry: FunctionEntry, request: VersionChoiceRequest, random: () => number): FunctionTarget {
  const { targets } = entry;
  if (request.tag !== null) {
    const tagged = targets.find((t) => t.tag === request.tag);
    if (tagged) return tagged;
  }
  if (request.lane !== "") {
    const laned = targets.find((t) => t.lane === request.lane);
    if (laned) return laned;
  }
  const target = splitTarget(targets, splitBucket(request.stickyKey, random));
  if (!target) throw new RangeError(`function ${entry.appkey}/${entry.name} has no traffic target`);
  return target;
}

/** The split's bucket 0–99: `bucket(stickyKey, 100)` when there is a key, else random. */
export function splitBucket(stickyKey: string | null, random: () => number): number {
  if (stickyKey !== null) return bucketOf(stickyKey, BUCKETS) as number;
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
