/**
 * The queue-proxy's load arithmetic, pure: a time-weighted average of requests in flight
 * (Knative's queue-proxy reports the same "average concurrency"), and the admission rule for a
 * containerConcurrency limit with a FIFO queue of QUEUE_DEPTH_FACTOR × the limit.
 *
 * @example one request for the first 500 ms of a 1000 ms window, two for the next 500 ms:
 *   (1 × 500 + 2 × 500) / 1000 = 1.5
 */

/** Queue depth per admitted slot: containerConcurrency N queues up to 10 × N more (Knative's queue depth). */
export const QUEUE_DEPTH_FACTOR = 10;

/** In-flight count integrated over time since `windowStartMs`. Immutable: every change returns a new one. */
export interface ConcurrencyMeter {
  /** Requests in flight now. */
  inFlight: number;
  /** Start of the current measuring window, ms (any monotonic clock, the same for every call). */
  windowStartMs: number;
  /** When `inFlight` last changed or the area was last brought up to date, ms. */
  lastMs: number;
  /** Σ inFlight × duration over the window up to `lastMs`, in request·ms. */
  areaMs: number;
}

/** A meter with nothing in flight whose window starts at `nowMs`. */
export function startMeter(nowMs: number): ConcurrencyMeter {
  return { inFlight: 0, windowStartMs: nowMs, lastMs: nowMs, areaMs: 0 };
}

/** The meter after `delta` requests start (+1) or end (−1) at `nowMs`. A clock going backwards counts as no time. */
export function changeInFlight(meter: ConcurrencyMeter, nowMs: number, delta: number): ConcurrencyMeter {
  const elapsed = Math.max(0, nowMs - meter.lastMs);
  return {
    inFlight: Math.max(0, meter.inFlight + delta),
    windowStartMs: meter.windowStartMs,
    lastMs: Math.max(meter.lastMs, nowMs),
    areaMs: meter.areaMs + meter.inFlight * elapsed,
  };
}

/**
 * The average in flight over the window ending at `nowMs`, and the meter for the next window
 * (starting at `nowMs`, same requests in flight). An empty window (0 ms) reports what is in flight now.
 */
export function readMeter(meter: ConcurrencyMeter, nowMs: number): { concurrency: number; windowMs: number; next: ConcurrencyMeter } {
  const upToDate = changeInFlight(meter, nowMs, 0);
  const windowMs = upToDate.lastMs - meter.windowStartMs;
  const concurrency = windowMs > 0 ? upToDate.areaMs / windowMs : meter.inFlight;
  return { concurrency, windowMs, next: { inFlight: meter.inFlight, windowStartMs: upToDate.lastMs, lastMs: upToDate.lastMs, areaMs: 0 } };
}

/** What the queue-proxy does with an arriving request. */
export type Admission = "run" | "queue" | "reject";

/**
 * @param limit containerConcurrency: most requests in flight at once (0 = unlimited).
 * @param inFlight requests running now; @param queued requests waiting now.
 * @returns `run` below the limit, `queue` while fewer than QUEUE_DEPTH_FACTOR × limit wait,
 *   else `reject` (the caller answers 503 overflow).
 */
export function admit(limit: number, inFlight: number, queued: number): Admission {
  if (limit === 0 || (inFlight < limit && queued === 0)) return "run";
  return queued < QUEUE_DEPTH_FACTOR * limit ? "queue" : "reject";
}
