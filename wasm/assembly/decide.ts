/**
 * One routing decision per call: route (hosts.ts), policy (policies.ts), group, instance
 * (balancer.ts), written to the result area (frame.ts). Reads only static memory and the active
 * snapshot; allocates nothing.
 */
import { pickInstance } from "./balancer";
import { BINDING_BYTES, BINDING_GROUP, BINDING_POLICY, ROUTE_BYTES, ROUTE_DEFAULT_GROUP, S_ROUTE_POLICIES, S_ROUTES } from "./format";
import { STATUS_NO_INSTANCE, STATUS_NO_ROUTE, STATUS_NO_SNAPSHOT, STATUS_OK, writeResult } from "./frame";
import { findRoute } from "./hosts";
import { resetIntCache } from "./int64";
import { conditionErrors, selectBinding } from "./policies";
import { ACTIVE, activeBase, sectionAddr } from "./view";

/**
 * Decides the request in the frame against the active snapshot and writes the result area:
 * i32 status, route (ROUTES index), policy (POLICIES index), group (GROUPS index), instance
 * (INSTANCES index), conditionErrors (count); indices are -1 when none.
 * @returns the status: 0 ok, 1 no snapshot, 2 no route, 3 no available instance (route, policy
 *   and group still filled in).
 */
export function decide(): i32 {
  if (activeBase() == 0) return writeResult(STATUS_NO_SNAPSHOT, -1, -1, -1, -1, 0);
  const route = findRoute();
  if (route < 0) return writeResult(STATUS_NO_ROUTE, -1, -1, -1, -1, 0);

  resetIntCache();
  const binding = selectBinding(<u32>route);
  let policy: i32 = -1;
  let group: u32;
  if (binding >= 0) {
    const b = sectionAddr(ACTIVE, S_ROUTE_POLICIES) + <u32>binding * BINDING_BYTES;
    policy = <i32>load<u32>(b + BINDING_POLICY);
    group = load<u32>(b + BINDING_GROUP);
  } else {
    group = load<u32>(sectionAddr(ACTIVE, S_ROUTES) + <u32>route * ROUTE_BYTES + ROUTE_DEFAULT_GROUP);
  }

  const instance = pickInstance(group);
  const status = instance < 0 ? STATUS_NO_INSTANCE : STATUS_OK;
  return writeResult(status, route, policy, <i32>group, instance, conditionErrors);
}
