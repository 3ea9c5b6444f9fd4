/**
 * The leaky bucket of APISIX limit-req (lua-resty-limit-traffic resty.limit.req, nginx
 * limit_req): `excess` requests wait in the bucket, which drains at `rate` requests per second.
 * A request adds one: `excess = max(excess − rate × elapsed, 0) + 1` wait, precisely
 * `max(excess − rate × elapsed / 1000 + 1, 0)` as resty.limit.req computes it, counting the
 * request itself once the bucket is not empty. Above `burst` it is rejected (and leaves the
 * bucket as it was); otherwise it is delayed by `excess / rate` seconds (APISIX sleeps when that
 * is ≥ 1 ms and `nodelay` is off). Pure: time is passed in (Unix ms).
 */

/** One key's bucket: excess requests (fractional) as of `lastMs` (Unix ms). */
export interface LeakyBucket {
  excess: number;
  lastMs: number;
}

/** The outcome of one request: rejected (with how long until it would fit), or let through after `delayMs`. */
export type LeakyDecision = { allowed: false; retryAfterMs: number } | { allowed: true; delayMs: number };

/**
 * Admits one request at `nowMs` into `bucket` (mutated only when allowed). A bucket never used
 * has `lastMs` NaN: its first request has no excess.
 * @param rate req/s (> 0); @param burst requests above the rate that may wait (≥ 0)
 */
export function admitLeaky(bucket: LeakyBucket, rate: number, burst: number, nowMs: number): LeakyDecision {
  let excess = 0;
  if (!Number.isNaN(bucket.lastMs)) {
    const elapsedMs = Math.abs(nowMs - bucket.lastMs);
    excess = Math.max(bucket.excess - (rate * elapsedMs) / 1000 + 1, 0);
    if (excess > burst) return { allowed: false, retryAfterMs: ((excess - burst) / rate) * 1000 };
  }
  bucket.excess = excess;
  bucket.lastMs = nowMs;
  return { allowed: true, delayMs: (excess / rate) * 1000 };
}

/**
 * From when (Unix ms) a new request would find no excess, as a bucket never used: the key can be
 * forgotten then. Later than the bucket's draining, since a request adds one to what is left.
 */
export function leakyForgettableAtMs(bucket: LeakyBucket, rate: number): number {
  return bucket.lastMs + ((bucket.excess + 1) / rate) * 1000;
}
