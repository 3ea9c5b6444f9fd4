/**
 * The protect threshold: when more than a configured share of a service's instances would be
 * unhealthy after a sweep, and some of them are turning unhealthy now, those keep routing and an
 * event is raised instead. A stalled registry, a partitioned network or an agent fleet restarting
 * at once then cannot empty a service (the failure mode of Nacos #1873 and #8090).
 *
 * "At once" is a wave, not one sweep: agents beat at different phases of their interval, so a
 * partition cuts their silences over up to one interval, and the first few cross the timeout a
 * sweep or two before the rest. Instances that turned unhealthy recently (the sweeper passes
 * `recentlyTurned`) count as turning and are restored when the threshold trips. Instances that
 * were unhealthy before the wave stay so (and are removed on time); recoveries always apply. Pure.
 */
import type { HealthVerdict } from "./health.ts";

export interface ProtectCandidate {
  id: number;
  /** The health the registry holds now (persisted). */
  healthyNow: boolean;
  /** Turned unhealthy within the current wave (see above); false when healthy now. */
  recentlyTurned?: boolean;
  verdict: HealthVerdict;
}

export interface ProtectDecision {
  /** True when the threshold tripped: the wave's instances are held back (kept or made healthy). */
  engaged: boolean;
  /** Instances that would be unhealthy after the sweep, in % of `total` (0–100). */
  failingPct: number;
  markUnhealthy: number[];
  markHealthy: number[];
  remove: number[];
}

/**
 * @param candidates the registered (ephemeral or persistent) instances of one service.
 * @param total all of the service's instances, static ones (always healthy) included; ≥ candidates.
 * @param thresholdPct largest share, in %, that may be unhealthy at once (Nacos default 50 %);
 *   100 never protects, 0 protects as soon as any instance would turn unhealthy.
 * @example
 *   // 5 instances, 3 stop heartbeating: 3 / 5 = 60 % > 50 % → engaged, nothing marked.
 *   // 5 instances, 2 stop: 40 % ≤ 50 % → both marked unhealthy.
 */
export function applyProtectThreshold(candidates: readonly ProtectCandidate[], total: number, thresholdPct: number): ProtectDecision {
  const failing = candidates.filter((c) => c.verdict !== "healthy");
  const inWave = (c: ProtectCandidate) => c.healthyNow || c.recentlyTurned === true;
  const turning = failing.filter(inWave);
  const failingPct = total > 0 ? (100 * failing.length) / total : 0;
  const engaged = turning.length > 0 && failingPct > thresholdPct;
  const decision: ProtectDecision = { engaged, failingPct, markUnhealthy: [], markHealthy: [], remove: [] };
  for (const c of candidates) {
    if (c.verdict === "healthy") {
      if (!c.healthyNow) decision.markHealthy.push(c.id);
    } else if (engaged && inWave(c)) {
      // Held back: keeps (or gets back) routing while the threshold is tripped.
      if (!c.healthyNow) decision.markHealthy.push(c.id);
    } else if (c.verdict === "remove") {
      decision.remove.push(c.id);
    } else if (c.healthyNow) {
      decision.markUnhealthy.push(c.id);
    }
  }
  return decision;
}
