/**
 * Smooth weighted round robin, as nginx's ngx_http_upstream_get_peer: every node's current
 * weight (its record's swrrCurrent, f64) grows by its weight, the largest wins (first on ties)
 * and drops by the total. 5:1:1 gives a a b a c a a. Port of wasm/reference/swrr.ts.
 */
import { record } from "./generation";
import { R_SWRR } from "./records";

/**
 * One SWRR step over the first `n` nodes (u32 instance indices at `nodes`) with their weights
 * (f64 > 0 at `weights`). O(n).
 * @returns the instance index, or −1 when n is 0.
 */
export function pickSmoothWeighted(nodes: usize, weights: usize, n: u32): i32 {
  let best: i32 = -1;
  let bestCurrent: f64 = 0;
  let total: f64 = 0;
  for (let k: u32 = 0; k < n; k++) {
    const i = load<u32>(nodes + (<usize>k << 2));
    const w = load<f64>(weights + (<usize>k << 3));
    const r = record(i) + R_SWRR;
    const current = load<f64>(r) + w;
    store<f64>(r, current);
    total += w;
    if (best < 0 || current > bestCurrent) {
      best = <i32>i;
      bestCurrent = current;
    }
  }
  if (best >= 0) store<f64>(record(<u32>best) + R_SWRR, bestCurrent - total);
  return best;
}
