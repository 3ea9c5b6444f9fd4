/**
 * Ring hash (ketama; Envoy's ring_hash with xxHash64). Each node puts `count` points on a
 * 64-bit ring at xxHash64("<address>_<i>"), i = 0…count−1; a request hash goes to the first
 * point ≥ it, wrapping to the first point (Envoy ports ketama_get_server; a lower-bound search
 * finds the same point). Ring size is bounded by minRingSize 1024 (Envoy's default) and maxRingSize
 * 1M (Envoy's is 8M; the gateway preallocates rings inside a 128 MB isolate). Build O(R log R) for R points; pick O(log R).
 *
 * Point counts. Envoy scales so the least-weighted node gets ⌈minRingSize · wmin/Σw⌉ points,
 * which depends on the number of nodes: at 10 equal nodes each gets 103, at 9 each gets 114, so
 * removing one node also adds points to the others and moves ~18 % of keys instead of ~10 %.
 * `scale: "stable"` (the default) rounds that per-unit count up to a power of two (128 in both
 * cases), so adding or removing a node usually leaves every other node's points untouched and
 * only the removed node's keys move; the ring is then between 1× and 2× minRingSize.
 * `scale: "envoy"` reproduces Envoy's counts (running sums over nodes in address order).
 */
import { type Random, randomU64 } from "./random.ts";
import type { Balancer, BalancerNode, PickContext } from "./types.ts";
import { xxHash64Text } from "./xxhash64.ts";

export interface RingHashConfig {
  minRingSize: number;
  maxRingSize: number;
  scale: "stable" | "envoy";
}

export const RING_HASH_DEFAULTS: RingHashConfig = { minRingSize: 1024, maxRingSize: 1_048_576, scale: "stable" };

/** A built ring: sorted point hashes and, per point, the index of its node. */
export interface Ring {
  hashes: BigUint64Array;
  owners: Uint32Array;
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Points per node, in the order of `weights` (integers > 0). */
export function ringPointCounts(weights: readonly number[], config: RingHashConfig): number[] {
  if (weights.length === 0) return [];
  const total = weights.reduce((a, b) => a + b, 0);
  const minWeight = Math.min(...weights);
  if (config.scale === "envoy") {
    // Envoy: scale = min(ceil(minNorm · minRingSize) / minNorm, maxRingSize); running sums.
    const minNorm = minWeight / total;
    const scale = Math.min(Math.ceil(minNorm * config.minRingSize) / minNorm, config.maxRingSize);
    const counts: number[] = [];
    let current = 0;
    let target = 0;
    for (const weight of weights) {
      target += (scale * weight) / total;
      let i = 0;
      while (current < target) {
        i++;
        current++;
      }
      counts.push(i);
    }
    return counts;
  }
  // Stable: points per unit of the smallest weight, rounded up to a power of two.
  let perUnit = nextPowerOfTwo(Math.ceil((config.minRingSize * minWeight) / total));
  const countsFor = (k: number) => weights.map((w) => Math.max(1, Math.round((k * w) / minWeight)));
  let counts = countsFor(perUnit);
  if (counts.reduce((a, b) => a + b, 0) > config.maxRingSize) {
    perUnit = Math.max(1, Math.floor((config.maxRingSize * minWeight) / total));
    counts = countsFor(perUnit);
  }
  return counts;
}

/** Builds the ring over `nodes` (their `address` and `weight`). */
export function buildRing(nodes: readonly BalancerNode[], config: RingHashConfig): Ring {
  // Address order, so every gateway builds the same ring whatever the snapshot's order.
  const order = nodes.map((_, i) => i).sort((a, b) => compareText(nodes[a]!.address, nodes[b]!.address));
  const counts = ringPointCounts(
    order.map((i) => nodes[i]!.weight),
    config,
  );
  const points: { hash: bigint; owner: number }[] = [];
  order.forEach((nodeIndex, k) => {
    const address = nodes[nodeIndex]!.address;
    for (let i = 0; i < counts[k]!; i++) points.push({ hash: xxHash64Text(`${address}_${i}`), owner: nodeIndex });
  });
  // Equal hashes (vanishingly rare) keep address order: the sort is stable.
  points.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  return { hashes: BigUint64Array.from(points, (p) => p.hash), owners: Uint32Array.from(points, (p) => p.owner) };
}

/** Index of the first point ≥ `hash`, wrapping to 0. O(log R). */
export function ringLookup(ring: Ring, hash: bigint): number {
  let low = 0;
  let high = ring.hashes.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (ring.hashes[mid]! < hash) low = mid + 1;
    else high = mid;
  }
  return low === ring.hashes.length ? 0 : low;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Ring hash balancer. No hash → a random one (Envoy). Attempt n > 0 takes the point n places
 * further on (Envoy: "behave as if this host was not in the ring"; not always another host).
 */
export function createRingHashBalancer(nodes: readonly BalancerNode[], config: RingHashConfig, random: Random): Balancer & { ring: Ring } {
  const ring = buildRing(nodes, config);
  return {
    ring,
    pick(ctx: PickContext) {
      if (ring.hashes.length === 0) return null;
      let index = ringLookup(ring, ctx.hash ?? randomU64(random));
      if (ctx.attempt > 0) index = (index + ctx.attempt) % ring.hashes.length;
      return nodes[ring.owners[index]!]!;
    },
  };
}
