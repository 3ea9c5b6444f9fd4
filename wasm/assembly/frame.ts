/**
 * The request frame and the result area: static regions of linear memory the host writes before
 * and reads after each `decide()` call ("Request frame" in docs/snapshot-format.md).
 *
 * Frame: i32 hostOff, hostLen, pathOff, pathLen, methodOff, methodLen, attrCount, then attrCount
 * slots of {i32 off, i32 len} (len -1 = absent), one per ATTRIBUTES index. Offsets are relative
 * to the byte area. Values are read here as a packed string (address low 32 bits, byte length
 * high 32 bits, the VM's string payload) so nothing is copied or allocated.
 */

/** Attribute slots in the frame; a snapshot with more ATTRIBUTES is refused at load. */
export const FRAME_SLOTS: u32 = 1024;
/** Size of the frame's byte area, in bytes. */
export const FRAME_BYTES_CAPACITY: u32 = 65536;

const FRAME_HEADER_BYTES: usize = 28;
export const FRAME: usize = memory.data(28 + 1024 * 8, 16);
export const FRAME_BYTES: usize = memory.data(65536, 16);
/** Result: i32 status, route, policy, group, instance, conditionErrors. */
export const RESULT: usize = memory.data(24, 16);

// Frame fields.
const F_ATTR_COUNT: usize = 24;
/** Request fields in frame order: the (off, len) pair of each is at field × 8. Not LOAD_REQ's numbering. */
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
@inline function slotString(at: usize): i64 {
  const off = load<i32>(at);
  const len = load<i32>(at, 4);
  // Unsigned compares also refuse negative values the host should never write.
  if (len < 0 || <u32>off > FRAME_BYTES_CAPACITY || <u32>len > FRAME_BYTES_CAPACITY - <u32>off) return -1;
  return packString(FRAME_BYTES + <usize>off, <usize>len);
}

/**
 * Host (FIELD_HOST), path or method of the request as a packed string; a field the host left
 * absent or out of range reads as the empty string.
 */
@inline export function requestField(field: u32): i64 {
  const s = slotString(FRAME + (<usize>field << 3));
  return s < 0 ? packString(FRAME_BYTES, 0) : s;
}

/** Attribute `index` (an ATTRIBUTES index) as a packed string, or -1 when the request lacks it. */
@inline export function attributeValue(index: u32): i64 {
  let count = load<u32>(FRAME + F_ATTR_COUNT);
  if (count > FRAME_SLOTS) count = FRAME_SLOTS;
  if (index >= count) return -1;
  return slotString(FRAME + FRAME_HEADER_BYTES + (<usize>index << 3));
}

/** Writes the result area and returns `status`. Indices are -1 when none. */
export function writeResult(status: i32, route: i32, policy: i32, group: i32, instance: i32, errors: i32): i32 {
  store<i32>(RESULT, status);
  store<i32>(RESULT, route, 4);
  store<i32>(RESULT, policy, 8);
  store<i32>(RESULT, group, 12);
  store<i32>(RESULT, instance, 16);
  store<i32>(RESULT, errors, 20);
  return status;
}
