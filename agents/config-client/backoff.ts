/**
 * Retry delays after failed requests to control: exponential from `initialMs` to `maxMs`
 * (1 s → 30 s by default), each drawn in [delay/2, delay] ("equal jitter") so that clients that
 * failed together do not retry together (Apollo #3592). Pure: the randomness is an argument.
 */

export interface BackoffSettings {
  /** The first delay's upper bound, ms (default 1000). */
  initialMs: number;
  /** The largest delay's upper bound, ms (default 30000). */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { initialMs: 1000, maxMs: 30_000 };

/**
 * @param failures consecutive failures so far (1 for the first).
 * @param random a number in [0, 1), e.g. Math.random().
 * @returns the wait before the next attempt, ms.
 */
export function backoffDelayMs(failures: number, random: number, settings: BackoffSettings = DEFAULT_BACKOFF): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 30);
  const ceiling = Math.min(settings.maxMs, settings.initialMs * 2 ** exponent);
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}
