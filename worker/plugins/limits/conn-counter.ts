/**
 * The concurrency counter of APISIX limit-conn (lua-resty-limit-traffic resty.limit.conn): a
 * request raises its key's count; above `conn + burst` it is rejected (and the count restored);
 * above `conn` it is delayed by `unitDelayMs × floor((count − 1) / conn)`; its end lowers the
 * count. APISIX adapts the unit delay to the observed latency unless `only_use_default_delay`;
 * Sluice always uses the configured `delayMs` (predictable, and the same on every isolate).
 * Pure: the count is passed in.
 */

/** One key's concurrent requests. */
export interface ConnCount {
  active: number;
}

/** The outcome of one request's arrival. */
export type ConnDecision = { allowed: false } | { allowed: true; delayMs: number };

/**
 * Counts one arriving request into `counter` (mutated only when allowed).
 * @param conn concurrent requests let through at once (≥ 1); @param burst more that are delayed (≥ 0)
 * @param unitDelayMs the delay per `conn` excess requests, ms
 */
export function enterConn(counter: ConnCount, conn: number, burst: number, unitDelayMs: number): ConnDecision {
  const active = counter.active + 1;
  if (active > conn + burst) return { allowed: false };
  counter.active = active;
  return { allowed: true, delayMs: active > conn ? unitDelayMs * Math.floor((active - 1) / conn) : 0 };
}

/** One request of `counter` has ended (never below zero). */
export function leaveConn(counter: ConnCount): void {
  if (counter.active > 0) counter.active--;
}
