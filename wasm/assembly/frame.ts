/**
 * The request frame, the slot table, the result area and the scratch area: static regions of
 * linear memory the host writes before and reads after each call ("Request frame" in
 * docs/snapshot-format.md). Nothing here is allocated per request.
 *
 * Frame: i32 hostOff, hostLen, pathOff, pathLen, methodOff, methodLen (offsets into the byte
 * area), i32 route (written by route(), read by decide()), i32 reserved, then i32 laneOff,
 * laneLen, cellOff, cellLen: the request's lane tag and cell for OCTO's route rules (len ≤ 0 =
 * none), then i32 keysOff, keyCount: the hash-key table (below).
 * Hash-key table: keyCount entries of KEY_ENTRY_BYTES at keysOff in the byte area, one per hash
 * key attribute of the groups the route can reach (GROUPS.hashKeyAttribute): i32 ATTRIBUTES
 * index, i32 off, i32 len (−1 absent). The host writes it with the route's slots, so decide()
 * hashes the chosen group's key without returning to JS.
 * Slot i (64 bytes) of the matched route: i32 off, i32 len (−1 absent), u32 intern id, u32
 * flags, f64 double (host-parsed), then the VM's per-request caches: i64 int, u64 uint, u32 hash,
 * u32 ip family, u8[16] ip. The host writes flags = 0, or SLOT_DOUBLE_OK with the double.
 */
import { REQ_HOST, REQ_METHOD } from "./opcodes";

/** Slots per route (u8 slot operands; the compiler allows 255). */
export const SLOT_CAPACITY: u32 = 256;
export const SLOT_BYTES: usize = 64;
/** Size of the frame's byte area, in bytes (values that do not fit are passed as absent). */
export const FRAME_BYTES_CAPACITY: u32 = 1048576;
/** TO_STRING output per decision; the loader refuses routes that could need more. */
export const SCRATCH_CAPACITY: u32 = 65536;

export const FRAME: usize = memory.data(56, 16);
export const SLOTS: usize = memory.data(256 * 64, 16);
export const FRAME_BYTES: usize = memory.data(1048576, 16);
/** Result: i32 status, route, policy, group, instance, conditionErrors, probe (0/1), panic (0/1). */
export const RESULT: usize = memory.data(32, 16);
export const SCRATCH: usize = memory.data(65536, 16);

export const F_ROUTE: usize = 24;
export const F_LANE: usize = 32;
export const F_CELL: usize = 40;
export const F_KEYS: usize = 48;
export const F_KEY_COUNT: usize = 52;
/** A hash-key table entry: i32 attribute, i32 off, i32 len. */
export const KEY_ENTRY_BYTES: usize = 12;

// Slot fields.
export const SL_OFF: usize = 0;
export const SL_LEN: usize = 4;
export const SL_ID: usize = 8;
export const SL_FLAGS: usize = 12;
export const SL_DOUBLE: usize = 16;
export const SL_INT: usize = 24;
export const SL_UINT: usize = 32;
export const SL_HASH: usize = 40;
export const SL_IP_FAMILY: usize = 44;
export const SL_IP: usize = 48;
// Slot flags: bit 0 by the host, the rest by the VM during one decide().
export const SLOT_DOUBLE_OK: u32 = 1;
export const SLOT_INT_DONE: u32 = 2;
export const SLOT_INT_OK: u32 = 4;
export const SLOT_UINT_DONE: u32 = 8;
export const SLOT_UINT_OK: u32 = 16;
export const SLOT_HASH_DONE: u32 = 32;
export const SLOT_IP_DONE: u32 = 64;

/** Request fields in frame order: the (off, len) pair of each is at field × 8. */
export const FIELD_HOST: u32 = 0;
export const FIELD_PATH: u32 = 1;
export const FIELD_METHOD: u32 = 2;

// Decide statuses.
export const STATUS_OK: i32 = 0;
export const STATUS_NO_SNAPSHOT: i32 = 1;
export const STATUS_NO_ROUTE: i32 = 2;
export const STATUS_NO_INSTANCE: i32 = 3;

/** Packs an address and a byte length into a string payload. */
@inline export function packString(addr: usize, len: usize): i64 {
  return <i64>(<u64>addr | (<u64>len << 32));
}

/** Address of a packed string. */
@inline export function stringAddr(s: i64): usize {
  return <usize>(<u32>s);
}

/** Byte length of a packed string. */
@inline export function stringLen(s: i64): usize {
  return <usize>(<u64>s >>> 32);
}

/** The string at (off, len) in the byte area, or -1 when len < 0 or the range leaves the area. */
@inline export function areaString(off: i32, len: i32): i64 {
  // Unsigned compares also refuse negative values the host should never write.
  if (len < 0 || <u32>off > FRAME_BYTES_CAPACITY || <u32>len > FRAME_BYTES_CAPACITY - <u32>off) return -1;
  return packString(FRAME_BYTES + <usize>off, <usize>len);
}

/**
 * Host (FIELD_HOST), path or method of the request as a packed string; a field the host left
 * absent or out of range reads as the empty string.
 */
@inline export function requestField(field: u32): i64 {
  const at = FRAME + (<usize>field << 3);
  const s = areaString(load<i32>(at), load<i32>(at, 4));
  return s < 0 ? packString(FRAME_BYTES, 0) : s;
}

/** requestField of a REQ_METHOD / REQ_HOST / REQ_PATH operand (any other value reads the path). */
@inline export function requestOperand(f: u32): i64 {
  return requestField(f == REQ_METHOD ? FIELD_METHOD : f == REQ_HOST ? FIELD_HOST : FIELD_PATH);
}

/** Address of slot `i`'s entry. */
@inline export function slotAddr(i: u32): usize {
  return SLOTS + (<usize>i << 6);
}

/** Slot `i`'s value as a packed string, or -1 when absent (or out of the area). */
@inline export function slotString(i: u32): i64 {
  const s = slotAddr(i);
  return areaString(load<i32>(s, SL_OFF), load<i32>(s, SL_LEN));
}

/** Whether slot `i` holds a value. */
@inline export function slotPresent(i: u32): bool {
  return load<i32>(slotAddr(i), SL_LEN) >= 0;
}

/** Writes the result area (probe and panic 0) and returns `status`. Indices are -1 when none. */
export function writeResult(status: i32, route: i32, policy: i32, group: i32, instance: i32, errors: i32): i32 {
  store<i32>(RESULT, status);
  store<i32>(RESULT, route, 4);
  store<i32>(RESULT, policy, 8);
  store<i32>(RESULT, group, 12);
  store<i32>(RESULT, instance, 16);
  store<i32>(RESULT, errors, 20);
  store<u64>(RESULT, 0, 24);
  return status;
}
