/**
 * The two calls of a request (docs/wasm.md): route() finds the route for the frame's host and
 * path and tells the host which attributes to write; decide() runs that route's program (all of
 * its policies, one call), takes the binding's group or the route's default and picks an
 * instance. Reads only static memory and the active snapshot; allocates nothing.
 */
import { pickInstance } from "./balancer";
import { BINDING_BYTES, BINDING_GROUP, BINDING_POLICY, ROUTE_BYTES, ROUTE_CODE_LENGTH, ROUTE_CODE_OFFSET, ROUTE_DEFAULT_GROUP, ROUTE_FIRST_POLICY, S_CODE, S_DATA, S_ROUTE_POLICIES, S_ROUTES } from "./format";
import { F_ROUTE, FRAME, STATUS_NO_INSTANCE, STATUS_NO_ROUTE, STATUS_NO_SNAPSHOT, STATUS_OK, writeResult } from "./frame";
import { findRoute } from "./hosts";
import { conditionErrors, runRoute } from "./vm";
import { resetScratch } from "./vmops";
import { ACTIVE, activeBase, sectionAddr, sectionCount } from "./view";

/**
 * Finds the route for the host and path in the frame and remembers it for decide().
 * @returns the ROUTES index, -1 when no route matches, -2 when no snapshot is loaded.
 */
export function route(): i32 {
  if (activeBase() == 0) {
    store<i32>(FRAME + F_ROUTE, -1);
    return -2;
  }
  const r = findRoute();
  store<i32>(FRAME + F_ROUTE, r);
  return r;
}

/**
 * Decides the request in the frame (route from route(), the route's slots written by the host)
 * and writes the result area: i32 status, route (ROUTES index), policy (POLICIES index), group
 * (GROUPS index), instance (INSTANCES index), conditionErrors (count); indices -1 when none.
 * @returns the status: 0 ok, 1 no snapshot, 2 no route, 3 no available instance (route, policy
 *   and group still filled in).
 */
export function decide(): i32 {
  if (activeBase() == 0) return writeResult(STATUS_NO_SNAPSHOT, -1, -1, -1, -1, 0);
  const route = load<i32>(FRAME + F_ROUTE);
  if (route < 0 || <u32>route >= sectionCount(ACTIVE, S_ROUTES)) return writeResult(STATUS_NO_ROUTE, -1, -1, -1, -1, 0);

  resetScratch();
  const r = sectionAddr(ACTIVE, S_ROUTES) + <u32>route * ROUTE_BYTES;
  const code = sectionAddr(ACTIVE, S_CODE) + <usize>load<u32>(r + ROUTE_CODE_OFFSET);
  const binding = runRoute(code, load<u32>(r + ROUTE_CODE_LENGTH), sectionAddr(ACTIVE, S_DATA), activeBase());
  let policy: i32 = -1;
  let group: u32;
  if (binding >= 0) {
    const b = sectionAddr(ACTIVE, S_ROUTE_POLICIES) + (load<u32>(r + ROUTE_FIRST_POLICY) + <u32>binding) * BINDING_BYTES;
    policy = <i32>load<u32>(b + BINDING_POLICY);
    group = load<u32>(b + BINDING_GROUP);
  } else {
    group = load<u32>(r + ROUTE_DEFAULT_GROUP);
  }
  const instance = pickInstance(group);
  return writeResult(instance < 0 ? STATUS_NO_INSTANCE : STATUS_OK, route, policy, <i32>group, instance, conditionErrors);
}
