/**
 * One health sweep over the whole registry, as a plan: which instances turn unhealthy, recover
 * or are removed, and which services the protect threshold holds. Pure (decideHealth per
 * instance, then applyProtectThreshold per service); the sweeper (sweeper.ts) carries it out.
 */
import { decideHealth, type HealthTimings } from "./health.ts";
import { applyProtectThreshold, type ProtectCandidate } from "./protect.ts";

export interface SweepInstance {
  id: number;
  appkey: string;
  registration: "static" | "ephemeral" | "persistent";
  /** Health the registry holds now. */
  healthy: boolean;
  /** Last heartbeat or registration, Unix ms. */
  lastSeenMs: number;
  reportedHealthy: boolean | undefined;
  /** When a sweep last marked it unhealthy, Unix ms (for the protect threshold's wave). */
  turnedUnhealthyAtMs?: number;
}

export interface ServicePolicy extends HealthTimings {
  /** See applyProtectThreshold. */
  protectThresholdPct: number;
}

export interface ProtectedService {
  appkey: string;
  /** Would-be unhealthy share, %. */
  failingPct: number;
  /** Instances kept routing although their verdict says otherwise. */
  heldBack: number[];
}

export interface SweepPlan {
  markUnhealthy: number[];
  markHealthy: number[];
  remove: number[];
  protectedServices: ProtectedService[];
}

/**
 * @param instances every instance (static ones count towards their service's total only).
 * @param policies each service's timings and threshold, by appkey; instances of an appkey
 *   without a policy are left alone.
 * @param nowMs the sweep's time, Unix ms.
 */
export function planSweep(instances: readonly SweepInstance[], policies: ReadonlyMap<string, ServicePolicy>, nowMs: number): SweepPlan {
  const byService = new Map<string, SweepInstance[]>();
  // By id, so a plan (and the events it raises) does not depend on the cache's order.
  for (const instance of [...instances].sort((a, b) => a.id - b.id)) {
    const list = byService.get(instance.appkey);
    if (list) list.push(instance);
    else byService.set(instance.appkey, [instance]);
  }
  const plan: SweepPlan = { markUnhealthy: [], markHealthy: [], remove: [], protectedServices: [] };
  for (const [appkey, members] of byService) {
    const policy = policies.get(appkey);
    if (!policy) continue;
    const candidates: ProtectCandidate[] = [];
    for (const m of members) {
      if (m.registration === "static") continue;
      const verdict = decideHealth(
        { registration: m.registration, lastSeenMs: m.lastSeenMs, reportedHealthy: m.reportedHealthy },
        policy,
        nowMs,
      );
      // A wave lasts as long as the silence that defines it: instances marked unhealthy within the
      // last `unhealthyAfterMs` fell silent within one timeout of the ones turning now.
      const recentlyTurned = !m.healthy && m.turnedUnhealthyAtMs !== undefined && nowMs - m.turnedUnhealthyAtMs <= policy.unhealthyAfterMs;
      candidates.push({ id: m.id, healthyNow: m.healthy, recentlyTurned, verdict });
    }
    const decision = applyProtectThreshold(candidates, members.length, policy.protectThresholdPct);
    plan.markUnhealthy.push(...decision.markUnhealthy);
    plan.markHealthy.push(...decision.markHealthy);
    plan.remove.push(...decision.remove);
    if (decision.engaged) {
      const heldBack = candidates.filter((c) => (c.healthyNow || c.recentlyTurned) && c.verdict !== "healthy").map((c) => c.id);
      plan.protectedServices.push({ appkey, failingPct: decision.failingPct, heldBack });
    }
  }
  return plan;
}
