/**
 * Generations: each snapshot load (balancing-load.ts) describes its group set with
 * beginGeneration, setGroup and setInstance, then commitGeneration swaps it in. The commit
 * carries every instance's state record over by instance id and every group record by group id
 * (wasm/reference instance-state.ts carryOverStates, group-runtime.ts swapGroupRuntime),
 * preallocates the hash tables and the per-request scratch, and frees the previous generation,
 * so nothing is allocated while serving. A generation is two heap blocks: A (tables and strings, at begin) and
 * B (scratch and hash tables, at commit).
 */
import { bytesEqual } from "../bytes";
import {
  BALANCER_MAGLEV,
  BALANCER_RING_HASH,
  GROUP_ACTIVE_REQUEST_BIAS_MILLI,
  GROUP_BALANCER,
  GROUP_BREAKER_ERROR_RATIO_MILLI,
  GROUP_BREAKER_SLOW_RATIO_MILLI,
  GROUP_FIRST_INSTANCE,
  GROUP_ID,
  GROUP_INSTANCE_COUNT,
  GROUP_MAGLEV_TABLE_SIZE,
  GROUP_MAX_RING_SIZE,
  GROUP_MIN_RING_SIZE,
} from "../format";
import {
  GI_ACTIVE_REQUEST_BIAS,
  GI_BREAKER_ERROR_RATIO,
  GI_BREAKER_SLOW_RATIO,
  GI_COUNT,
  GI_FIRST,
  GI_ID,
  GI_RECORD,
  GI_TABLE,
  GI_TABLE_CAPACITY,
  GR_ID,
  GR_LAST_SWEEP,
  GROUP_INFO_BYTES,
  GROUP_RECORD_BYTES,
  II_ADDRESS,
  II_ALIVE_SINCE_MS,
  II_CELL,
  II_DRAINED,
  II_GROUP,
  II_ID,
  II_LANE,
  II_MAGLEV_OFFSET,
  II_MAGLEV_SKIP,
  II_RANK,
  II_REGION,
  II_ROLE,
  II_STATUS,
  II_WARMUP_MS,
  II_WEIGHT,
  II_ZONE,
  II_ZONE_DISTANCE,
  INSTANCE_INFO_BYTES,
  optionsOf,
  PLAN_META_BYTES,
  PM_OFFSET,
  PM_VALID,
  R_BREAKER_OPENED,
  R_BREAKER_PROBING,
  R_BREAKER_STATE,
  R_CONSECUTIVE_5XX,
  R_CONSECUTIVE_GATEWAY,
  R_EJECTED,
  R_HEALTHY_SINCE,
  R_ID,
  R_LAST_EJECTION,
  R_LAST_UNEJECTION,
  R_STATUS,
  BREAKER_CLOSED,
  RECORD_BYTES,
  resetWindow,
  STATUS_ALIVE,
} from "./records";
import { sortByText, sortKeys } from "./sort";
import { xxHash64 } from "./xxhash64";

/** Error codes of the generation API. */
export const LB_OK: i32 = 0;
export const LB_E_NO_GENERATION: i32 = -1;
export const LB_E_RANGE: i32 = -2;
export const LB_E_STRINGS: i32 = -3;
export const LB_E_CONFIG: i32 = -4;

const CALLER_CAPACITY: usize = 256;
// Zone, then region, CALLER_CAPACITY bytes each.
const CALLER: usize = memory.data(512, 16);
let callerZoneLen: usize = 0;
let callerRegionLen: usize = 0;

// The current generation.
export let groups: usize = 0;
export let groupRecords: usize = 0;
export let groupCount: u32 = 0;
export let infos: usize = 0;
export let records: usize = 0;
export let instanceCount: u32 = 0;
/** u64 (id << 32 | index), sorted: lookup by id. */
let sortedIds: usize = 0;
/** Per group, its offsets in address order: order[first + rank] = offset. */
export let order: usize = 0;
// Per-request scratch, sized for the largest group.
export let nodes: usize = 0; // u32 instance indices
export let positions: usize = 0; // u32 per group offset: hash-table builds
export let weights: usize = 0; // f64 effective weights
export let flags: usize = 0; // u8 per group offset
export let work: usize = 0; // 24 bytes per group offset: hash-table builds
// Per-group plan cache (select.ts): each group's cached node list in its own slot (u32 indices
// at planCache + PM_OFFSET·4, f64 weights at planCacheWeights + PM_OFFSET·8; slots are disjoint
// even if group ranges overlapped) and a PLAN_META_BYTES entry per group. A commit starts with
// no plan.
export let planCache: usize = 0;
export let planCacheWeights: usize = 0;
export let planMeta: usize = 0;
let blockA: usize = 0;
let blockB: usize = 0;

// The generation being described.
let nGroups: usize = 0;
let nGroupRecords: usize = 0;
let nGroupCount: u32 = 0;
let nInfos: usize = 0;
let nRecords: usize = 0;
let nInstanceCount: u32 = 0;
let nSortedIds: usize = 0;
let nOrder: usize = 0;
let nStrings: usize = 0;
let nStringsEnd: usize = 0;
let nBlockA: usize = 0;

/** The group info of group `g` in the current generation. */
// @ts-ignore: decorator
@inline export function groupInfo(g: u32): usize {
  return groups + <usize>g * GROUP_INFO_BYTES;
}
// @ts-ignore: decorator
@inline export function groupRecord(g: u32): usize {
  return groupRecords + <usize>g * GROUP_RECORD_BYTES;
}
// @ts-ignore: decorator
@inline export function info(i: u32): usize {
  return infos + <usize>i * INSTANCE_INFO_BYTES;
}
// @ts-ignore: decorator
@inline export function record(i: u32): usize {
  return records + <usize>i * RECORD_BYTES;
}

/** Group g's plan-cache entry (records.ts PM_*). */
// @ts-ignore: decorator
@inline export function planMetaOf(g: u32): usize {
  return planMeta + <usize>g * PLAN_META_BYTES;
}

/** Group g's cached plan is stale: its health or the caller's zone changed. */
export function invalidatePlan(g: u32): void {
  if (g < groupCount) store<u32>(planMetaOf(g) + PM_VALID, 0);
}

/**
 * The group of the instance whose record is `r` may have changed health (ejection, breaker
 * availability, warmup start): its cached plan is stale.
 */
export function invalidatePlanOf(r: usize): void {
  if (r < records) return;
  const i = (r - records) / RECORD_BYTES;
  if (i < <usize>instanceCount) invalidatePlan(load<u32>(info(<u32>i) + II_GROUP));
}

function align8(n: usize): usize {
  return (n + 7) & ~(<usize>7);
}

/**
 * Starts describing a generation of `groupCountIn` groups and `instanceCountIn` instances whose
 * strings total at most `stringBytes` bytes. A generation begun but not committed is dropped.
 * Allocates (may grow memory: the host re-creates its views). @returns LB_OK.
 */
export function beginGeneration(groupCountIn: u32, instanceCountIn: u32, stringBytes: u32): i32 {
  if (nBlockA != 0) heap.free(nBlockA);
  const g = <usize>groupCountIn;
  const n = <usize>instanceCountIn;
  const sizes = g * (GROUP_INFO_BYTES + GROUP_RECORD_BYTES) + n * (INSTANCE_INFO_BYTES + RECORD_BYTES + 8) + align8(n * 4);
  nBlockA = heap.alloc(sizes + <usize>stringBytes + 8);
  memory.fill(nBlockA, 0, sizes);
  nGroups = nBlockA;
  nGroupRecords = nGroups + g * GROUP_INFO_BYTES;
  nInfos = nGroupRecords + g * GROUP_RECORD_BYTES;
  nRecords = nInfos + n * INSTANCE_INFO_BYTES;
  nSortedIds = nRecords + n * RECORD_BYTES;
  nOrder = nSortedIds + n * 8;
  nStrings = nOrder + align8(n * 4);
  nStringsEnd = nStrings + <usize>stringBytes;
  nGroupCount = groupCountIn;
  nInstanceCount = instanceCountIn;
  return LB_OK;
}

/**
 * Group `g` of the generation being described: its GROUPS record at `record` (a validated
 * snapshot's, which stays in memory as long as this generation: the balancers read its options
 * in place) gives control's id, instances [first, first + count) and the options. The ratios a
 * pick or an outcome uses are converted from thousandths here, once per load.
 * @returns LB_OK, LB_E_NO_GENERATION, LB_E_RANGE (indices) or LB_E_CONFIG (kind > 5, maglev
 *   size not in [2, 65537] or above 65535 instances, ring min 0 or min > max).
 */
export function setGroup(g: u32, record: usize): i32 {
  if (nBlockA == 0) return LB_E_NO_GENERATION;
  const first = load<u32>(record + GROUP_FIRST_INSTANCE);
  const count = load<u32>(record + GROUP_INSTANCE_COUNT);
  if (g >= nGroupCount || <u64>first + <u64>count > <u64>nInstanceCount) return LB_E_RANGE;
  const kind = load<u8>(record + GROUP_BALANCER);
  if (kind > BALANCER_MAGLEV) return LB_E_CONFIG;
  if (kind == BALANCER_MAGLEV) {
    const m = load<u32>(record + GROUP_MAGLEV_TABLE_SIZE);
    if (m < 2 || m > 65537 || count > 65535) return LB_E_CONFIG;
  }
  if (kind == BALANCER_RING_HASH) {
    const min = load<u32>(record + GROUP_MIN_RING_SIZE);
    if (min == 0 || min > load<u32>(record + GROUP_MAX_RING_SIZE)) return LB_E_CONFIG;
  }
  const gi = nGroups + <usize>g * GROUP_INFO_BYTES;
  store<u32>(gi + GI_ID, load<u32>(record + GROUP_ID));
  store<u32>(gi + GI_FIRST, first);
  store<u32>(gi + GI_COUNT, count);
  store<u32>(gi + GI_RECORD, <u32>record);
  store<f64>(gi + GI_ACTIVE_REQUEST_BIAS, <f64>load<u32>(record + GROUP_ACTIVE_REQUEST_BIAS_MILLI) / 1000);
  store<f64>(gi + GI_BREAKER_ERROR_RATIO, <f64>load<u32>(record + GROUP_BREAKER_ERROR_RATIO_MILLI) / 1000);
  store<f64>(gi + GI_BREAKER_SLOW_RATIO, <f64>load<u32>(record + GROUP_BREAKER_SLOW_RATIO_MILLI) / 1000);
  for (let k: u32 = 0; k < count; k++) store<u32>(nInfos + <usize>(first + k) * INSTANCE_INFO_BYTES + II_GROUP, g);
  return LB_OK;
}

function copyString(field: usize, ptr: usize, len: usize): bool {
  if (nStrings + len > nStringsEnd) return false;
  memory.copy(nStrings, ptr, len);
  store<u32>(field, <u32>nStrings);
  store<u32>(field, <u32>len, 4);
  nStrings += len;
  return true;
}

/**
 * Instance `i` of the generation being described. Strings are (address, byte length) of UTF-8
 * the host wrote; they are copied. `aliveSinceMs` NaN = unknown (warmup then starts at commit).
 * @returns LB_OK, LB_E_NO_GENERATION, LB_E_RANGE or LB_E_STRINGS (more than stringBytes).
 */
export function setInstance(
  i: u32,
  id: u32,
  weight: u32,
  status: u32,
  role: u32,
  zonePtr: usize,
  zoneLen: usize,
  regionPtr: usize,
  regionLen: usize,
  lanePtr: usize,
  laneLen: usize,
  cellPtr: usize,
  cellLen: usize,
  addressPtr: usize,
  addressLen: usize,
  warmupMs: f64,
  aliveSinceMs: f64,
  drained: u32,
): i32 {
  if (nBlockA == 0) return LB_E_NO_GENERATION;
  if (i >= nInstanceCount) return LB_E_RANGE;
  const p = nInfos + <usize>i * INSTANCE_INFO_BYTES;
  store<u32>(p + II_ID, id);
  store<u32>(p + II_WEIGHT, weight);
  store<u8>(p + II_STATUS, <u8>status);
  store<u8>(p + II_ROLE, <u8>role);
  store<u8>(p + II_DRAINED, drained != 0 ? 1 : 0);
  store<f64>(p + II_WARMUP_MS, warmupMs);
  store<f64>(p + II_ALIVE_SINCE_MS, aliveSinceMs);
  const ok =
    copyString(p + II_ZONE, zonePtr, zoneLen) &&
    copyString(p + II_REGION, regionPtr, regionLen) &&
    copyString(p + II_LANE, lanePtr, laneLen) &&
    copyString(p + II_CELL, cellPtr, cellLen) &&
    copyString(p + II_ADDRESS, addressPtr, addressLen);
  return ok ? LB_OK : LB_E_STRINGS;
}

// @ts-ignore: decorator
@inline function strEq(field: usize, ptr: usize, len: usize): bool {
  return <usize>load<u32>(field, 4) == len && bytesEqual(<usize>load<u32>(field), ptr, len);
}

/** Distance class of an instance from the caller, as route-rules.ts zoneDistance. */
function zoneDistance(p: usize): u8 {
  if (callerZoneLen == 0 || strEq(p + II_ZONE, CALLER, callerZoneLen)) return 0;
  return callerRegionLen != 0 && strEq(p + II_REGION, CALLER + CALLER_CAPACITY, callerRegionLen) ? 1 : 2;
}

function updateZoneDistances(base: usize, count: u32): void {
  for (let i: u32 = 0; i < count; i++) {
    const p = base + <usize>i * INSTANCE_INFO_BYTES;
    store<u8>(p + II_ZONE_DISTANCE, zoneDistance(p));
  }
}

/**
 * The gateway's own zone and region (UTF-8, each ≤ 256 bytes; longer is cut), for zone
 * affinity. Set once per isolate; recomputes the current generation's distances. O(instances).
 */
export function setCaller(zonePtr: usize, zoneLen: usize, regionPtr: usize, regionLen: usize): void {
  callerZoneLen = zoneLen < CALLER_CAPACITY ? zoneLen : CALLER_CAPACITY;
  callerRegionLen = regionLen < CALLER_CAPACITY ? regionLen : CALLER_CAPACITY;
  memory.copy(CALLER, zonePtr, callerZoneLen);
  memory.copy(CALLER + CALLER_CAPACITY, regionPtr, callerRegionLen);
  updateZoneDistances(infos, instanceCount);
  for (let g: u32 = 0; g < groupCount; g++) invalidatePlan(g);
}

/** Current-generation index of instance `id`, or −1. O(log n). */
export function indexOfId(id: u32): i32 {
  let low: i32 = 0;
  let high: i32 = <i32>instanceCount;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (<u32>(load<u64>(sortedIds + (<usize>mid << 3)) >> 32) < id) low = mid + 1;
    else high = mid;
  }
  if (low < <i32>instanceCount && <u32>(load<u64>(sortedIds + (<usize>low << 3)) >> 32) == id) {
    return <i32>(<u32>load<u64>(sortedIds + (<usize>low << 3)));
  }
  return -1;
}

/**
 * Ring points to preallocate: for any subset S of the group, Σ points ≤ 2·min + 2·Σw/wmin + n
 * (stable scale; Envoy's scale stays below min + Σw/wmin + 1), capped by max + n.
 */
function ringCapacity(gi: usize): usize {
  const first = load<u32>(gi + GI_FIRST);
  const count = load<u32>(gi + GI_COUNT);
  let total: f64 = 0;
  let minW: f64 = Infinity;
  for (let k: u32 = 0; k < count; k++) {
    const w = <f64>load<u32>(nInfos + <usize>(first + k) * INSTANCE_INFO_BYTES + II_WEIGHT);
    if (w > 0) {
      total += w;
      if (w < minW) minW = w;
    }
  }
  if (total == 0) return 1;
  const min = <f64>load<u32>(optionsOf(gi) + GROUP_MIN_RING_SIZE);
  const max = <f64>load<u32>(optionsOf(gi) + GROUP_MAX_RING_SIZE);
  const bound = Math.min(2 * min + 2 * Math.ceil(total / minW) + 2, max) + <f64>count;
  return <usize>bound;
}

/** Per group: address order (ranks) and, for maglev, each instance's offset and skip. */
function prepareGroup(gi: usize): void {
  const first = load<u32>(gi + GI_FIRST);
  const count = load<u32>(gi + GI_COUNT);
  const ord = nOrder + (<usize>first << 2);
  for (let k: u32 = 0; k < count; k++) store<u32>(ord + (<usize>k << 2), k);
  sortByText(ord, nInfos + <usize>first * INSTANCE_INFO_BYTES + II_ADDRESS, count);
  for (let r: u32 = 0; r < count; r++) {
    const k = load<u32>(ord + (<usize>r << 2));
    store<u32>(nInfos + <usize>(first + k) * INSTANCE_INFO_BYTES + II_RANK, r);
  }
  if (load<u8>(optionsOf(gi) + GROUP_BALANCER) != BALANCER_MAGLEV) return;
  const m = <u64>load<u32>(optionsOf(gi) + GROUP_MAGLEV_TABLE_SIZE);
  for (let k: u32 = 0; k < count; k++) {
    const p = nInfos + <usize>(first + k) * INSTANCE_INFO_BYTES;
    const a = <usize>load<u32>(p + II_ADDRESS);
    const len = <usize>load<u32>(p + II_ADDRESS, 4);
    store<u32>(p + II_MAGLEV_OFFSET, <u32>(xxHash64(a, len, 0) % m));
    store<u32>(p + II_MAGLEV_SKIP, <u32>(xxHash64(a, len, 1) % (m - 1)) + 1);
  }
}

/** Table bytes a group needs: ring points × 12 (u64 hash + u32 owner), maglev slots × 2. */
function tableBytes(gi: usize): usize {
  const kind = load<u8>(optionsOf(gi) + GROUP_BALANCER);
  if (kind == BALANCER_RING_HASH) {
    const cap = ringCapacity(gi);
    store<u32>(gi + GI_TABLE_CAPACITY, <u32>cap);
    return align8(cap * 12);
  }
  if (kind == BALANCER_MAGLEV) {
    const m = <usize>load<u32>(optionsOf(gi) + GROUP_MAGLEV_TABLE_SIZE);
    store<u32>(gi + GI_TABLE_CAPACITY, <u32>m);
    return align8(m * 2);
  }
  return 0;
}

function previousGroupRecord(id: u32): usize {
  for (let g: u32 = 0; g < groupCount; g++) {
    const r = groupRecords + <usize>g * GROUP_RECORD_BYTES;
    if (load<u32>(r + GR_ID) == id) return r;
  }
  return 0;
}

/**
 * Swaps in the generation described since beginGeneration, at `nowMs`: records of instances
 * whose id was in the previous generation are copied (an instance back to ALIVE, or with a later
 * alive-since time, is un-ejected, gets a closed breaker and restarts its warmup at nowMs), new ones start fresh (warmup from aliveSinceMs, else nowMs); group records
 * likewise by group id (a new group's outlier clock starts at nowMs). Builds the address order
 * and maglev hashes, preallocates hash tables and scratch, frees the previous generation.
 * O(n log n). Allocates. @returns LB_OK or LB_E_NO_GENERATION.
 */
export function commitGeneration(nowMs: f64): i32 {
  if (nBlockA == 0) return LB_E_NO_GENERATION;
  let maxCount: usize = 1;
  let tables: usize = 0;
  let slots: usize = 0;
  for (let g: u32 = 0; g < nGroupCount; g++) {
    const gi = nGroups + <usize>g * GROUP_INFO_BYTES;
    prepareGroup(gi);
    const count = <usize>load<u32>(gi + GI_COUNT);
    if (count > maxCount) maxCount = count;
    // GI_TABLE holds the group's table bytes until block B exists (below: its address).
    const b = tableBytes(gi);
    tables += b;
    store<u32>(gi + GI_TABLE, <u32>b);
    slots += count;
  }
  const scratch = align8(maxCount * 4) * 2 + maxCount * 8 + align8(maxCount) + maxCount * 24;
  const cache = align8(slots * 4) + slots * 8 + <usize>nGroupCount * PLAN_META_BYTES;
  const nBlockB = heap.alloc(scratch + cache + tables + 8);
  const nPlanCache = nBlockB + scratch;
  const nPlanCacheWeights = nPlanCache + align8(slots * 4);
  const nPlanMeta = nPlanCacheWeights + slots * 8;
  memory.fill(nPlanMeta, 0, <usize>nGroupCount * PLAN_META_BYTES);
  let slot: u32 = 0;
  for (let g: u32 = 0; g < nGroupCount; g++) {
    store<u32>(nPlanMeta + <usize>g * PLAN_META_BYTES + PM_OFFSET, slot);
    slot += load<u32>(nGroups + <usize>g * GROUP_INFO_BYTES + GI_COUNT);
  }
  let t = nBlockB + scratch + cache;
  for (let g: u32 = 0; g < nGroupCount; g++) {
    const gi = nGroups + <usize>g * GROUP_INFO_BYTES;
    const bytes = <usize>load<u32>(gi + GI_TABLE);
    if (bytes > 0) {
      store<u32>(gi + GI_TABLE, <u32>t);
      t += bytes;
    }
  }
  // Instance records by id.
  for (let i: u32 = 0; i < nInstanceCount; i++) {
    const p = nInfos + <usize>i * INSTANCE_INFO_BYTES;
    const r = nRecords + <usize>i * RECORD_BYTES;
    const id = load<u32>(p + II_ID);
    const status = load<u8>(p + II_STATUS);
    const old = indexOfId(id);
    if (old >= 0) {
      const o = record(<u32>old);
      memory.copy(r, o, RECORD_BYTES);
      // Back in the registry: ALIVE again, or a later alive-since than the previous generation's
      // (control restamps it on every recovery; snapshots may coalesce the down-and-up).
      const cameBack = load<u8>(o + R_STATUS) != STATUS_ALIVE || load<f64>(p + II_ALIVE_SINCE_MS) > load<f64>(info(<u32>old) + II_ALIVE_SINCE_MS);
      if (status == STATUS_ALIVE && cameBack) {
        // The registry's active checks say it is back: as Envoy's
        // successful_active_health_check_uneject_host (default true), un-eject it now rather
        // than when its ejection time runs out, and ramp it up again.
        store<f64>(r + R_HEALTHY_SINCE, nowMs);
        if (load<u8>(r + R_EJECTED) != 0) {
          store<u8>(r + R_EJECTED, 0);
          store<f64>(r + R_LAST_UNEJECTION, nowMs);
        }
        store<u32>(r + R_CONSECUTIVE_5XX, 0);
        store<u32>(r + R_CONSECUTIVE_GATEWAY, 0);
        // Its breaker too: the failures that opened it belong to the life that ended.
        store<u8>(r + R_BREAKER_STATE, BREAKER_CLOSED);
        store<u8>(r + R_BREAKER_PROBING, 0);
        store<f64>(r + R_BREAKER_OPENED, -1);
        resetWindow(r, nowMs);
      }
    } else {
      const since = load<f64>(p + II_ALIVE_SINCE_MS);
      store<u32>(r + R_ID, id);
      store<f64>(r + R_HEALTHY_SINCE, isNaN(since) ? nowMs : since);
      store<f64>(r + R_LAST_EJECTION, -1);
      store<f64>(r + R_LAST_UNEJECTION, -1);
      store<f64>(r + R_BREAKER_OPENED, -1);
    }
    store<u8>(r + R_STATUS, status);
    store<u64>(nSortedIds + (<usize>i << 3), (<u64>id << 32) | <u64>i);
  }
  for (let g: u32 = 0; g < nGroupCount; g++) {
    const gi = nGroups + <usize>g * GROUP_INFO_BYTES;
    const r = nGroupRecords + <usize>g * GROUP_RECORD_BYTES;
    const id = load<u32>(gi + GI_ID);
    const old = previousGroupRecord(id);
    if (old != 0) memory.copy(r, old, GROUP_RECORD_BYTES);
    else store<f64>(r + GR_LAST_SWEEP, nowMs);
    store<u32>(r + GR_ID, id);
  }
  sortKeys(nSortedIds, nInstanceCount);
  updateZoneDistances(nInfos, nInstanceCount);
  if (blockA != 0) heap.free(blockA);
  if (blockB != 0) heap.free(blockB);
  blockA = nBlockA;
  blockB = nBlockB;
  nBlockA = 0;
  groups = nGroups;
  groupRecords = nGroupRecords;
  groupCount = nGroupCount;
  infos = nInfos;
  records = nRecords;
  instanceCount = nInstanceCount;
  sortedIds = nSortedIds;
  order = nOrder;
  nodes = nBlockB;
  positions = nodes + align8(maxCount * 4);
  weights = positions + align8(maxCount * 4);
  flags = weights + maxCount * 8;
  work = flags + align8(maxCount);
  planCache = nPlanCache;
  planCacheWeights = nPlanCacheWeights;
  planMeta = nPlanMeta;
  return LB_OK;
}
