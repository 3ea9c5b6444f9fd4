/**
 * Least request, with Envoy's semantics (source/extensions/load_balancing_policies/least_request):
 * - all weights equal: power of two choices (Mitzenmacher, "The Power of Two Choices in
 *   Randomized Load Balancing", 2001) — draw `choiceCount` nodes at random, with replacement,
 *   and keep the one with the fewest active requests (the first drawn on ties);
 * - weights differ: schedule by the dynamic weight `weight / (active + 1)^bias` (bias 1.0).
 *   Envoy runs an EDF scheduler on it; Sluice runs smooth weighted round robin on the same
 *   dynamic weights, which gives the same long-run shares with one f64 of state per instance and
 *   no heap (exact sequences differ from Envoy's EDF).
 * Active requests are the record's `active`, counted by the caller.
 */
import { type Random, randomBelow } from "./random.ts";
import { pickSmoothWeighted } from "./swrr.ts";
import type { Balancer, BalancerNode } from "./types.ts";

export interface LeastRequestConfig {
  /** Nodes drawn per pick when weights are equal (Envoy choice_count, default 2). */
  choiceCount: number;
  /** Exponent on (active + 1) when weights differ (Envoy active_request_bias, default 1.0). */
  activeRequestBias: number;
}

export const LEAST_REQUEST_DEFAULTS: LeastRequestConfig = { choiceCount: 2, activeRequestBias: 1 };

/**
 * Dynamic weight of a node: `weight / (active + 1)^bias`.
 * Example: weight 10, 4 active, bias 1 → 10 / 5 = 2; bias 0 → 10.
 */
export function leastRequestWeight(weight: number, active: number, bias: number): number {
  if (bias === 0) return weight;
  const load = active + 1;
  return bias === 1 ? weight / load : weight / load ** bias;
}

/** P2C when the weights are equal, SWRR on dynamic weights otherwise. O(n) (the equality check). */
export function pickLeastRequest(nodes: readonly BalancerNode[], config: LeastRequestConfig, random: Random): BalancerNode | null {
  if (nodes.length === 0) return null;
  const first = nodes[0]!.weight;
  if (nodes.every((node) => node.weight === first)) {
    let candidate: BalancerNode | null = null;
    for (let i = 0; i < config.choiceCount; i++) {
      const sampled = nodes[randomBelow(random, nodes.length)]!;
      if (candidate === null || sampled.state.active < candidate.state.active) candidate = sampled;
    }
    return candidate;
  }
  const bias = config.activeRequestBias;
  return pickSmoothWeighted(nodes, (node) => leastRequestWeight(node.weight, node.state.active, bias));
}

export function createLeastRequestBalancer(nodes: readonly BalancerNode[], config: LeastRequestConfig, random: Random): Balancer {
  return { pick: () => pickLeastRequest(nodes, config, random) };
}
