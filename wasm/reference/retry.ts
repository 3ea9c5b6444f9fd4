/**
 * Whether and when to retry an attempt, per route (Envoy's retry policy, with Sluice's
 * idempotency rule):
 * - retryOn: `connect-failure` (nothing was sent), `reset` (no response after sending),
 *   `timeout` (the per-try timeout fired), `gateway-error` (502/503/504, or no response at all:
 *   Envoy counts a connect failure, reset or timeout as the 5xx it results in), `5xx` (any 5xx,
 *   or no response at all);
 * - a request whose method is not idempotent (RFC 9110 §9.2.2: not GET, HEAD, OPTIONS, TRACE,
 *   PUT, DELETE) is re-sent only after a connect failure — it never reached the upstream —
 *   unless the route allows it;
 * - numRetries (Envoy default 1) per request;
 * - retry budget: retries in flight < max(⌊20 % · (active + pending)⌋, 3) (Envoy
 *   retry_budget: budget_percent 20, min_retry_concurrency 3);
 * - full-jitter back-off: the Nth retry waits a uniform integer in [0, (2^N − 1) · 25 ms),
 *   capped at 250 ms (Envoy: "between 0-24 ms, 0-74 ms, 0-174 ms"); the range stops doubling
 *   once it passes the cap;
 * - no retry that would start after the route's total timeout (15 s, retries included).
 * The next try prefers another instance: select.ts excludes the instances already tried.
 */
import type { GroupCounters } from "./group-breaker.ts";
import { type Random, randomBelow } from "./random.ts";
import { isServerFailure, type Outcome } from "./types.ts";

export type RetryOn = "connect-failure" | "reset" | "timeout" | "gateway-error" | "5xx";

export interface RetryPolicy {
  retryOn: readonly RetryOn[];
  numRetries: number;
  /** Re-send non-idempotent requests after a response or reset (off: only after connect failure). */
  retryNonIdempotent: boolean;
  /** Total time for the request including retries, ms (Envoy route timeout 15 s). */
  timeoutMs: number;
  /** Per attempt, ms; 0 = only the total timeout. */
  perTryTimeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  budgetPercent: number;
  minRetryConcurrency: number;
}

export const RETRY_DEFAULTS: RetryPolicy = {
  retryOn: ["connect-failure"],
  numRetries: 1,
  retryNonIdempotent: false,
  timeoutMs: 15_000,
  perTryTimeoutMs: 0,
  backoffBaseMs: 25,
  backoffMaxMs: 250,
  budgetPercent: 20,
  minRetryConcurrency: 3,
};

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method.toUpperCase());
}

const GATEWAY_ERRORS = new Set([502, 503, 504]);

const RETRY_ON_TESTS: Record<RetryOn, (outcome: Outcome) => boolean> = {
  "connect-failure": (o) => o.failure === "connect",
  reset: (o) => o.failure === "reset",
  timeout: (o) => o.failure === "timeout",
  "gateway-error": (o) => GATEWAY_ERRORS.has(o.status) || o.failure !== undefined,
  "5xx": isServerFailure,
};

/** Whether `outcome` is one the policy retries on. */
export function matchesRetryOn(outcome: Outcome, retryOn: readonly RetryOn[]): boolean {
  return retryOn.some((on) => RETRY_ON_TESTS[on](outcome));
}

/** Retries allowed in flight: max(⌊percent · (active + pending) / 100⌋, minimum). Example: 14 active → ⌊2.8⌋ = 2 → 3. */
export function retryBudget(counters: GroupCounters, policy: RetryPolicy): number {
  return Math.max(Math.floor((policy.budgetPercent * (counters.active + counters.pending)) / 100), policy.minRetryConcurrency);
}

/** Exclusive upper bound of the Nth retry's back-off, before the cap. Example: N = 3 → 7 · 25 = 175. */
export function backoffRangeMs(retry: number, policy: RetryPolicy): number {
  let range = policy.backoffBaseMs;
  for (let n = 1; n < retry && range <= policy.backoffMaxMs; n++) range = (2 ** (n + 1) - 1) * policy.backoffBaseMs;
  return range;
}

/** Full-jitter back-off before the Nth retry (N ≥ 1), ms: min(uniform [0, range), max). */
export function backoffMs(retry: number, policy: RetryPolicy, random: Random): number {
  return Math.min(randomBelow(random, backoffRangeMs(retry, policy)), policy.backoffMaxMs);
}

/** Deadline of an attempt starting at `nowMs` of a request that started at `startMs`. */
export function tryDeadlineMs(startMs: number, nowMs: number, policy: RetryPolicy): number {
  const total = startMs + policy.timeoutMs;
  return policy.perTryTimeoutMs > 0 ? Math.min(nowMs + policy.perTryTimeoutMs, total) : total;
}

export type RetryDecision =
  | { retry: true; delayMs: number; retryNumber: number }
  | { retry: false; reason: "no-failure" | "not-retriable" | "non-idempotent" | "exhausted" | "budget" | "deadline" };

/**
 * Decides after attempt `retriesDone + 1` ended with `outcome` at `nowMs`. On `retry: true` the
 * caller counts the retry in `counters.activeRetries` until it ends. Draws from `random` only
 * when every other check passed. O(|retryOn|).
 */
export function decideRetry(
  input: { outcome: Outcome; method: string; retriesDone: number; startMs: number; nowMs: number },
  policy: RetryPolicy,
  counters: GroupCounters,
  random: Random,
): RetryDecision {
  const { outcome } = input;
  if (!isServerFailure(outcome)) return { retry: false, reason: "no-failure" };
  if (!matchesRetryOn(outcome, policy.retryOn)) return { retry: false, reason: "not-retriable" };
  if (!isIdempotent(input.method) && outcome.failure !== "connect" && !policy.retryNonIdempotent) {
    return { retry: false, reason: "non-idempotent" };
  }
  if (input.retriesDone >= policy.numRetries) return { retry: false, reason: "exhausted" };
  if (counters.activeRetries >= retryBudget(counters, policy)) {
    counters.retryOverflowCount++;
    return { retry: false, reason: "budget" };
  }
  const retryNumber = input.retriesDone + 1;
  const delayMs = backoffMs(retryNumber, policy, random);
  if (input.nowMs + delayMs >= input.startMs + policy.timeoutMs) return { retry: false, reason: "deadline" };
  return { retry: true, delayMs, retryNumber };
}
