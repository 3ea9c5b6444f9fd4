/**
 * Per-instance circuit breaker with Sentinel's semantics (sentinel-core
 * slots/block/degrade/circuitbreaker: ExceptionCircuitBreaker, ResponseTimeCircuitBreaker):
 * CLOSED counts calls in a statistic window of statIntervalMs (one bucket aligned to multiples
 * of the interval, as Sentinel's LeapArray(1, statIntervalMs)); once the window holds
 * ≥ minRequestAmount calls, an error ratio or slow-call ratio above its threshold opens the
 * breaker (a threshold of exactly 1.0 opens when every call failed or was slow). OPEN sends
 * nothing for timeWindowMs; the next pick after that becomes the single HALF_OPEN probe, and
 * no other request is sent meanwhile. The probe's outcome decides: success → CLOSED with fresh
 * counters; error or slow → OPEN again for another timeWindowMs. Calls that started before the
 * breaker opened and end while it is open are ignored (Sentinel lets any completion decide in
 * half-open; Sluice lets only the probe). Both strategies run in one breaker; a threshold
 * above 1 disables one.
 */
import { BREAKER_CLOSED, BREAKER_HALF_OPEN, BREAKER_OPEN, type InstanceState } from "./instance-state.ts";
import { isServerFailure, type Outcome } from "./types.ts";

export interface InstanceBreakerConfig {
  /** Statistic window, ms (Sentinel statIntervalMs default 1000). */
  statIntervalMs: number;
  /** Calls in the window before a ratio counts (Sentinel minRequestAmount default 5). */
  minRequestAmount: number;
  /** Error ratio that opens the breaker, 0–1 (> 1 = off). */
  errorRatio: number;
  /** Slow-call ratio that opens it, 0–1 (> 1 = off). */
  slowRatio: number;
  /** A call slower than this is slow, ms (Sentinel's maxAllowedRt; strictly greater). */
  slowCallMs: number;
  /** How long the breaker stays open, ms (Sentinel timeWindow, in seconds there). */
  timeWindowMs: number;
}

export const INSTANCE_BREAKER_DEFAULTS: InstanceBreakerConfig = {
  statIntervalMs: 1_000,
  minRequestAmount: 5,
  errorRatio: 0.5,
  slowRatio: 0.5,
  slowCallMs: 1_000,
  timeWindowMs: 10_000,
};

/** Whether a pick may choose this instance now: CLOSED, or OPEN with its time window over (as the probe). */
export function breakerAvailable(state: InstanceState, nowMs: number, config: InstanceBreakerConfig): boolean {
  if (state.breakerState === BREAKER_CLOSED) return true;
  return state.breakerState === BREAKER_OPEN && nowMs >= state.breakerOpenedMs + config.timeWindowMs;
}

/**
 * Tells the breaker its instance was picked. OPEN past its window → HALF_OPEN.
 * @returns true when this request is the probe (report it with `probe: true`).
 */
export function breakerOnPick(state: InstanceState, nowMs: number, config: InstanceBreakerConfig): boolean {
  if (state.breakerState !== BREAKER_OPEN || nowMs < state.breakerOpenedMs + config.timeWindowMs) return false;
  state.breakerState = BREAKER_HALF_OPEN;
  state.breakerProbing = true;
  return true;
}

function open(state: InstanceState, nowMs: number): void {
  state.breakerState = BREAKER_OPEN;
  state.breakerOpenedMs = nowMs;
  state.breakerProbing = false;
}

function exceeds(count: number, total: number, threshold: number): boolean {
  const ratio = count / total;
  return ratio > threshold || (threshold === 1 && ratio === 1);
}

/**
 * Records the outcome of an attempt that ended at `nowMs`; `probe` as returned by
 * `breakerOnPick`. A failure is a 5xx or no response; slow is latency > slowCallMs. O(1).
 */
export function breakerRecord(state: InstanceState, outcome: Outcome, probe: boolean, nowMs: number, config: InstanceBreakerConfig): void {
  const failed = isServerFailure(outcome);
  const slow = outcome.latencyMs > config.slowCallMs;
  if (state.breakerState === BREAKER_HALF_OPEN) {
    if (!probe) return;
    if (failed || slow) {
      open(state, nowMs);
    } else {
      state.breakerState = BREAKER_CLOSED;
      state.breakerProbing = false;
      state.breakerWindowStartMs = nowMs - (nowMs % config.statIntervalMs);
      state.breakerTotal = state.breakerErrors = state.breakerSlow = 0;
    }
    return;
  }
  if (state.breakerState === BREAKER_OPEN) return;
  const windowStart = nowMs - (nowMs % config.statIntervalMs);
  if (windowStart !== state.breakerWindowStartMs) {
    state.breakerWindowStartMs = windowStart;
    state.breakerTotal = state.breakerErrors = state.breakerSlow = 0;
  }
  state.breakerTotal++;
  if (failed) state.breakerErrors++;
  if (slow) state.breakerSlow++;
  if (state.breakerTotal < config.minRequestAmount) return;
  if (
    exceeds(state.breakerErrors, state.breakerTotal, config.errorRatio) ||
    exceeds(state.breakerSlow, state.breakerTotal, config.slowRatio)
  ) {
    open(state, nowMs);
  }
}

/**
 * The probe was picked but never sent (client gone, group breaker refused): back to OPEN for a
 * new window, as Sentinel does when a later rule blocks the probe.
 */
export function breakerAbandonProbe(state: InstanceState, nowMs: number): void {
  if (state.breakerState === BREAKER_HALF_OPEN) open(state, nowMs);
}
