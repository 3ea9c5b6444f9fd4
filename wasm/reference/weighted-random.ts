/**
 * Weighted random: each pick is independent, node i chosen with probability
 * weight_i / Σ weight. Unlike Envoy's RANDOM (which ignores weights) it honours weights, zone
 * factors and warmup. Stateless apart from the random source.
 */
import { type Random, randomBelow } from "./random.ts";
import type { Balancer, BalancerNode } from "./types.ts";

/**
 * Draws r in [0, Σ weight) and walks the prefix sums: O(n) per pick, no table to rebuild when
 * warmup changes a weight. Integer weights keep the walk exact in f64 (Σ ≤ 2^53).
 */
export function pickWeightedRandom(nodes: readonly BalancerNode[], random: Random): BalancerNode | null {
  if (nodes.length === 0) return null;
  let total = 0;
  for (const node of nodes) total += node.weight;
  let r = randomBelow(random, total);
  for (const node of nodes) {
    if (r < node.weight) return node;
    r -= node.weight;
  }
  return nodes[nodes.length - 1]!;
}

export function createWeightedRandomBalancer(nodes: readonly BalancerNode[], random: Random): Balancer {
  return { pick: () => pickWeightedRandom(nodes, random) };
}
