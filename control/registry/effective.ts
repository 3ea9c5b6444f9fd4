/**
 * What the snapshot tells gateways about each instance of a group: the registry's verdict folded
 * into the fields the WASM balancer already reads (it picks only `alive` instances with weight
 * > 0, docs/snapshot-format.md), so the binary format needs no new field. Pure.
 *
 * 1. An instance declared `alive` that the registry holds unhealthy is published as `dead`.
 *    (The protect threshold keeps such instances healthy, control/registry/protect.ts.)
 * 2. OCTO roles: `backup` instances are published with weight 0 while any `primary` of the
 *    group is routable (alive, weight > 0); when none is, backups keep their weight.
 */
import type { InstanceStatus } from "../snapshot/model.ts";

export interface RegistryInstanceState {
  /** Declared lifecycle status (admin or agent). */
  status: InstanceStatus;
  /** The registry's verdict (heartbeats, health checks). */
  healthy: boolean;
  role: "primary" | "backup";
  /** Configured weight, 0–10000. */
  weight: number;
}

/** The status and weight a gateway should balance on. */
export interface RoutingState {
  status: InstanceStatus;
  weight: number;
}

/**
 * @param group the instances of one group, in any order.
 * @returns one RoutingState per instance, in the same order.
 * @example
 *   routingStates([{status: "alive", healthy: false, role: "primary", weight: 10},
 *                  {status: "alive", healthy: true, role: "backup", weight: 5}])
 *   // → [{status: "dead", weight: 10}, {status: "alive", weight: 5}]  (no primary left: backup serves)
 */
export function routingStates(group: readonly RegistryInstanceState[]): RoutingState[] {
  const statuses = group.map((i) => (i.status === "alive" && !i.healthy ? "dead" : i.status));
  const primaryRoutable = group.some((i, n) => i.role === "primary" && statuses[n] === "alive" && i.weight > 0);
  return group.map((i, n) => ({
    status: statuses[n],
    weight: i.role === "backup" && primaryRoutable ? 0 : i.weight,
  }));
}
