/**
 * The local sliding window of limit-count (`window: "sliding"`, `policy: "local"`): the
 * two-window estimate of nginx's and Cloudflare's rate limiting. Windows are aligned to the
 * clock (`floor(now / windowMs)`); the rate over the last `windowMs` is estimated as
 * `previous × (windowMs − elapsed) / windowMs + current`, assuming the previous window's requests
 * were spread evenly. A request is allowed when the estimate with it stays within `limit`; only
 * allowed requests count, so a rejected client regains quota as the window slides. Approximate
 * by design (O(1) memory per key); the cluster policy is exact (cluster-scripts.ts). Pure: time
 * is passed in (Unix ms).
 */
import type { CountDecision } from "./fixed-window.ts";

/** One key's two windows: the start of the current one (Unix ms) and both counts. */
export interface SlidingWindow {
  startMs: number;
  current: number;
  previous: number;
}

/** Moves `window` forward to the window containing `nowMs` (mutated). */
function advance(window: SlidingWindow, windowMs: number, nowMs: number): void {
  const start = Math.floor(nowMs / windowMs) * windowMs;
  if (start === window.startMs) return;
  window.previous = start - window.startMs === windowMs ? window.current : 0;
  window.current = 0;
  window.startMs = start;
}

/** The estimated requests over the last windowMs at nowMs (window already advanced). */
function estimate(window: SlidingWindow, windowMs: number, nowMs: number): number {
  return (window.previous * (windowMs - (nowMs - window.startMs))) / windowMs + window.current;
}

/**
 * Counts one request at `nowMs` into `window` (mutated) if the estimate allows it.
 * `resetMs` is how long until one more request would be allowed (at least 1 ms): when allowed
 * with quota left, until the current window ends.
 * @param limit requests per window (≥ 1); @param windowMs ms (≥ 1)
 */
export function countSlidingWindow(window: SlidingWindow, limit: number, windowMs: number, nowMs: number): CountDecision {
  advance(window, windowMs, nowMs);
  const before = estimate(window, windowMs, nowMs);
  const allowed = before + 1 <= limit;
  if (allowed) window.current++;
  const after = allowed ? before + 1 : before;
  const remaining = Math.max(0, Math.floor(limit - after));
  const resetMs = remaining > 0 ? window.startMs + windowMs - nowMs : waitForOne(window, limit, windowMs, nowMs);
  // The tolerance keeps float noise (300.0000000000001) from adding a millisecond.
  return { allowed, remaining, resetMs: Math.max(1, Math.ceil(resetMs - 1e-6)) };
}

/** ms from nowMs until the estimate leaves room for one request (estimate ≤ limit − 1). */
function waitForOne(window: SlidingWindow, limit: number, windowMs: number, nowMs: number): number {
  const elapsed = nowMs - window.startMs;
  const room = limit - 1;
  if (window.current <= room && window.previous > 0) {
    // previous × (W − e) / W + current ≤ room  ⇔  e ≥ W × (1 − (room − current) / previous)
    return Math.max(0, windowMs * (1 - (room - window.current) / window.previous) - elapsed);
  }
  if (window.current <= room) return 0;
  // Next window: the current count becomes the previous one and must decay to room.
  return windowMs - elapsed + windowMs * (1 - room / window.current);
}
