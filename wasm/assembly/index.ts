/**
 * Sluice's WASM hot path: exports only (docs/wasm.md). The host (wasm/host.ts) stages snapshots
 * with prepareLoad/commitLoad; per request it writes host, path and method into the frame, calls
 * route(), writes the route's attribute slots, calls decide() and reads the result area.
 * Nothing here is imported from the rest of the repository.
 */
import { FRAME, FRAME_BYTES, FRAME_BYTES_CAPACITY, RESULT, SLOT_CAPACITY, SLOTS } from "./frame";

export { routeRetryPolicy } from "./balancing-load";
export { decide, route } from "./decide";
export {
  activeBuiltAtMs,
  activeVersion,
  attributeCount,
  attributeNameLen,
  attributeNamePtr,
  attributeSource,
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
  routeFirstSlot,
  routeFlags,
  routeId,
  routeNumRetries,
  routePerTryTimeoutMs,
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
/** Address of the result area (6 × i32). */
export function resultAddress(): usize {
  return RESULT;
}

// Balancing and fault tolerance (docs/balancing.md, "WASM API").
export * from "./lb/api";
