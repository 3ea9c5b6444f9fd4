/**
 * Passive outlier detection with Envoy's defaults and semantics
 * (source/common/upstream/outlier_detection_impl.cc), as a state machine over a group's
 * instance records: `recordOutlierResult` after every attempt, `sweepOutliers` every interval.
 * - consecutive 5xx: the 5th 5xx in a row (connect failure counts as 503, timeout as 504)
 *   ejects; consecutive gateway failures (502/503/504) are counted but, as in Envoy, not
 *   enforced by default (enforcing_consecutive_gateway_failure 0 %);
 * - ejection lasts min(base 30 s × backoff, max 300 s); backoff +1 per ejection (while
 *   backoff · base < max + base), −1 per sweep the host spends un-ejected; un-ejection happens
 *   at a sweep, so an ejection ends on the first sweep at or after its time;
 * - at most max_ejection_percent (10 %) of the group ejected at once — but, as Envoy documented
 *   until 1.2x and as gRPC does, one host may always be ejected (`alwaysEjectOneHost`, Sluice's
 *   default; current Envoy defaults it off, which never ejects in groups under 10 hosts);
 * - success rate: at each sweep, over hosts with ≥ 100 requests in the last interval, if there
 *   are ≥ 5, eject those below mean − 1.9 · stdev (population stdev).
 * Jitter on un-ejection (max_ejection_time_jitter, default 0) and failure-percentage ejection
 * (disabled by default) are left out.
 */
import type { InstanceState } from "./instance-state.ts";
import { type Random, randomBelow } from "./random.ts";
import { type Outcome, outcomeCode } from "./types.ts";

export interface OutlierConfig {
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionTimeMs: number;
  /** 0–100. */
  maxEjectionPercent: number;
  alwaysEjectOneHost: boolean;
  /** Percent chance that a detected ejection is enforced, 0–100. */
  enforcingConsecutive5xx: number;
  enforcingConsecutiveGatewayFailure: number;
  enforcingSuccessRate: number;
  successRateMinimumHosts: number;
  successRateRequestVolume: number;
  /** Thousandths: 1900 = 1.9. */
  successRateStdevFactor: number;
}

export const OUTLIER_DEFAULTS: OutlierConfig = {
  consecutive5xx: 5,
  consecutiveGatewayFailure: 5,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 10,
  alwaysEjectOneHost: true,
  enforcingConsecutive5xx: 100,
  enforcingConsecutiveGatewayFailure: 0,
  enforcingSuccessRate: 100,
  successRateMinimumHosts: 5,
  successRateRequestVolume: 100,
  successRateStdevFactor: 1900,
};

/** A group's detector: its members' records plus a few group counters (one WASM group record). */
export interface OutlierGroup {
  members: InstanceState[];
  lastSweepMs: number;
  /** Ejections refused by max_ejection_percent (Envoy ejections_overflow). */
  overflowCount: number;
  /** Enforced ejections (Envoy ejections_enforced_total). */
  enforcedCount: number;
}

export function createOutlierGroup(members: InstanceState[], nowMs: number): OutlierGroup {
  return { members, lastSweepMs: nowMs, overflowCount: 0, enforcedCount: 0 };
}

function enforced(percent: number, random: Random): boolean {
  return percent >= 100 || (percent > 0 && randomBelow(random, 100) < percent);
}

/** Ejects `state` if max_ejection_percent allows and the enforcement draw says so. */
function ejectHost(
  group: OutlierGroup,
  state: InstanceState,
  enforcePercent: number,
  nowMs: number,
  config: OutlierConfig,
  random: Random,
): boolean {
  const ejected = group.members.reduce((n, m) => n + (m.ejected ? 1 : 0), 0);
  const percent = (100 * (ejected + 1)) / group.members.length;
  const allowed = percent <= Math.min(100, config.maxEjectionPercent) || (config.alwaysEjectOneHost && ejected === 0);
  if (!allowed) {
    group.overflowCount++;
    return false;
  }
  if (!enforced(enforcePercent, random)) return false;
  state.ejected = true;
  state.numEjections++;
  state.lastEjectionMs = nowMs;
  if (state.ejectTimeBackoff * config.baseEjectionTimeMs < config.maxEjectionTimeMs + config.baseEjectionTimeMs) state.ejectTimeBackoff++;
  group.enforcedCount++;
  return true;
}

/**
 * Charges one attempt's outcome to `state`. O(1), or O(group) when a threshold is reached.
 * @returns true when this outcome ejected the host.
 */
export function recordOutlierResult(
  group: OutlierGroup,
  state: InstanceState,
  outcome: Outcome,
  nowMs: number,
  config: OutlierConfig,
  random: Random,
): boolean {
  const code = outcomeCode(outcome);
  state.srTotal++;
  if (code < 500) {
    state.srSuccess++;
    state.consecutive5xx = 0;
    state.consecutiveGatewayFailure = 0;
    return false;
  }
  let ejected = false;
  if (code === 502 || code === 503 || code === 504) {
    if (++state.consecutiveGatewayFailure === config.consecutiveGatewayFailure && !state.ejected) {
      ejected = ejectHost(group, state, config.enforcingConsecutiveGatewayFailure, nowMs, config, random);
      state.consecutiveGatewayFailure = 0;
    }
  } else {
    state.consecutiveGatewayFailure = 0;
  }
  if (++state.consecutive5xx === config.consecutive5xx && !state.ejected) {
    ejected = ejectHost(group, state, config.enforcingConsecutive5xx, nowMs, config, random) || ejected;
    state.consecutive5xx = 0;
  }
  return ejected;
}

/**
 * Envoy's success-rate threshold: mean − factor · stdev (population). Example from Envoy's
 * source: rates {50, 100, 100, 100, 100}, factor 1.9 → mean 90, stdev 20, threshold 52.
 */
export function successRateThreshold(rates: readonly number[], factor: number): { mean: number; threshold: number } {
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  const variance = rates.reduce((a, r) => a + (r - mean) ** 2, 0) / rates.length;
  return { mean, threshold: mean - factor * Math.sqrt(variance) };
}

/**
 * The interval timer's body (Envoy onIntervalTimer): un-eject hosts whose time is up (they
 * restart warmup), close the success-rate interval and eject low outliers, then decrement the
 * backoff of hosts un-ejected for at least an interval. O(group).
 */
export function sweepOutliers(
  group: OutlierGroup,
  nowMs: number,
  config: OutlierConfig,
  random: Random,
): { unejected: number[]; ejected: number[] } {
  const unejected: number[] = [];
  const ejected: number[] = [];
  for (const m of group.members) {
    const ejectionMs = Math.min(config.baseEjectionTimeMs * m.ejectTimeBackoff, config.maxEjectionTimeMs);
    if (m.ejected && ejectionMs <= nowMs - m.lastEjectionMs) {
      m.ejected = false;
      m.consecutive5xx = 0;
      m.consecutiveGatewayFailure = 0;
      m.lastUnejectionMs = nowMs;
      m.healthySinceMs = nowMs;
      unejected.push(m.id);
    }
    m.srLastTotal = m.srTotal;
    m.srLastSuccess = m.srSuccess;
    m.srTotal = 0;
    m.srSuccess = 0;
  }
  if (group.members.length >= config.successRateMinimumHosts) {
    const valid = group.members.filter((m) => !m.ejected && m.srLastTotal > 0 && m.srLastTotal >= config.successRateRequestVolume);
    if (valid.length >= config.successRateMinimumHosts) {
      const rates = valid.map((m) => (m.srLastSuccess * 100) / m.srLastTotal);
      const { threshold } = successRateThreshold(rates, config.successRateStdevFactor / 1000);
      valid.forEach((m, i) => {
        if (rates[i]! < threshold && ejectHost(group, m, config.enforcingSuccessRate, nowMs, config, random)) ejected.push(m.id);
      });
    }
  }
  for (const m of group.members) {
    if (!m.ejected && m.lastUnejectionMs >= 0 && nowMs - m.lastUnejectionMs >= config.intervalMs && m.ejectTimeBackoff > 0) {
      m.ejectTimeBackoff--;
    }
  }
  group.lastSweepMs = nowMs;
  return { unejected, ejected };
}

/** Runs the sweep when an interval has passed since the last one: the lazy timer a request-driven isolate needs. */
export function sweepIfDue(group: OutlierGroup, nowMs: number, config: OutlierConfig, random: Random): boolean {
  if (nowMs - group.lastSweepMs < config.intervalMs) return false;
  sweepOutliers(group, nowMs, config, random);
  return true;
}
