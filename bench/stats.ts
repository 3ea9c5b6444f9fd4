/** Order statistics shared by the benches. */

/** Nearest-rank percentile `p` (0…1) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  return sorted.length > 0 ? (sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] as number) : Number.NaN;
}

/** The middle value of `xs` (of an even count, the upper of the two middle ones). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}
