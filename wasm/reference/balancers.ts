/**
 * The balancers by name, as APISIX loads `apisix/balancer/<type>.lua`: one interface
 * (types.ts `Balancer`), one constructor per kind. Which rules reach a kind as weights and which
 * as filters is decided here, once (docs/balancing.md, "Which rule acts how").
 */

import type { BalancerKind } from "./balancer-kinds.ts";
import { createLeastRequestBalancer, LEAST_REQUEST_DEFAULTS, type LeastRequestConfig } from "./least-request.ts";
import { createMaglevBalancer, MAGLEV_DEFAULTS, type MaglevConfig } from "./maglev.ts";
import { createPeakEwmaBalancer, PEAK_EWMA_DEFAULTS, type PeakEwmaConfig } from "./peak-ewma.ts";
import type { Random } from "./random.ts";
import { createRingHashBalancer, RING_HASH_DEFAULTS, type RingHashConfig } from "./ring-hash.ts";
import { createSwrrBalancer } from "./swrr.ts";
import type { Balancer, BalancerNode } from "./types.ts";
import { createWeightedRandomBalancer } from "./weighted-random.ts";

/** Balancer kinds (declared in balancer-kinds.ts); the index is GROUPS.balancer. */
export { BALANCER_KINDS, type BalancerKind } from "./balancer-kinds.ts";

export interface BalancerConfig {
  leastRequest: LeastRequestConfig;
  peakEwma: PeakEwmaConfig;
  ringHash: RingHashConfig;
  maglev: MaglevConfig;
}

export const BALANCER_DEFAULTS: BalancerConfig = {
  leastRequest: LEAST_REQUEST_DEFAULTS,
  peakEwma: PEAK_EWMA_DEFAULTS,
  ringHash: RING_HASH_DEFAULTS,
  maglev: MAGLEV_DEFAULTS,
};

/**
 * Kinds whose picks follow per-pick weights: zone factors and the warmup ramp reach them as
 * weights. The others get zone affinity as a filter and no warmup — peak EWMA ignores weights
 * (APISIX), and changing a hash balancer's weights would move keys (Envoy applies slow start
 * to round robin and least request only).
 */
export function usesDynamicWeights(kind: BalancerKind): boolean {
  return kind === "swrr" || kind === "random" || kind === "least-request";
}

/** Kinds that map a request hash to a node. */
export function isHashBalancer(kind: BalancerKind): boolean {
  return kind === "ring-hash" || kind === "maglev";
}

/** The balancer `kind` over `nodes`. Hash kinds build their table here (the expensive part). */
export function createBalancer(kind: BalancerKind, nodes: readonly BalancerNode[], config: BalancerConfig, random: Random): Balancer {
  switch (kind) {
    case "swrr":
      return createSwrrBalancer(nodes);
    case "random":
      return createWeightedRandomBalancer(nodes, random);
    case "least-request":
      return createLeastRequestBalancer(nodes, config.leastRequest, random);
    case "peak-ewma":
      return createPeakEwmaBalancer(nodes, config.peakEwma, random);
    case "ring-hash":
      return createRingHashBalancer(nodes, config.ringHash, random);
    case "maglev":
      return createMaglevBalancer(nodes, config.maglev, random);
  }
}
