/**
 * Slow start: a new or recovered instance's weight ramps linearly from (almost) 0 to its full
 * weight over its warmup window (OCTO Dorado's `warmup` seconds; Dubbo computes it the same
 * way). Applied as an effective-weight function, so every weight-following balancer gets it for
 * free. The ramp starts at the record's `healthySinceMs`: first seen alive, back to ALIVE in the
 * registry, or un-ejected by outlier detection.
 */

/**
 * Effective weight at `nowMs` for an integer `weight` whose ramp started at `sinceMs`:
 * ⌊weight · elapsed / warmupMs⌋, at least 1, full weight once elapsed ≥ warmupMs (or when
 * warmupMs ≤ 0). Example: weight 10 000 000, warmup 60 s, 15 s in → 2 500 000.
 */
export function warmupWeight(weight: number, sinceMs: number, nowMs: number, warmupMs: number): number {
  const elapsed = nowMs - sinceMs;
  if (warmupMs <= 0 || elapsed >= warmupMs) return weight;
  if (elapsed <= 0) return 1;
  return Math.max(1, Math.floor((weight * elapsed) / warmupMs));
}
