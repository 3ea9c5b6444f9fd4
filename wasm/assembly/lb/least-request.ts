/**
 * Least request with Envoy's semantics: equal weights → power of two choices (Mitzenmacher
 * 2001; `choiceCount` draws with replacement, fewest active wins, first drawn on ties); unequal →
 * SWRR on the dynamic weight weight / (active + 1)^bias (Envoy uses EDF; same long-run shares).
 * Port of wasm/reference/least-request.ts.
 */
import { record, weights as scratchWeights } from "./generation";
import { randomBelow } from "./random";
import { R_ACTIVE } from "./records";
import { pickSmoothWeighted } from "./swrr";

/** weight / (active + 1)^bias. Example: weight 10, 4 active, bias 1 → 2. */
export function leastRequestWeight(weight: f64, active: u32, bias: f64): f64 {
  if (bias == 0) return weight;
  const load = <f64>active + 1;
  return bias == 1 ? weight / load : weight / Math.pow(load, bias);
}

/**
 * Over the first `n` nodes at `nodes` (u32) with weights at `weights` (f64). O(n) (the
 * equality check). The unequal path writes the dynamic weights to the scratch weights (which
 * may be `weights` itself: each is read before it is written) and runs SWRR over them.
 * @returns the instance index, or −1 when n is 0.
 */
export function pickLeastRequest(nodes: usize, weights: usize, n: u32, choiceCount: u32, bias: f64): i32 {
  if (n == 0) return -1;
  const first = load<f64>(weights);
  let equal = true;
  for (let k: u32 = 1; k < n && equal; k++) equal = load<f64>(weights + (<usize>k << 3)) == first;
  if (equal) {
    let best: i32 = -1;
    let bestActive: u32 = 0;
    for (let c: u32 = 0; c < choiceCount; c++) {
      const i = load<u32>(nodes + (<usize>(<u32>randomBelow(<f64>n)) << 2));
      const active = load<u32>(record(i) + R_ACTIVE);
      if (best < 0 || active < bestActive) {
        best = <i32>i;
        bestActive = active;
      }
    }
    return best;
  }
  for (let k: u32 = 0; k < n; k++) {
    const w = load<f64>(weights + (<usize>k << 3));
    store<f64>(scratchWeights + (<usize>k << 3), leastRequestWeight(w, load<u32>(record(load<u32>(nodes + (<usize>k << 2))) + R_ACTIVE), bias));
  }
  return pickSmoothWeighted(nodes, scratchWeights, n);
}
