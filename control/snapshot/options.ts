/**
 * The balancing and fault-tolerance options of a group and the retry policy of a route, as the
 * snapshot carries them (docs/snapshot-format.md, GROUPS and ROUTES), with their defaults. Field
 * names and defaults are those of the TypeScript reference (wasm/reference, docs/balancing.md), so
 * control's model maps 1:1 onto the configs the balancers take. The database stores what the admin
 * gave (a partial object); `resolveBalancing` / `resolveRetry` fill the rest. Pure.
 */
import type { GroupBreakerConfig } from "../../wasm/reference/group-breaker.ts";
import { GROUP_BREAKER_DEFAULTS } from "../../wasm/reference/group-breaker.ts";
import type { HashKeySource } from "../../wasm/reference/hash-key.ts";
import type { InstanceBreakerConfig } from "../../wasm/reference/instance-breaker.ts";
import { INSTANCE_BREAKER_DEFAULTS } from "../../wasm/reference/instance-breaker.ts";
import type { LeastRequestConfig } from "../../wasm/reference/least-request.ts";
import { LEAST_REQUEST_DEFAULTS } from "../../wasm/reference/least-request.ts";
import type { MaglevConfig } from "../../wasm/reference/maglev.ts";
import { MAGLEV_DEFAULTS } from "../../wasm/reference/maglev.ts";
import type { OutlierConfig } from "../../wasm/reference/outlier.ts";
import { OUTLIER_DEFAULTS } from "../../wasm/reference/outlier.ts";
import type { PeakEwmaConfig } from "../../wasm/reference/peak-ewma.ts";
import { PEAK_EWMA_DEFAULTS } from "../../wasm/reference/peak-ewma.ts";
import type { RetryOn, RetryPolicy } from "../../wasm/reference/retry.ts";
import { RETRY_DEFAULTS } from "../../wasm/reference/retry.ts";
import type { RingHashConfig } from "../../wasm/reference/ring-hash.ts";
import { RING_HASH_DEFAULTS } from "../../wasm/reference/ring-hash.ts";
import type { RouteRuleConfig } from "../../wasm/reference/route-rules.ts";
import { ROUTE_RULE_DEFAULTS } from "../../wasm/reference/route-rules.ts";

/** Balancer kinds; the index is GROUPS.balancer. */
export { BALANCER_KINDS, type BalancerKind } from "../../wasm/reference/balancers.ts";
export type { HashKeySource, RetryOn };

/** Envoy's healthy_panic_threshold default, percent. */
export const PANIC_THRESHOLD_DEFAULT_PCT = 50;

/**
 * Everything a group's balancing and fault tolerance can be told, each part the reference's config
 * of that concern:
 * - `hashKey`: where ring-hash and maglev read the request's key (hash-key.ts); null = no key,
 *   hash kinds pick at random (Envoy: no hash → random);
 * - `ringHash`, `maglev`, `leastRequest`, `peakEwma`: the balancers' own settings;
 * - `panicThresholdPct`: healthy share (percent) below which a tier is balanced as if healthy (Envoy 50);
 * - `routeRules`: OCTO zone factors in ppm (each ≥ 1) and cellFallback;
 * - `outlier`: Envoy outlier_detection (field names camelCased, stdev factor in thousandths as Envoy);
 * - `instanceBreaker`: Sentinel's per-instance breaker (ratios 0–1, above 1 = that trigger off);
 * - `groupBreaker`: Envoy circuit breaker thresholds max_requests / max_pending_requests.
 */
export interface GroupBalancing {
  hashKey: HashKeySource | null;
  ringHash: RingHashConfig;
  maglev: MaglevConfig;
  leastRequest: LeastRequestConfig;
  peakEwma: PeakEwmaConfig;
  panicThresholdPct: number;
  routeRules: RouteRuleConfig;
  outlier: OutlierConfig;
  instanceBreaker: InstanceBreakerConfig;
  groupBreaker: GroupBreakerConfig;
}

/** What the admin may give: any part, any field of a part (the rest takes its default). */
export type GroupBalancingInput = {
  hashKey?: HashKeySource | null;
} & { [K in Exclude<keyof GroupBalancing, "hashKey" | "panicThresholdPct">]?: Partial<GroupBalancing[K]> } & {
  panicThresholdPct?: number;
};

/** The defaults: wasm/reference's *_DEFAULTS, no hash key, panic threshold 50 %. */
export const GROUP_BALANCING_DEFAULTS: GroupBalancing = {
  hashKey: null,
  ringHash: RING_HASH_DEFAULTS,
  maglev: MAGLEV_DEFAULTS,
  leastRequest: LEAST_REQUEST_DEFAULTS,
  peakEwma: PEAK_EWMA_DEFAULTS,
  panicThresholdPct: PANIC_THRESHOLD_DEFAULT_PCT,
  routeRules: ROUTE_RULE_DEFAULTS,
  outlier: OUTLIER_DEFAULTS,
  instanceBreaker: INSTANCE_BREAKER_DEFAULTS,
  groupBreaker: GROUP_BREAKER_DEFAULTS,
};

/**
 * The full options for a partial input: each part merged field by field over its defaults.
 * @example resolveBalancing({ maglev: { tableSize: 251 } }).maglev // → { tableSize: 251 }
 *          resolveBalancing({}).outlier.consecutive5xx           // → 5
 */
export function resolveBalancing(input: GroupBalancingInput): GroupBalancing {
  const d = GROUP_BALANCING_DEFAULTS;
  return {
    hashKey: input.hashKey ?? null,
    ringHash: { ...d.ringHash, ...input.ringHash },
    maglev: { ...d.maglev, ...input.maglev },
    leastRequest: { ...d.leastRequest, ...input.leastRequest },
    peakEwma: { ...d.peakEwma, ...input.peakEwma },
    panicThresholdPct: input.panicThresholdPct ?? d.panicThresholdPct,
    routeRules: { ...d.routeRules, ...input.routeRules },
    outlier: { ...d.outlier, ...input.outlier },
    instanceBreaker: { ...d.instanceBreaker, ...input.instanceBreaker },
    groupBreaker: { ...d.groupBreaker, ...input.groupBreaker },
  };
}

/** The retryOn classes, in ROUTES.retryOn bit order (bit i = RETRY_ON_CLASSES[i]). */
export const RETRY_ON_CLASSES = ["connect-failure", "reset", "timeout", "gateway-error", "5xx"] as const satisfies readonly RetryOn[];

/**
 * A route's retry policy: wasm/reference/retry.ts RetryPolicy without `timeoutMs`, which is the
 * route's own total timeout (Envoy's route timeout, retries included).
 */
export type RouteRetry = Omit<RetryPolicy, "timeoutMs">;

/** RETRY_DEFAULTS without timeoutMs: retry connect failures once, 25–250 ms back-off, budget 20 % / 3. */
export const ROUTE_RETRY_DEFAULTS: RouteRetry = (({ timeoutMs: _total, ...rest }) => rest)(RETRY_DEFAULTS);

/** The full retry policy for a partial input. @example resolveRetry({ numRetries: 2 }).retryOn // → ["connect-failure"] */
export function resolveRetry(input: Partial<RouteRetry>): RouteRetry {
  return { ...ROUTE_RETRY_DEFAULTS, ...input };
}

/** Whether `n` is prime (trial division; n ≤ 65537 here, so ≤ 256 steps). Maglev table sizes must be. */
export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}
