/**
 * Retry decisions (Envoy retry policy plus Sluice's idempotency rule): retryOn classes,
 * non-idempotent methods re-sent only after a connect failure unless allowed, numRetries, the
 * retry budget max(⌊percent · (active + pending)⌋, min) (Envoy retry_budget), full-jitter
 * back-off min(uniform [0, (2^N − 1)·base), cap), and no retry past the total timeout. Port of
 * wasm/reference/retry.ts over the group record and the route's ROUTES record, whose retry
 * fields it reads in place (docs/snapshot-format.md, ROUTES; units converted where read).
 */
import {
  FAILURE_CONNECT,
  FAILURE_NONE,
  FAILURE_RESET,
  FAILURE_TIMEOUT,
  outcomeCode,
  RETRY_ON_5XX,
  RETRY_ON_CONNECT,
  RETRY_ON_GATEWAY,
  RETRY_ON_RESET,
  RETRY_ON_TIMEOUT,
} from "./config";
import {
  RETRY_FLAG_NON_IDEMPOTENT,
  ROUTE_BACKOFF_BASE_MS,
  ROUTE_BACKOFF_MAX_MS,
  ROUTE_NUM_RETRIES,
  ROUTE_RETRY_BUDGET_PCT,
  ROUTE_RETRY_FLAGS,
  ROUTE_RETRY_MIN_CONCURRENCY,
  ROUTE_RETRY_ON,
  ROUTE_TIMEOUT_MS,
} from "../format";
import { groupRecord } from "./generation";
import { randomBelow } from "./random";
import { GR_ACTIVE, GR_ACTIVE_RETRIES, GR_PENDING, GR_RETRY_OVERFLOW } from "./records";

/** Reasons for no retry, returned negated by retryDecision. */
export const NO_RETRY_NO_FAILURE: f64 = -1;
export const NO_RETRY_NOT_RETRIABLE: f64 = -2;
export const NO_RETRY_NON_IDEMPOTENT: f64 = -3;
export const NO_RETRY_EXHAUSTED: f64 = -4;
export const NO_RETRY_BUDGET: f64 = -5;
export const NO_RETRY_DEADLINE: f64 = -6;

function matchesRetryOn(status: u32, failure: u32, mask: u32): bool {
  if ((mask & RETRY_ON_CONNECT) != 0 && failure == FAILURE_CONNECT) return true;
  if ((mask & RETRY_ON_RESET) != 0 && failure == FAILURE_RESET) return true;
  if ((mask & RETRY_ON_TIMEOUT) != 0 && failure == FAILURE_TIMEOUT) return true;
  // Envoy's gateway-error: 502/503/504, and any attempt without a response (it counts an upstream
  // reset as the 5xx it results in: RetryStateImpl::wouldRetryFromReset).
  if ((mask & RETRY_ON_GATEWAY) != 0 && ((status >= 502 && status <= 504) || failure != FAILURE_NONE)) return true;
  return (mask & RETRY_ON_5XX) != 0 && outcomeCode(status, failure) >= 500;
}

/** Retries group `g` allows in flight: max(⌊percent · (active + pending) / 100⌋, minimum). */
export function retryBudget(g: u32, percent: u32, minimum: u32): u32 {
  const gr = groupRecord(g);
  const budget = <u32>Math.floor((<f64>percent * <f64>(load<u32>(gr + GR_ACTIVE) + load<u32>(gr + GR_PENDING))) / 100);
  return budget > minimum ? budget : minimum;
}

/** Exclusive bound of the Nth retry's back-off before the cap. Example: N = 3, base 25 → 175. */
function backoffRange(retry: u32, baseMs: f64, maxMs: f64): f64 {
  let range = baseMs;
  for (let n: u32 = 1; n < retry && range <= maxMs; n++) range = (Math.pow(2, <f64>(n + 1)) - 1) * baseMs;
  return range;
}

/** Full-jitter back-off before the Nth retry (N ≥ 1), ms: min(uniform integer [0, range), max). */
export function backoffMs(retry: u32, baseMs: f64, maxMs: f64): f64 {
  return Math.min(randomBelow(backoffRange(retry, baseMs, maxMs)), maxMs);
}

// @ts-ignore: decorator
@inline function upper(b: u8): u8 {
  return b >= 0x61 && b <= 0x7a ? b - 0x20 : b;
}

function methodIs(ptr: usize, len: usize, name: string): bool {
  if (len != <usize>name.length) return false;
  for (let i: usize = 0; i < len; i++) if (upper(load<u8>(ptr + i)) != <u8>name.charCodeAt(<i32>i)) return false;
  return true;
}

/** RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT, DELETE (ASCII case-insensitive). */
function isIdempotent(ptr: usize, len: usize): bool {
  return (
    methodIs(ptr, len, "GET") ||
    methodIs(ptr, len, "HEAD") ||
    methodIs(ptr, len, "OPTIONS") ||
    methodIs(ptr, len, "TRACE") ||
    methodIs(ptr, len, "PUT") ||
    methodIs(ptr, len, "DELETE")
  );
}

/**
 * After attempt retriesDone + 1 of a request started at startMs ended at nowMs with (status,
 * failure), under the retry policy of the ROUTES record at `route`. Counts a budget refusal in the group record;
 * draws from the random source only when every other check passed.
 * @returns the back-off delay in ms (≥ 0) to retry, or a negative NO_RETRY_* reason.
 */
export function retryDecision(
  g: u32,
  status: u32,
  failure: u32,
  methodPtr: usize,
  methodLen: usize,
  retriesDone: u32,
  startMs: f64,
  nowMs: f64,
  route: usize,
): f64 {
  if (outcomeCode(status, failure) < 500) return NO_RETRY_NO_FAILURE;
  // ROUTES.retryOn's bits are RETRY_ON_*'s.
  if (!matchesRetryOn(status, failure, <u32>load<u8>(route + ROUTE_RETRY_ON))) return NO_RETRY_NOT_RETRIABLE;
  const nonIdempotent = (load<u8>(route + ROUTE_RETRY_FLAGS) & RETRY_FLAG_NON_IDEMPOTENT) != 0;
  if (!isIdempotent(methodPtr, methodLen) && failure != FAILURE_CONNECT && !nonIdempotent) return NO_RETRY_NON_IDEMPOTENT;
  if (retriesDone >= <u32>load<u8>(route + ROUTE_NUM_RETRIES)) return NO_RETRY_EXHAUSTED;
  const gr = groupRecord(g);
  const budget = retryBudget(g, <u32>load<u8>(route + ROUTE_RETRY_BUDGET_PCT), load<u32>(route + ROUTE_RETRY_MIN_CONCURRENCY));
  if (load<u32>(gr + GR_ACTIVE_RETRIES) >= budget) {
    store<u64>(gr + GR_RETRY_OVERFLOW, load<u64>(gr + GR_RETRY_OVERFLOW) + 1);
    return NO_RETRY_BUDGET;
  }
  const delay = backoffMs(retriesDone + 1, <f64>load<u32>(route + ROUTE_BACKOFF_BASE_MS), <f64>load<u32>(route + ROUTE_BACKOFF_MAX_MS));
  if (nowMs + delay >= startMs + <f64>load<u32>(route + ROUTE_TIMEOUT_MS)) return NO_RETRY_DEADLINE;
  return delay;
}
