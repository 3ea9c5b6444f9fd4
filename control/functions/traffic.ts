/**
 * A function's traffic split, after Knative Serving's Service `traffic` block
 * (serving.knative.dev/v1 TrafficTarget: `revisionName` or `latestRevision: true`, `percent`,
 * `tag`): which versions take what share of requests. Pure: the shapes, the rules a split must
 * meet and the resolution of `latest`; storage is control/config/function-store.ts.
 *
 * Gateways apply it (docs/functions-runtime.md "Choosing the version", worker/functions/): a
 * request carrying the header TRAFFIC_TAG_HEADER goes to the tagged target, one in an OCTO lane
 * to the target of that lane, and the rest are split by percent — when `stickiness` is set, by
 * the CEL `bucket()` of the named key, so one user stays on one version.
 */

/** Where a traffic entry points: a version number, or the newest ready version at request time. */
export type TrafficVersion = number | "latest";

/**
 * One entry of a split: `percent` is an integer 0–100; `tag` makes it reachable by header;
 * `lane` (an OCTO swimlane label, as an instance's) takes the requests of that lane.
 */
export interface TrafficTarget {
  version: TrafficVersion;
  percent: number;
  tag?: string;
  lane?: string;
}

/** Where the sticky key of a request is read: a header, cookie or query parameter `name`. */
export interface Stickiness {
  from: "header" | "cookie" | "query";
  name: string;
}

/** A function's whole split; `targets` empty means no traffic has been set yet. */
export interface TrafficSplit {
  targets: TrafficTarget[];
  stickiness: Stickiness | null;
}

/** The request header that selects a tagged target (see module doc). */
export const TRAFFIC_TAG_HEADER = "sluice-function-tag";

/** Most entries in one split. */
export const MAX_TRAFFIC_TARGETS = 32;

/** Tags: a lowercase DNS label (Knative puts them in a host name): 1–63 of [a-z0-9-], no edge `-`. */
export const TAG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** One problem with a split: the field at fault (`targets`, `targets[2].tag`) and why. */
export interface TrafficProblem {
  field: string;
  message: string;
}

/**
 * What is wrong with `targets` on its own (versions are checked against the store elsewhere):
 * percents must sum to exactly 100 (Knative's rule), tags must be unique, and so must lanes (a
 * lane's requests go to one target).
 */
export function trafficShapeProblems(targets: readonly TrafficTarget[]): TrafficProblem[] {
  const problems: TrafficProblem[] = [];
  const total = targets.reduce((sum, t) => sum + t.percent, 0);
  if (total !== 100) problems.push({ field: "targets", message: `percents must sum to 100, not ${total}` });
  for (const key of ["tag", "lane"] as const) {
    const seen = new Set<string>();
    targets.forEach((target, i) => {
      const value = target[key];
      if (value === undefined) return;
      if (seen.has(value)) problems.push({ field: `targets[${i}].${key}`, message: `${key} "${value}" is used twice` });
      seen.add(value);
    });
  }
  return problems;
}

/** The version number `version` means now: itself, or `latestReady` (null when there is none). */
export function resolveVersion(version: TrafficVersion, latestReady: number | null): number | null {
  return version === "latest" ? latestReady : version;
}

/** A target as gateways apply it: `latest` resolved, no optional fields. */
export interface ResolvedTarget {
  version: number;
  percent: number;
  tag: string | null;
  lane: string | null;
}

/**
 * `targets` as a snapshot carries them (docs/functions-runtime.md "In the snapshot"): `latest`
 * resolved to `latestReady`, in the stored order. No stored split means 100 % to latest. When
 * `latest` cannot resolve (no ready version) the function has nothing to route to: [].
 * @example resolveTargets(null, 4) // → [{version: 4, percent: 100, tag: null, lane: null}]
 */
export function resolveTargets(targets: readonly TrafficTarget[] | null, latestReady: number | null): ResolvedTarget[] {
  const split = targets ?? [{ version: "latest", percent: 100 }];
  const resolved: ResolvedTarget[] = [];
  for (const target of split) {
    const version = resolveVersion(target.version, latestReady);
    if (version === null) return [];
    resolved.push({ version, percent: target.percent, tag: target.tag ?? null, lane: target.lane ?? null });
  }
  return resolved;
}

/**
 * The entries of `targets` that route to version `number` (directly or through `latest`), with
 * their index: a version they name carries traffic, even at 0 % when tagged.
 */
export function targetsOf(
  targets: readonly TrafficTarget[],
  number: number,
  latestReady: number | null,
): { index: number; target: TrafficTarget }[] {
  return targets.map((target, index) => ({ index, target })).filter(({ target }) => resolveVersion(target.version, latestReady) === number);
}
