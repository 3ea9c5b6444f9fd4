/**
 * Ring hash (ketama; Envoy ring_hash over xxHash64): each node puts points on a 64-bit ring at
 * xxHash64("<address>_<i>"), a hash maps to the first point ≥ it, wrapping. Point counts as
 * wasm/reference/ring-hash.ts: "stable" scale (per-unit count rounded up to a power of two, so
 * removing a node moves only its keys) or Envoy's. Built into the group's preallocated table
 * (u64 hashes, then u32 owners as group offsets); build O(R log R), pick O(log R).
 */
import { GROUP_FLAG_RING_SCALE_ENVOY, GROUP_FLAGS, GROUP_MAX_RING_SIZE, GROUP_MIN_RING_SIZE } from "../format";
import { info, order, positions } from "./generation";
import { GI_COUNT, GI_FIRST, GI_TABLE, GI_TABLE_CAPACITY, GI_TABLE_LENGTH, II_ADDRESS, optionsOf } from "./records";
import { sortPairs } from "./sort";
import { xxHash64 } from "./xxhash64";

const KEY_CAPACITY: usize = 4096;
const KEY: usize = memory.data(<i32>KEY_CAPACITY, 8);

function nextPowerOfTwo(n: f64): f64 {
  let p: f64 = 1;
  while (p < n) p *= 2;
  return p;
}

/** xxHash64 of "<address>_<i>"; an address above 4 KiB is cut (addresses are host:port). */
function pointHash(addressField: usize, i: u32): u64 {
  let len = <usize>load<u32>(addressField, 4);
  if (len > KEY_CAPACITY - 12) len = KEY_CAPACITY - 12;
  memory.copy(KEY, <usize>load<u32>(addressField), len);
  store<u8>(KEY + len++, 0x5f);
  let digits: usize = 1;
  for (let v = i; v >= 10; v /= 10) digits++;
  let v = i;
  for (let d = digits; d-- > 0; ) {
    store<u8>(KEY + len + d, <u8>(0x30 + (v % 10)));
    v /= 10;
  }
  return xxHash64(KEY, len + digits, 0);
}

/**
 * Builds group info `gi`'s ring over the first `n` nodes (u32 at `nodes`) with their configured weights (f64 at `weights`)
 * (integers > 0), in address order so every gateway builds the same ring.
 */
export function buildRing(gi: usize, nodes: usize, weights: usize, n: u32): void {
  const first = load<u32>(gi + GI_FIRST);
  const count = load<u32>(gi + GI_COUNT);
  const cap = <usize>load<u32>(gi + GI_TABLE_CAPACITY);
  const hashes = <usize>load<u32>(gi + GI_TABLE);
  const owners = hashes + cap * 8;
  const options = optionsOf(gi);
  const min = <f64>load<u32>(options + GROUP_MIN_RING_SIZE);
  const max = <f64>load<u32>(options + GROUP_MAX_RING_SIZE);
  const envoy = (load<u8>(options + GROUP_FLAGS) & GROUP_FLAG_RING_SCALE_ENVOY) != 0;
  memory.fill(positions, 0, <usize>count << 2);
  let total: f64 = 0;
  let minW: f64 = Infinity;
  for (let k: u32 = 0; k < n; k++) {
    store<u32>(positions + (<usize>(load<u32>(nodes + (<usize>k << 2)) - first) << 2), k + 1);
    const w = load<f64>(weights + (<usize>k << 3));
    total += w;
    if (w < minW) minW = w;
  }
  let perUnit: f64 = 0;
  let scale: f64 = 0;
  if (envoy) {
    // Envoy: scale = min(ceil(minNorm · min) / minNorm, max); counts from running sums.
    const minNorm = minW / total;
    scale = Math.min(Math.ceil(minNorm * min) / minNorm, max);
  } else {
    perUnit = nextPowerOfTwo(Math.ceil((min * minW) / total));
    let sum: f64 = 0;
    for (let k: u32 = 0; k < n; k++) sum += Math.max(1, Math.floor((perUnit * load<f64>(weights + (<usize>k << 3))) / minW + 0.5));
    if (sum > max) perUnit = Math.max(1, Math.floor((max * minW) / total));
  }
  let points: usize = 0;
  let current: f64 = 0;
  let target: f64 = 0;
  for (let r: u32 = 0; r < count; r++) {
    const offset = load<u32>(order + (<usize>(first + r) << 2));
    const position = load<u32>(positions + (<usize>offset << 2));
    if (position == 0) continue;
    const w = load<f64>(weights + (<usize>(position - 1) << 3));
    let c: u32 = 0;
    if (envoy) {
      target += (scale * w) / total;
      while (current < target) {
        c++;
        current++;
      }
    } else {
      c = <u32>Math.max(1, Math.floor((perUnit * w) / minW + 0.5));
    }
    const addressField = info(first + offset) + II_ADDRESS;
    for (let i: u32 = 0; i < c && points < cap; i++, points++) {
      store<u64>(hashes + (points << 3), pointHash(addressField, i));
      store<u32>(owners + (points << 2), r);
    }
  }
  // Equal hashes keep address order, as the reference's stable sort: ties go by rank.
  sortPairs(hashes, owners, points);
  for (let p: usize = 0; p < points; p++) {
    const ownerAt = owners + (p << 2);
    store<u32>(ownerAt, load<u32>(order + (<usize>(first + load<u32>(ownerAt)) << 2)));
  }
  store<u32>(gi + GI_TABLE_LENGTH, <u32>points);
}

/**
 * The instance for `hash`: the first point ≥ hash (wrapping), moved `attempt` points on for a
 * retry (Envoy). O(log R). @returns the instance index, or −1 when the ring is empty.
 */
export function pickRing(gi: usize, hash: u64, attempt: u32): i32 {
  const length = <usize>load<u32>(gi + GI_TABLE_LENGTH);
  if (length == 0) return -1;
  const hashes = <usize>load<u32>(gi + GI_TABLE);
  const owners = hashes + (<usize>load<u32>(gi + GI_TABLE_CAPACITY)) * 8;
  let low: usize = 0;
  let high = length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (load<u64>(hashes + (mid << 3)) < hash) low = mid + 1;
    else high = mid;
  }
  let index: usize = low == length ? 0 : low;
  if (attempt > 0) index = (index + <usize>attempt) % length;
  return <i32>(load<u32>(gi + GI_FIRST) + load<u32>(owners + (index << 2)));
}
