/**
 * Sluice's WASM hot path: exports only (docs/wasm.md). The host (wasm/host.ts) stages snapshots
 * with prepareLoad/commitLoad, writes each request into the frame, calls decide() once and reads
 * the result area. Nothing here is imported from the rest of the repository.
 */
import { FRAME, FRAME_BYTES, FRAME_BYTES_CAPACITY, FRAME_SLOTS, RESULT } from "./frame";

export { decide } from "./decide";
export {
  activeBuiltAtMs,
  activeVersion,
  attributeCount,
  attributeNameLen,
  attributeNamePtr,
  attributePassway,
  groupCount,
  groupFirstInstance,
  groupId,
  groupInstanceCount,
  groupNameLen,
  groupNamePtr,
  instanceCount,
  instanceHostLen,
  instanceHostPtr,
  instanceId,
  instancePort,
  instanceStatus,
  instanceWeight,
  policyCount,
  policyId,
  policyNameLen,
  policyNamePtr,
  routeCount,
  routeId,
  routeTimeoutMs,
} from "./meta";
export { commitLoad, prepareLoad } from "./snapshot";

/** Address of the request frame (header then FRAME_SLOTS attribute slots). */
export function frameAddress(): usize {
  return FRAME;
}
/** Attribute slots in the frame. */
export function frameSlotCapacity(): u32 {
  return FRAME_SLOTS;
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
