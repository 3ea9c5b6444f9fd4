/**
 * Per-instance circuit breaker with Sentinel's semantics (ExceptionCircuitBreaker,
 * ResponseTimeCircuitBreaker): one statistic window aligned to statIntervalMs; with
 * ≥ minRequestAmount calls an error ratio or slow ratio above its threshold (or exactly 1.0 at
 * threshold 1.0) opens it; after timeWindowMs the next pick is the single half-open probe, whose
 * outcome alone decides. Port of wasm/reference/instance-breaker.ts over the record fields.
 */
import { GROUP_BREAKER_MIN_REQUEST_AMOUNT, GROUP_BREAKER_SLOW_CALL_MS, GROUP_BREAKER_STAT_INTERVAL_MS, GROUP_BREAKER_TIME_WINDOW_MS } from "../format";
import {
  BREAKER_CLOSED,
  BREAKER_HALF_OPEN,
  BREAKER_OPEN,
  GI_BREAKER_ERROR_RATIO,
  GI_BREAKER_SLOW_RATIO,
  optionsOf,
  R_BREAKER_ERRORS,
  R_BREAKER_OPENED,
  R_BREAKER_PROBING,
  R_BREAKER_SLOW,
  R_BREAKER_STATE,
  R_BREAKER_TOTAL,
  R_BREAKER_WINDOW,
  resetWindow,
} from "./records";
import { invalidatePlanOf } from "./generation";

/** Group info `gi`'s breaker window (GROUPS timeWindowMs), ms. */
// @ts-ignore: decorator
@inline export function breakerWindowMs(gi: usize): f64 {
  return <f64>load<u32>(optionsOf(gi) + GROUP_BREAKER_TIME_WINDOW_MS);
}

/** Whether record `r` (of the group whose info is `gi`) may be picked now: CLOSED, or OPEN past its window (as the probe). */
export function breakerAvailable(r: usize, nowMs: f64, gi: usize): bool {
  const state = load<u8>(r + R_BREAKER_STATE);
  if (state == BREAKER_CLOSED) return true;
  return state == BREAKER_OPEN && nowMs >= load<f64>(r + R_BREAKER_OPENED) + breakerWindowMs(gi);
}

/** The instance was picked: OPEN past its window → HALF_OPEN. @returns true when this is the probe. */
export function breakerOnPick(r: usize, nowMs: f64, gi: usize): bool {
  if (load<u8>(r + R_BREAKER_STATE) != BREAKER_OPEN || nowMs < load<f64>(r + R_BREAKER_OPENED) + breakerWindowMs(gi)) {
    return false;
  }
  store<u8>(r + R_BREAKER_STATE, BREAKER_HALF_OPEN);
  store<u8>(r + R_BREAKER_PROBING, 1);
  invalidatePlanOf(r);
  return true;
}

function open(r: usize, nowMs: f64): void {
  store<u8>(r + R_BREAKER_STATE, BREAKER_OPEN);
  store<f64>(r + R_BREAKER_OPENED, nowMs);
  store<u8>(r + R_BREAKER_PROBING, 0);
  invalidatePlanOf(r);
}

function exceeds(count: u32, total: u32, threshold: f64): bool {
  const ratio = <f64>count / <f64>total;
  return ratio > threshold || (threshold == 1 && ratio == 1);
}

/** Records an attempt's end on record `r` of group info `gi`: `failed` = 5xx or no response, latency in ms. O(1). */
export function breakerRecord(r: usize, failed: bool, latencyMs: f64, probe: bool, nowMs: f64, gi: usize): void {
  const options = optionsOf(gi);
  const slow = latencyMs > <f64>load<u32>(options + GROUP_BREAKER_SLOW_CALL_MS);
  const state = load<u8>(r + R_BREAKER_STATE);
  const interval = <f64>load<u32>(options + GROUP_BREAKER_STAT_INTERVAL_MS);
  if (state == BREAKER_HALF_OPEN) {
    if (!probe) return;
    if (failed || slow) {
      open(r, nowMs);
    } else {
      store<u8>(r + R_BREAKER_STATE, BREAKER_CLOSED);
      store<u8>(r + R_BREAKER_PROBING, 0);
      invalidatePlanOf(r);
      resetWindow(r, nowMs - (nowMs % interval));
    }
    return;
  }
  if (state == BREAKER_OPEN) return;
  const windowStart = nowMs - (nowMs % interval);
  if (windowStart != load<f64>(r + R_BREAKER_WINDOW)) resetWindow(r, windowStart);
  const total = load<u32>(r + R_BREAKER_TOTAL) + 1;
  const errors = load<u32>(r + R_BREAKER_ERRORS) + (failed ? 1 : 0);
  const slowCount = load<u32>(r + R_BREAKER_SLOW) + (slow ? 1 : 0);
  store<u32>(r + R_BREAKER_TOTAL, total);
  store<u32>(r + R_BREAKER_ERRORS, errors);
  store<u32>(r + R_BREAKER_SLOW, slowCount);
  if (total < load<u32>(options + GROUP_BREAKER_MIN_REQUEST_AMOUNT)) return;
  if (exceeds(errors, total, load<f64>(gi + GI_BREAKER_ERROR_RATIO)) || exceeds(slowCount, total, load<f64>(gi + GI_BREAKER_SLOW_RATIO))) {
    open(r, nowMs);
  }
}

/** A probe picked but never sent: OPEN again for a new window (as Sentinel). */
export function breakerAbandonProbe(r: usize, nowMs: f64): void {
  if (load<u8>(r + R_BREAKER_STATE) == BREAKER_HALF_OPEN) open(r, nowMs);
}
