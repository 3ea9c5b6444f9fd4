/**
 * OCTO's route rules, as pure steps before the balancer (select.ts runs them in order):
 * 1. eligibility — ALIVE, weight > 0, not drained by a traffic cut;
 * 2. lanes (swimlanes) — a request tagged with lane L goes to L's instances when L has any,
 *    else to the main lane (""); an untagged request only to the main lane, so test traffic
 *    and production traffic never mix;
 * 3. SET / cell — a request from cell C goes to C's instances; when C has none, to the unset
 *    pool ("") only if `cellFallback` (default off: a SET exists to contain failures). A request
 *    with no cell goes to the unset pool, or to every cell when the group has no unset pool;
 * 4. zone affinity — weight factors by distance (OCTO: same IDC ×1, other IDC in the region
 *    ×0.001, other region ×0.000001), in parts per million so weights stay integers.
 * Roles (backup only when no primary is healthy) need health, so select.ts applies them.
 */
import { type InstanceView, STATUS_ALIVE } from "./types.ts";

export interface RouteRuleConfig {
  /** Weight factors in parts per million (10^6 = ×1); each ≥ 1, so no eligible instance weighs 0. */
  sameZonePpm: number;
  otherZonePpm: number;
  otherRegionPpm: number;
  /** Whether a cell with no eligible instance falls back to the unset pool. */
  cellFallback: boolean;
}

export const ROUTE_RULE_DEFAULTS: RouteRuleConfig = {
  sameZonePpm: 1_000_000,
  otherZonePpm: 1_000,
  otherRegionPpm: 1,
  cellFallback: false,
};

/** Who is calling: the gateway's own zone and region, the request's lane tag and cell. */
export interface Caller {
  zone: string;
  region: string;
  /** "" = untagged (main lane). */
  lane: string;
  /** "" = no cell. */
  cell: string;
}

/** ALIVE, weight > 0 and not drained. */
export function isEligible(instance: InstanceView): boolean {
  return instance.status === STATUS_ALIVE && instance.weight > 0 && !instance.drained;
}

/** Steps 1–3: the instances this caller may reach. O(n). */
export function applyRouteRules(instances: readonly InstanceView[], caller: Caller, config: RouteRuleConfig): InstanceView[] {
  const eligible = instances.filter(isEligible);
  const tagged = caller.lane === "" ? [] : eligible.filter((i) => i.lane === caller.lane);
  const laned = tagged.length > 0 ? tagged : eligible.filter((i) => i.lane === "");
  if (caller.cell !== "") {
    const inCell = laned.filter((i) => i.cell === caller.cell);
    if (inCell.length > 0) return inCell;
    return config.cellFallback ? laned.filter((i) => i.cell === "") : [];
  }
  const unset = laned.filter((i) => i.cell === "");
  return unset.length > 0 ? unset : laned;
}

/** Distance class: 0 same zone (or caller zone unknown), 1 other zone in the region, 2 other region. */
export function zoneDistance(instance: InstanceView, caller: Caller): number {
  if (caller.zone === "" || instance.zone === caller.zone) return 0;
  return caller.region !== "" && instance.region === caller.region ? 1 : 2;
}

/** Step 4 as a weight factor, ppm. Example: other zone, same region → 1 000 (×0.001). */
export function zoneFactorPpm(instance: InstanceView, caller: Caller, config: RouteRuleConfig): number {
  const d = zoneDistance(instance, caller);
  return d === 0 ? config.sameZonePpm : d === 1 ? config.otherZonePpm : config.otherRegionPpm;
}

/**
 * Step 4 as a filter, for balancers that ignore weights (peak EWMA, ring hash, maglev): the
 * instances at the smallest distance. The weight factors' limit: ×0.001 is 1 pick in ~1000.
 */
export function nearestZone<T extends InstanceView>(instances: readonly T[], caller: Caller): T[] {
  let best = 3;
  for (const i of instances) best = Math.min(best, zoneDistance(i, caller));
  return instances.filter((i) => zoneDistance(i, caller) === best);
}
