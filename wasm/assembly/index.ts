/**
 * Sluice's WASM hot path: exports only (docs/wasm.md). The host (wasm/host.ts) stages snapshots
 * with prepareLoad/commitLoad; per request it writes host, path and method into the frame, calls
 * route(), writes the route's attribute slots and hash-key table, calls decide() and reads the
 * result area. Nothing here is imported from the rest of the repository.
 */
import { routeRetryPolicy as retryPolicyOf } from "./balancing-load";
import { resolveRoute } from "./decide";
import { FRAME, FRAME_BYTES, FRAME_BYTES_CAPACITY, RESULT, SLOT_CAPACITY, SLOTS } from "./frame";

export { decide, route } from "./decide";
export {
  activeBuiltAtMs,
  activeVersion,
  attributeCount,
  attributeNameLen,
  attributeNamePtr,
  attributeSource,
  bindingGroup,
  groupBalancer,
  groupHashKeyAttribute,
  groupHashKeySource,
  groupCount,
  groupFirstInstance,
  groupId,
  groupInstanceCount,
  groupNameLen,
  groupNamePtr,
  instanceAliveSinceMs,
  instanceCount,
  instanceCellLen,
  instanceFlags,
  instanceHostLen,
  instanceHostPtr,
  instanceId,
  instanceLaneLen,
  instancePort,
  instanceRole,
  instanceStatus,
  instanceWarmupMs,
  instanceWeight,
  policyCount,
  policyId,
  policyNameLen,
  policyNamePtr,
  internCount,
  internLen,
  internPtr,
  routeBodyCap,
  routeCount,
  routeDefaultGroup,
  routeFirstPolicy,
  routeFirstSlot,
  routeFlags,
  routeId,
  routeNumRetries,
  routePerTryTimeoutMs,
  routePolicyCount,
  routeSlotCount,
  routeSlotRecords,
  routeTimeoutMs,
  slotAttribute,
  slotMode,
} from "./meta";
export { commitLoad, prepareLoad } from "./snapshot";

/** Address of the request frame (host, path, method, route). */
export function frameAddress(): usize {
  return FRAME;
}
/** Address of the slot table (64 bytes per slot). */
export function slotsAddress(): usize {
  return SLOTS;
}
/** Slots in the table. */
export function slotCapacity(): u32 {
  return SLOT_CAPACITY;
}
/** Address of the frame's byte area; frame offsets are relative to it. */
export function frameBytesAddress(): usize {
  return FRAME_BYTES;
}
/** Size of the byte area, bytes. */
export function frameBytesCapacity(): u32 {
  return FRAME_BYTES_CAPACITY;
}
/** Address of the result area (8 × i32). */
export function resultAddress(): usize {
  return RESULT;
}

/**
 * The retry policy of route (`route`, `routeId`) — re-found by id after a snapshot swap — for
 * lbRetryDecision: the address of its ROUTES record (balancing-load.ts routeRetryPolicy).
 * @returns 0 when the route is gone or no snapshot is loaded.
 */
export function routeRetryPolicy(route: u32, routeId: u32): usize {
  const r = resolveRoute(route, routeId);
  return r < 0 ? 0 : retryPolicyOf(<u32>r);
}

// Balancing and fault tolerance (docs/balancing.md, "WASM API").
export * from "./lb/api";
