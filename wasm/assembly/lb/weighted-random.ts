/**
 * Weighted random: node k with probability w_k / Σw, from r = randomBelow(Σw) walked over the
 * prefix sums (exact in f64 for integer weights). Port of wasm/reference/weighted-random.ts.
 */
import { randomBelow } from "./random";

/** Over the first `n` nodes at `nodes` (u32) with weights at `weights` (f64). O(n). @returns the instance index, or −1 when n is 0. */
export function pickWeightedRandom(nodes: usize, weights: usize, n: u32): i32 {
  if (n == 0) return -1;
  let total: f64 = 0;
  for (let k: u32 = 0; k < n; k++) total += load<f64>(weights + (<usize>k << 3));
  let r = randomBelow(total);
  for (let k: u32 = 0; k < n; k++) {
    const w = load<f64>(weights + (<usize>k << 3));
    if (r < w) return <i32>load<u32>(nodes + (<usize>k << 2));
    r -= w;
  }
  return <i32>load<u32>(nodes + (<usize>(n - 1) << 2));
}
