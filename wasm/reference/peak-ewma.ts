/**
 * Peak EWMA latency balancing. Decay as APISIX's `ewma` balancer (apisix/balancer/ewma.lua:
 * w = exp(−Δt / τ), τ = DECAY_TIME 10 s; ewma = ewma·w + rtt·(1 − w); a read decays toward 0,
 * so an idle host's old latency fades and it gets tried again) and P2C over two distinct nodes
 * (PICK_SET_SIZE 2). Two additions from Finagle/Linkerd's PeakEwma: a sample above the stored
 * value replaces it at once ("peak": a host that turns slow is avoided on the next pick, not
 * after a τ), and the cost is ewma × (active + 1), so a fast host with a queue is not flooded.
 * Weights are ignored, as in APISIX; zone affinity reaches it as a filter (select.ts).
 */
import type { InstanceState } from "./instance-state.ts";
import { type Random, randomBelow } from "./random.ts";
import type { Balancer, BalancerNode } from "./types.ts";

export interface PeakEwmaConfig {
  /** τ of the exponential decay, ms (APISIX DECAY_TIME 10 s). */
  decayMs: number;
}

export const PEAK_EWMA_DEFAULTS: PeakEwmaConfig = { decayMs: 10_000 };

/**
 * The stored EWMA decayed to `nowMs`. Example: 100 ms stored 10 s ago, τ = 10 s →
 * 100 · e^−1 ≈ 36.79 ms.
 */
export function decayedEwma(state: InstanceState, nowMs: number, decayMs: number): number {
  const dt = Math.max(nowMs - state.ewmaStampMs, 0);
  return state.ewmaMs * Math.exp(-dt / decayMs);
}

/**
 * Folds one latency sample in. Example: stored 100 ms at t = 1 s, sample 50 ms at t = 2 s:
 * w = e^−0.1 ≈ 0.904837 → 100·0.904837 + 50·0.095163 ≈ 95.24 ms. A sample of 500 ms → 500 ms.
 */
export function observeLatency(state: InstanceState, latencyMs: number, nowMs: number, decayMs: number): void {
  if (latencyMs > state.ewmaMs) {
    state.ewmaMs = latencyMs;
  } else {
    const w = Math.exp(-Math.max(nowMs - state.ewmaStampMs, 0) / decayMs);
    state.ewmaMs = state.ewmaMs * w + latencyMs * (1 - w);
  }
  state.ewmaStampMs = nowMs;
}

/** The cost compared by P2C: decayed EWMA × (active + 1). Lower is better. */
export function ewmaCost(state: InstanceState, nowMs: number, decayMs: number): number {
  return decayedEwma(state, nowMs, decayMs) * (state.active + 1);
}

/**
 * P2C over two distinct random nodes (one node: that node); the lower cost wins, the first drawn
 * on ties. A node with no sample costs 0 and is tried at once, as in APISIX. O(1) per pick.
 */
export function pickPeakEwma(nodes: readonly BalancerNode[], nowMs: number, config: PeakEwmaConfig, random: Random): BalancerNode | null {
  if (nodes.length <= 1) return nodes[0] ?? null;
  const i = randomBelow(random, nodes.length);
  let j = randomBelow(random, nodes.length - 1);
  if (j >= i) j += 1;
  const a = nodes[i]!;
  const b = nodes[j]!;
  return ewmaCost(b.state, nowMs, config.decayMs) < ewmaCost(a.state, nowMs, config.decayMs) ? b : a;
}

export function createPeakEwmaBalancer(nodes: readonly BalancerNode[], config: PeakEwmaConfig, random: Random): Balancer {
  return {
    pick: (ctx) => pickPeakEwma(nodes, ctx.nowMs, config, random),
    after: (node, latencyMs, nowMs) => observeLatency(node.state, latencyMs, nowMs, config.decayMs),
  };
}
