/**
 * Passive outlier detection with Envoy's defaults and semantics (outlier_detection_impl.cc),
 * over a group's instance records: consecutive_5xx (connect failure = 503, timeout = 504),
 * consecutive_gateway_failure (counted, enforced at its percentage), ejection for
 * min(base × backoff, max), max_ejection_percent with alwaysEjectOneHost, success rate at each
 * sweep (mean − factor·stdev over hosts with enough volume). Port of wasm/reference/outlier.ts.
 */
import {
  GROUP_BASE_EJECTION_TIME_MS,
  GROUP_CONSECUTIVE_5XX,
  GROUP_CONSECUTIVE_GATEWAY_FAILURE,
  GROUP_ENFORCING_CONSECUTIVE_5XX,
  GROUP_ENFORCING_CONSECUTIVE_GATEWAY_FAILURE,
  GROUP_ENFORCING_SUCCESS_RATE,
  GROUP_FLAGS,
  GROUP_FLAG_ALWAYS_EJECT_ONE_HOST,
  GROUP_MAX_EJECTION_PERCENT,
  GROUP_MAX_EJECTION_TIME_MS,
  GROUP_OUTLIER_INTERVAL_MS,
  GROUP_SUCCESS_RATE_MINIMUM_HOSTS,
  GROUP_SUCCESS_RATE_REQUEST_VOLUME,
  GROUP_SUCCESS_RATE_STDEV_FACTOR,
} from "../format";
import { groupInfo, groupRecord, invalidatePlan, record } from "./generation";
import { randomBelow } from "./random";
import {
  GI_COUNT,
  GI_FIRST,
  GR_LAST_SWEEP,
  GR_OUTLIER_ENFORCED,
  GR_OUTLIER_OVERFLOW,
  optionsOf,
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
  const options = optionsOf(gi);
  const first = load<u32>(gi + GI_FIRST);
  const count = load<u32>(gi + GI_COUNT);
  let ejected: u32 = 0;
  for (let k: u32 = 0; k < count; k++) ejected += load<u8>(record(first + k) + R_EJECTED);
  const percent = (100 * (<f64>ejected + 1)) / <f64>count;
  const maxPercent = Math.min(100, <f64>load<u8>(options + GROUP_MAX_EJECTION_PERCENT));
  const allowed = percent <= maxPercent || ((load<u8>(options + GROUP_FLAGS) & GROUP_FLAG_ALWAYS_EJECT_ONE_HOST) != 0 && ejected == 0);
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
  const base = <f64>load<u32>(options + GROUP_BASE_EJECTION_TIME_MS);
  const backoff = load<u32>(r + R_EJECT_BACKOFF);
  if (<f64>backoff * base < <f64>load<u32>(options + GROUP_MAX_EJECTION_TIME_MS) + base) store<u32>(r + R_EJECT_BACKOFF, backoff + 1);
  store<u64>(gr + GR_OUTLIER_ENFORCED, load<u64>(gr + GR_OUTLIER_ENFORCED) + 1);
  return true;
}

/**
 * Charges an attempt's outcome (`code`: HTTP status, or 503/504 for no response) to record `r`
 * of group `g`. O(1), O(group) when a threshold is reached. @returns true when it ejected.
 */
export function recordOutlierResult(g: u32, r: usize, code: u32, nowMs: f64): bool {
  const options = optionsOf(groupInfo(g));
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
    if (n == load<u32>(options + GROUP_CONSECUTIVE_GATEWAY_FAILURE) && load<u8>(r + R_EJECTED) == 0) {
      ejected = ejectHost(g, r, <u32>load<u8>(options + GROUP_ENFORCING_CONSECUTIVE_GATEWAY_FAILURE), nowMs);
      store<u32>(r + R_CONSECUTIVE_GATEWAY, 0);
    }
  } else {
    store<u32>(r + R_CONSECUTIVE_GATEWAY, 0);
  }
  const n = load<u32>(r + R_CONSECUTIVE_5XX) + 1;
  store<u32>(r + R_CONSECUTIVE_5XX, n);
  if (n == load<u32>(options + GROUP_CONSECUTIVE_5XX) && load<u8>(r + R_EJECTED) == 0) {
    ejected = ejectHost(g, r, <u32>load<u8>(options + GROUP_ENFORCING_CONSECUTIVE_5XX), nowMs) || ejected;
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
  const options = optionsOf(gi);
  const first = load<u32>(gi + GI_FIRST);
  const count = load<u32>(gi + GI_COUNT);
  const base = <f64>load<u32>(options + GROUP_BASE_EJECTION_TIME_MS);
  const max = <f64>load<u32>(options + GROUP_MAX_EJECTION_TIME_MS);
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
  const minHosts = load<u32>(options + GROUP_SUCCESS_RATE_MINIMUM_HOSTS);
  const volume = load<u32>(options + GROUP_SUCCESS_RATE_REQUEST_VOLUME);
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
      const threshold = mean - (<f64>load<u32>(options + GROUP_SUCCESS_RATE_STDEV_FACTOR) / 1000) * Math.sqrt(squares / <f64>valid);
      const enforce = <u32>load<u8>(options + GROUP_ENFORCING_SUCCESS_RATE);
      for (let k: u32 = 0; k < count; k++) {
        const r = record(first + k);
        if (srValid(r, volume) && srRate(r) < threshold) ejectHost(g, r, enforce, nowMs);
      }
    }
  }
  const interval = <f64>load<u32>(options + GROUP_OUTLIER_INTERVAL_MS);
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
  if (nowMs - load<f64>(gr + GR_LAST_SWEEP) >= <f64>load<u32>(optionsOf(groupInfo(g)) + GROUP_OUTLIER_INTERVAL_MS)) sweepOutliers(g, nowMs);
}
