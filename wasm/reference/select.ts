/**
 * One instance for one attempt: the order of steps the WASM port follows.
 * 0. the outlier detector's sweep, when an interval has passed (an isolate has no timer);
 * 1. route rules: eligibility, lane, cell (route-rules.ts);
 * 2. health: not ejected by outlier detection and breaker available (closed, or open past its
 *    window — the pick then becomes the half-open probe);
 * 3. role: primaries when any primary is healthy, else backups when any backup is healthy,
 *    else all primaries (OCTO: backups only when no primary is healthy);
 * 4. panic (Envoy healthy_panic_threshold 50 %): when the healthy share of that tier is below
 *    the threshold, balance over the whole tier, healthy or not, and count it (fail open);
 * 5. zone affinity: weight factors, or the nearest-zone filter for kinds that ignore weights;
 * 6. effective weights: configured × zone factor × warmup ramp (weight-following kinds only);
 * 7. a retry prefers an instance not yet tried: excluded from the nodes while others remain
 *    (hash kinds instead step `attempt`, as Envoy, up to HOST_SELECTION_ATTEMPTS times);
 * 8. the balancer picks; an OPEN breaker past its window turns HALF_OPEN with this as the probe.
 */
import {
  BALANCER_DEFAULTS,
  type BalancerConfig,
  type BalancerKind,
  createBalancer,
  isHashBalancer,
  usesDynamicWeights,
} from "./balancers.ts";
import type { GroupRuntime } from "./group-runtime.ts";
import { breakerAvailable, breakerOnPick, INSTANCE_BREAKER_DEFAULTS, type InstanceBreakerConfig } from "./instance-breaker.ts";
import type { InstanceState } from "./instance-state.ts";
import { OUTLIER_DEFAULTS, type OutlierConfig, sweepIfDue } from "./outlier.ts";
import type { Random } from "./random.ts";
import { applyRouteRules, type Caller, nearestZone, ROUTE_RULE_DEFAULTS, type RouteRuleConfig, zoneFactorPpm } from "./route-rules.ts";
import { type Balancer, type BalancerNode, type InstanceView, ROLE_BACKUP, ROLE_PRIMARY } from "./types.ts";
import { warmupWeight } from "./warmup.ts";

/** Envoy host_selection_retry_max_attempts, for hash balancers on a retry. */
export const HOST_SELECTION_ATTEMPTS = 3;

export interface GroupPolicy {
  balancer: BalancerKind;
  balancerConfig: BalancerConfig;
  rules: RouteRuleConfig;
  /** Healthy share below which the tier is balanced as if all were healthy, percent (Envoy 50). */
  panicThresholdPct: number;
  breaker: InstanceBreakerConfig;
  outlier: OutlierConfig;
}

export const GROUP_POLICY_DEFAULTS: GroupPolicy = {
  balancer: "swrr",
  balancerConfig: BALANCER_DEFAULTS,
  rules: ROUTE_RULE_DEFAULTS,
  panicThresholdPct: 50,
  breaker: INSTANCE_BREAKER_DEFAULTS,
  outlier: OUTLIER_DEFAULTS,
};

export interface SelectRequest {
  caller: Caller;
  hash: bigint | null;
  /** Instance ids already tried by this request. */
  tried: readonly number[];
  nowMs: number;
}

export interface Selection {
  node: BalancerNode | null;
  panic: boolean;
  tier: "primary" | "backup" | "none";
  /** This attempt is its instance's half-open probe. */
  probe: boolean;
}

function stateOf(group: GroupRuntime, id: number): InstanceState {
  const state = group.states.get(id);
  if (!state) throw new Error(`no state record for instance ${id}`);
  return state;
}

export function isHealthy(state: InstanceState, nowMs: number, breaker: InstanceBreakerConfig): boolean {
  return !state.ejected && breakerAvailable(state, nowMs, breaker);
}

/** Steps 1–4: the instances to balance over, whether in panic, and which tier. O(n). */
export function planCandidates(group: GroupRuntime, policy: GroupPolicy, caller: Caller, nowMs: number) {
  const allowed = applyRouteRules(group.instances, caller, policy.rules);
  const healthy = (i: InstanceView) => isHealthy(stateOf(group, i.id), nowMs, policy.breaker);
  const primaries = allowed.filter((i) => i.role === ROLE_PRIMARY);
  const backups = allowed.filter((i) => i.role === ROLE_BACKUP);
  let tier: InstanceView[];
  let tierName: Selection["tier"];
  if (primaries.some(healthy) || (primaries.length > 0 && !backups.some(healthy))) [tier, tierName] = [primaries, "primary"];
  else if (backups.length > 0) [tier, tierName] = [backups, "backup"];
  else return { candidates: [] as InstanceView[], panic: false, tier: "none" as const };
  const healthyOnes = tier.filter(healthy);
  const panic = healthyOnes.length * 100 < policy.panicThresholdPct * tier.length;
  return { candidates: panic ? tier : healthyOnes, panic, tier: tierName };
}

/** Steps 5–6: balancer nodes with effective weights. */
export function balancerNodes(
  group: GroupRuntime,
  candidates: readonly InstanceView[],
  policy: GroupPolicy,
  caller: Caller,
  nowMs: number,
): BalancerNode[] {
  if (!usesDynamicWeights(policy.balancer)) {
    return nearestZone(candidates, caller).map((i) => ({ id: i.id, address: i.address, weight: i.weight, state: stateOf(group, i.id) }));
  }
  return candidates.map((i) => {
    const state = stateOf(group, i.id);
    const scaled = i.weight * zoneFactorPpm(i, caller, policy.rules);
    return { id: i.id, address: i.address, weight: warmupWeight(scaled, state.healthySinceMs, nowMs, i.warmupMs), state };
  });
}

/**
 * Steps 1–8. `cache` keeps hash balancers by node set and weights (their tables are the
 * expensive part); weight-following kinds are rebuilt per call, their state being in the records.
 */
export function selectInstance(
  group: GroupRuntime,
  policy: GroupPolicy,
  request: SelectRequest,
  random: Random,
  cache?: Map<string, Balancer>,
): Selection {
  sweepIfDue(group.outlier, request.nowMs, policy.outlier, random);
  const { candidates, panic, tier } = planCandidates(group, policy, request.caller, request.nowMs);
  if (panic) group.counters.panicCount++;
  let nodes = balancerNodes(group, candidates, policy, request.caller, request.nowMs);
  const hashKind = isHashBalancer(policy.balancer);
  if (!hashKind && request.tried.length > 0) {
    const untried = nodes.filter((n) => !request.tried.includes(n.id));
    if (untried.length > 0) nodes = untried;
  }
  let balancer: Balancer;
  if (hashKind && cache) {
    const key = `${policy.balancer}|${nodes.map((n) => `${n.id}:${n.weight}`).join(",")}`;
    balancer = cache.get(key) ?? createBalancer(policy.balancer, nodes, policy.balancerConfig, random);
    cache.set(key, balancer);
  } else {
    balancer = createBalancer(policy.balancer, nodes, policy.balancerConfig, random);
  }
  let node: BalancerNode | null = null;
  const attempts = hashKind && request.tried.length > 0 ? HOST_SELECTION_ATTEMPTS : 1;
  for (let attempt = 0; attempt < attempts; attempt++) {
    node = balancer.pick({ nowMs: request.nowMs, hash: request.hash, attempt });
    if (node === null || !request.tried.includes(node.id)) break;
  }
  const probe = node !== null && breakerOnPick(node.state, request.nowMs, policy.breaker);
  return { node, panic, tier: node === null ? "none" : tier, probe };
}
