/**
 * A fixed-window counter as APISIX limit-count's `local` policy (lua-resty-limit-traffic
 * resty.limit.count over a shared dict with a TTL): the window of a key starts at its first
 * request and lasts `windowMs`; every request in it counts, rejected ones included, so a client
 * that keeps hammering stays rejected until the window ends. Pure: time is passed in (Unix ms).
 */

/** One key's window: how many requests it has seen and when it ends (Unix ms). */
export interface FixedWindow {
  count: number;
  resetAtMs: number;
}

/** The outcome of one request. */
export interface CountDecision {
  allowed: boolean;
  /** Requests left in the window after this one (≥ 0). */
  remaining: number;
  /** Until the window ends, ms (> 0). */
  resetMs: number;
}

/**
 * Counts one request at `nowMs` into `window` (mutated; a window that has ended restarts at
 * `nowMs`). Allowed while the window's count, this request included, is at most `limit`.
 * @param limit requests per window (≥ 1); @param windowMs the window's length, ms (≥ 1)
 */
export function countFixedWindow(window: FixedWindow, limit: number, windowMs: number, nowMs: number): CountDecision {
  if (nowMs >= window.resetAtMs || window.resetAtMs - nowMs > windowMs) {
    // Ended, or a clock that went back further than a window: start over.
    window.count = 0;
    window.resetAtMs = nowMs + windowMs;
  }
  window.count++;
  return { allowed: window.count <= limit, remaining: Math.max(0, limit - window.count), resetMs: window.resetAtMs - nowMs };
}
