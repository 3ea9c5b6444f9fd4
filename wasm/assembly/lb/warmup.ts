/**
 * Slow start (OCTO Dorado warmup; Dubbo alike): effective weight ⌊w · elapsed / warmupMs⌋, at
 * least 1, full once elapsed ≥ warmupMs. Port of wasm/reference/warmup.ts.
 */

/** Example: weight 10,000,000, warmup 60 s, 15 s in → 2,500,000. */
export function warmupWeight(weight: f64, sinceMs: f64, nowMs: f64, warmupMs: f64): f64 {
  const elapsed = nowMs - sinceMs;
  if (warmupMs <= 0 || elapsed >= warmupMs) return weight;
  if (elapsed <= 0) return 1;
  return Math.max(1, Math.floor((weight * elapsed) / warmupMs));
}
