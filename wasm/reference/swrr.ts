/**
 * Smooth weighted round robin, as nginx's ngx_http_upstream_get_peer
 * (src/http/ngx_http_upstream_round_robin.c): on each pick every node's current weight grows by
 * its weight, the largest current weight wins (the first on ties) and the winner's current weight
 * drops by the total. Weights 5:1:1 give a a b a c a a, repeating: spread out, not bursty.
 * The current weight lives in the instance's record (f64, `swrrCurrent`), so it survives snapshot
 * swaps and rebuilds; nginx resets it on reload. nginx's passive `effective_weight` feedback is
 * left out: outlier detection and the breakers do that job here.
 */
import type { Balancer, BalancerNode } from "./types.ts";

/**
 * One SWRR step over `nodes` with weights `weightOf(node)` (> 0). Weights may change between
 * picks (least request feeds `weight / (active + 1)^bias`): the step stays well defined and
 * the current weights keep summing to 0. O(n).
 */
export function pickSmoothWeighted(nodes: readonly BalancerNode[], weightOf: (node: BalancerNode) => number): BalancerNode | null {
  let best: BalancerNode | null = null;
  let total = 0;
  for (const node of nodes) {
    const weight = weightOf(node);
    node.state.swrrCurrent += weight;
    total += weight;
    if (best === null || node.state.swrrCurrent > best.state.swrrCurrent) best = node;
  }
  if (best !== null) best.state.swrrCurrent -= total;
  return best;
}

/** SWRR over the nodes' effective weights. */
export function createSwrrBalancer(nodes: readonly BalancerNode[]): Balancer {
  const weightOf = (node: BalancerNode) => node.weight;
  return { pick: () => pickSmoothWeighted(nodes, weightOf) };
}
