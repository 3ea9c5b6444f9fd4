/**
 * Circuit breakers per group, after Envoy's cluster circuit breakers (max_requests and
 * max_pending_requests, 1024 each). A fetch-based gateway has no connection pool of its own to
 * queue in, so "pending" here means admitted requests waiting for a concurrency slot: up to
 * maxRequests run, up to maxPendingRequests more wait, the rest are refused at once (Envoy:
 * 503 with x-envoy-overloaded). The same record counts retries in flight (retry budget,
 * retry.ts) and panics (select.ts). Pure counters: the caller owns the queue.
 */

export interface GroupBreakerConfig {
  maxRequests: number;
  maxPendingRequests: number;
}

export const GROUP_BREAKER_DEFAULTS: GroupBreakerConfig = { maxRequests: 1024, maxPendingRequests: 1024 };

/** One per group (a WASM group record); survives snapshot swaps for groups that still exist. */
export interface GroupCounters {
  /** Client requests running against the group. */
  active: number;
  /** Admitted requests waiting for a slot. */
  pending: number;
  /** Retry attempts in flight. */
  activeRetries: number;
  /** Requests refused because both limits were full (Envoy upstream_rq_pending_overflow). */
  overflowCount: number;
  /** Retries refused by the retry budget (Envoy upstream_rq_retry_overflow). */
  retryOverflowCount: number;
  /** Picks made in panic mode (Envoy lb_healthy_panic). */
  panicCount: number;
}

export function createGroupCounters(): GroupCounters {
  return { active: 0, pending: 0, activeRetries: 0, overflowCount: 0, retryOverflowCount: 0, panicCount: 0 };
}

/**
 * Admits one client request: "run" takes a slot, "queue" waits (the caller runs it when
 * `finishRequest` frees a slot), "reject" is an overflow. O(1).
 */
export function admitRequest(counters: GroupCounters, config: GroupBreakerConfig): "run" | "queue" | "reject" {
  if (counters.active < config.maxRequests) {
    counters.active++;
    return "run";
  }
  if (counters.pending < config.maxPendingRequests) {
    counters.pending++;
    return "queue";
  }
  counters.overflowCount++;
  return "reject";
}

/**
 * A running request ended. When one is waiting it takes the slot at once.
 * @returns true when a queued request may now run.
 */
export function finishRequest(counters: GroupCounters): boolean {
  if (counters.pending > 0) {
    counters.pending--;
    return true;
  }
  counters.active = Math.max(0, counters.active - 1);
  return false;
}

/** A queued request gave up (client gone, total timeout) before it got a slot. */
export function abandonQueued(counters: GroupCounters): void {
  counters.pending = Math.max(0, counters.pending - 1);
}
