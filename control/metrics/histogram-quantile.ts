/**
 * The φ-quantile of a bucketed histogram, computed as PromQL's `histogram_quantile` does
 * (prometheus/promql/quantile.go bucketQuantile): find the bucket holding rank φ × count and
 * interpolate linearly inside it, the first bucket starting at 0; a rank in the +Inf bucket
 * gives the highest finite bound. Pure.
 */

/**
 * @param q the quantile, 0 ≤ q ≤ 1 (e.g. 0.99).
 * @param bounds finite upper bounds, ascending (seconds, say).
 * @param buckets counts per bucket, NOT cumulative, `bounds.length + 1` entries (the last: +Inf).
 * @returns the estimate in the unit of `bounds`; null when there are no observations.
 * @throws RangeError when `buckets` does not have `bounds.length + 1` entries or q is outside [0, 1].
 */
export function histogramQuantile(q: number, bounds: readonly number[], buckets: readonly number[]): number | null {
  if (buckets.length !== bounds.length + 1) throw new RangeError(`${buckets.length} buckets for ${bounds.length} bounds`);
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile ${q} outside [0, 1]`);
  const total = buckets.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < bounds.length; i++) {
    const upTo = below + buckets[i];
    if (upTo >= rank && buckets[i] > 0) {
      const lower = i === 0 ? Math.min(0, bounds[0]) : bounds[i - 1];
      return lower + (bounds[i] - lower) * ((rank - below) / buckets[i]);
    }
    below = upTo;
  }
  return bounds[bounds.length - 1];
}
