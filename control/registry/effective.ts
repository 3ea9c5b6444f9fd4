/**
 * What the snapshot tells gateways about an instance's status: the registry's verdict folded into
 * the status the WASM balancer reads (it routes only `alive` instances, docs/balancing.md, "OCTO
 * route rules"). An instance declared `alive` that the registry holds unhealthy is published as
 * `dead` (the protect threshold keeps such instances healthy, control/registry/protect.ts).
 * Weights and roles are published as configured: the gateway applies OCTO's backup rule itself
 * (backups only while no primary is healthy, passive health included), and a traffic cut is the
 * instance's drained flag. Pure.
 */
import type { InstanceStatus } from "../snapshot/model.ts";

/**
 * The status gateways route on.
 * @example routingStatus("alive", false) // → "dead"; routingStatus("stopping", true) // → "stopping"
 */
export function routingStatus(status: InstanceStatus, healthy: boolean): InstanceStatus {
  return status === "alive" && !healthy ? "dead" : status;
}
