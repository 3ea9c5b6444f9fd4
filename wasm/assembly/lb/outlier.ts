/**
 * Passive outlier detection with Envoy's defaults and semantics (outlier_detection_impl.cc),
 * over a group's instance records: consecutive_5xx (connect failure = 503, timeout = 504),
 * consecutive_gateway_failure (counted, enforced at its percentage), ejection for
 * min(base × backoff, max), max_ejection_percent with alwaysEjectOneHost, success rate at each
 * sweep (mean − factor·stdev over hosts with enough volume). Port of wasm/reference/outlier.ts.
 */
import {
  C_FLAGS,
  C_OD_BASE_EJECTION_MS,
  C_OD_CONSECUTIVE_5XX,
  C_OD_CONSECUTIVE_GATEWAY,
  C_OD_ENFORCE_5XX,
  C_OD_ENFORCE_GATEWAY,
  C_OD_ENFORCE_SUCCESS_RATE,
  C_OD_INTERVAL_MS,
  C_OD_MAX_EJECTION_MS,
  C_OD_MAX_EJECTION_PCT,
  C_OD_SR_MIN_HOSTS,
  C_OD_SR_STDEV_FACTOR,
  C_OD_SR_VOLUME,
  FLAG_ALWAYS_EJECT_ONE,
} from "./config";
import { groupInfo, groupRecord, invalidatePlan, record } from "./generation";
import { randomBelow } from "./random";
import {
  GI_CONFIG,
  GI_COUNT,
  GI_FIRST,
  GR_LAST_SWEEP,
  GR_OUTLIER_ENFORCED,
  GR_OUTLIER_OVERFLOW,
  R_CONSECUTIVE_5XX,
  R_CONSECUTIVE_GATEWAY,
  R_EJECT_BACKOFF,
  R_EJECTED,
  R_HEALTHY_SINCE,
  R_LAST_EJECTION,
  R_LAST_UNEJECTION,
  R_NUM_EJECTIONS,
  R_SR_LAST_SUCCESS,
  R_SR_LAST_TOTAL,
  R_SR_SUCCESS,
  R_SR_TOTAL,
} from "./records";

function enforced(percent: u32): bool {
  return percent >= 100 || (percent > 0 && randomBelow(100) < <f64>percent);
}

function ejectHost(g: u32, r: usize, enforcePercent: u32, nowMs: f64): bool {
  const gi = groupInfo(g);
  const config = gi + GI_CONFIG;
  const first = load<u32>(gi + GI_FIRST);
  const count = load<u32>(gi + GI_COUNT);
  let ejected: u32 = 0;
  for (let k: u32 = 0; k < count; k++) ejected += load<u8>(record(first + k) + R_EJECTED);
  const percent = (100 * (<f64>ejected + 1)) / <f64>count;
  const maxPercent = Math.min(100, <f64>load<u32>(config + C_OD_MAX_EJECTION_PCT));
  const allowed = percent <= maxPercent || ((load<u8>(config + C_FLAGS) & FLAG_ALWAYS_EJECT_ONE) != 0 && ejected == 0);
  const gr = groupRecord(g);
  if (!allowed) {
    store<u64>(gr + GR_OUTLIER_OVERFLOW, load<u64>(gr + GR_OUTLIER_OVERFLOW) + 1);
    return false;
  }
  if (!enforced(enforcePercent)) return false;
  store<u8>(r + R_EJECTED, 1);
  invalidatePlan(g);
  store<u32>(r + R_NUM_EJECTIONS, load<u32>(r + R_NUM_EJECTIONS) + 1);
  store<f64>(r + R_LAST_EJECTION, nowMs);
  const base = load<f64>(config + C_OD_BASE_EJECTION_MS);
  const backoff = load<u32>(r + R_EJECT_BACKOFF);
  if (<f64>backoff * base < load<f64>(config + C_OD_MAX_EJECTION_MS) + base) store<u32>(r + R_EJECT_BACKOFF, backoff + 1);
  store<u64>(gr + GR_OUTLIER_ENFORCED, load<u64>(gr + GR_OUTLIER_ENFORCED) + 1);
  return true;
}

/**
 * Charges an attempt's outcome (`code`: HTTP status, or 503/504 for no response) to record `r`
 * of group `g`. O(1), O(group) when a threshold is reached. @returns true when it ejected.
 */
export function recordOutlierResult(g: u32, r: usize, code: u32, nowMs: f64): bool {
  const config = groupInfo(g) + GI_CONFIG;
  store<u32>(r + R_SR_TOTAL, load<u32>(r + R_SR_TOTAL) + 1);
  if (code < 500) {
    store<u32>(r + R_SR_SUCCESS, load<u32>(r + R_SR_SUCCESS) + 1);
    store<u32>(r + R_CONSECUTIVE_5XX, 0);
    store<u32>(r + R_CONSECUTIVE_GATEWAY, 0);
    return false;
  }
  let ejected = false;
  if (code == 502 || code == 503 || code == 504) {
    const n = load<u32>(r + R_CONSECUTIVE_GATEWAY) + 1;
    store<u32>(r + R_CONSECUTIVE_GATEWAY, n);
    if (n == load<u32>(config + C_OD_CONSECUTIVE_GATEWAY) && load<u8>(r + R_EJECTED) == 0) {
      ejected = ejectHost(g, r, load<u32>(config + C_OD_ENFORCE_GATEWAY), nowMs);
      store<u32>(r + R_CONSECUTIVE_GATEWAY, 0);
    }
  } else {
    store<u32>(r + R_CONSECUTIVE_GATEWAY, 0);
  }
  const n = load<u32>(r + R_CONSECUTIVE_5XX) + 1;
  store<u32>(r + R_CONSECUTIVE_5XX, n);
  if (n == load<u32>(config + C_OD_CONSECUTIVE_5XX) && load<u8>(r + R_EJECTED) == 0) {
    ejected = ejectHost(g, r, load<u32>(config + C_OD_ENFORCE_5XX), nowMs) || ejected;
    store<u32>(r + R_CONSECUTIVE_5XX, 0);
  }
  return ejected;
}

// @ts-ignore: decorator
@inline function srValid(r: usize, volume: u32): bool {
  const total = load<u32>(r + R_SR_LAST_TOTAL);
  return load<u8>(r + R_EJECTED) == 0 && total > 0 && total >= volume;
}

// @ts-ignore: decorator
@inline function srRate(r: usize): f64 {
  return (<f64>load<u32>(r + R_SR_LAST_SUCCESS) * 100) / <f64>load<u32>(r + R_SR_LAST_TOTAL);
}

/**
 * Envoy's interval timer body for group `g` at nowMs: un-eject hosts whose time is up (they
 * restart warmup), close the success-rate interval and eject low outliers, decrement the
 * backoff of hosts un-ejected for an interval. O(group).
 */
export function sweepOutliers(g: u32, nowMs: f64): void {
  // Un-ejections and success-rate ejections change health: the cached plan is stale.
  invalidatePlan(g);
  const gi = groupInfo(g);
  const config = gi + GI_CONFIG;
  const first = load<u32>(gi + GI_FIRST);
  const count = load<u32>(gi + GI_COUNT);
  const base = load<f64>(config + C_OD_BASE_EJECTION_MS);
  const max = load<f64>(config + C_OD_MAX_EJECTION_MS);
  for (let k: u32 = 0; k < count; k++) {
    const r = record(first + k);
    const ejectionMs = Math.min(base * <f64>load<u32>(r + R_EJECT_BACKOFF), max);
    if (load<u8>(r + R_EJECTED) != 0 && ejectionMs <= nowMs - load<f64>(r + R_LAST_EJECTION)) {
      store<u8>(r + R_EJECTED, 0);
      store<u32>(r + R_CONSECUTIVE_5XX, 0);
      store<u32>(r + R_CONSECUTIVE_GATEWAY, 0);
      store<f64>(r + R_LAST_UNEJECTION, nowMs);
      store<f64>(r + R_HEALTHY_SINCE, nowMs);
    }
    store<u32>(r + R_SR_LAST_TOTAL, load<u32>(r + R_SR_TOTAL));
    store<u32>(r + R_SR_LAST_SUCCESS, load<u32>(r + R_SR_SUCCESS));
    store<u32>(r + R_SR_TOTAL, 0);
    store<u32>(r + R_SR_SUCCESS, 0);
  }
  const minHosts = load<u32>(config + C_OD_SR_MIN_HOSTS);
  const volume = load<u32>(config + C_OD_SR_VOLUME);
  if (count >= minHosts) {
    let valid: u32 = 0;
    let sum: f64 = 0;
    for (let k: u32 = 0; k < count; k++) {
      const r = record(first + k);
      if (!srValid(r, volume)) continue;
      valid++;
      sum += srRate(r);
    }
    if (valid >= minHosts) {
      const mean = sum / <f64>valid;
      let squares: f64 = 0;
      for (let k: u32 = 0; k < count; k++) {
        const r = record(first + k);
        if (srValid(r, volume)) squares += (srRate(r) - mean) * (srRate(r) - mean);
      }
      const threshold = mean - (<f64>load<u32>(config + C_OD_SR_STDEV_FACTOR) / 1000) * Math.sqrt(squares / <f64>valid);
      const enforce = load<u32>(config + C_OD_ENFORCE_SUCCESS_RATE);
      for (let k: u32 = 0; k < count; k++) {
        const r = record(first + k);
        if (srValid(r, volume) && srRate(r) < threshold) ejectHost(g, r, enforce, nowMs);
      }
    }
  }
  const interval = load<f64>(config + C_OD_INTERVAL_MS);
  for (let k: u32 = 0; k < count; k++) {
    const r = record(first + k);
    const backoff = load<u32>(r + R_EJECT_BACKOFF);
    const unejected = load<f64>(r + R_LAST_UNEJECTION);
    if (load<u8>(r + R_EJECTED) == 0 && unejected >= 0 && nowMs - unejected >= interval && backoff > 0) {
      store<u32>(r + R_EJECT_BACKOFF, backoff - 1);
    }
  }
  store<f64>(groupRecord(g) + GR_LAST_SWEEP, nowMs);
}

/** Runs the sweep when an interval has passed since the last (an isolate has no timer). */
export function sweepIfDue(g: u32, nowMs: f64): void {
  const gr = groupRecord(g);
  if (nowMs - load<f64>(gr + GR_LAST_SWEEP) >= load<f64>(groupInfo(g) + GI_CONFIG + C_OD_INTERVAL_MS)) sweepOutliers(g, nowMs);
}
