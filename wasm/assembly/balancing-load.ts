/**
 * The bridge from a validated snapshot to the balancers (lb/): at every load, GROUPS and
 * INSTANCES become a new balancing generation (lb/generation.ts). Its groups point at their
 * GROUPS records, whose options the balancers read in place; its per-instance state —
 * in-flight counts, SWRR positions, EWMA, ejections, breakers — is carried over by instance id
 * from the previous one (docs/balancing.md, "Surviving swaps"). And per route, the record whose
 * retry policy lb/retry.ts reads. Allocates only at load.
 */
import {
  GROUP_BYTES,
  INSTANCE_ALIVE_SINCE_MS,
  INSTANCE_BYTES,
  INSTANCE_CELL,
  INSTANCE_FLAG_DRAINED,
  INSTANCE_FLAGS,
  INSTANCE_HOST,
  INSTANCE_ID,
  INSTANCE_LANE,
  INSTANCE_PORT,
  INSTANCE_REGION,
  INSTANCE_ROLE,
  INSTANCE_STATUS,
  INSTANCE_WARMUP_MS,
  INSTANCE_WEIGHT,
  INSTANCE_ZONE,
  ROUTE_BYTES,
  S_GROUPS,
  S_INSTANCES,
  S_ROUTES,
} from "./format";
import { beginGeneration, commitGeneration, LB_OK, setGroup, setInstance } from "./lb/generation";
import { ACTIVE, activeBase, sectionAddr, sectionCount } from "./view";

/** "host:port" of one instance while it is handed to setInstance (host ≤ 65535 bytes + ":65535"). */
const ADDRESS: usize = memory.data(65536 + 8, 16);

// @ts-ignore: decorator
@inline function strPtr(base: usize, rec: usize): usize {
  return base + <usize>load<u32>(rec);
}

// @ts-ignore: decorator
@inline function strLen(rec: usize): usize {
  return <usize>load<u32>(rec, 4);
}

/** Writes the decimal digits of `port` at `at`; returns the count. */
function writePort(at: usize, port: u32): usize {
  let n: usize = port < 10 ? 1 : port < 100 ? 2 : port < 1000 ? 3 : port < 10000 ? 4 : 5;
  for (let k = n; k > 0; k--) {
    store<u8>(at + k - 1, <u8>(48 + (port % 10)));
    port /= 10;
  }
  return n;
}

/**
 * Makes the groups and instances of the validated snapshot in `view` (file at `base`) the
 * current balancing generation, carrying state over from the previous one. Called by
 * commitLoad() after validation, so every field is in range.
 * @returns LB_OK, or an lb/generation.ts error (the load is then refused).
 */
export function loadBalancing(view: usize, base: usize, nowMs: f64): i32 {
  const groupCount = sectionCount(view, S_GROUPS);
  const instanceCount = sectionCount(view, S_INSTANCES);
  const groups = sectionAddr(view, S_GROUPS);
  const instances = sectionAddr(view, S_INSTANCES);
  let stringBytes: u64 = 0;
  for (let i: u32 = 0; i < instanceCount; i++) {
    const r = instances + <usize>i * INSTANCE_BYTES;
    stringBytes += <u64>(strLen(r + INSTANCE_ZONE) + strLen(r + INSTANCE_REGION) + strLen(r + INSTANCE_LANE) + strLen(r + INSTANCE_CELL));
    stringBytes += <u64>strLen(r + INSTANCE_HOST) + 6; // ":" + at most 5 port digits
  }
  if (stringBytes > 0x7fffffff) return -3;
  let err = beginGeneration(groupCount, instanceCount, <u32>stringBytes);
  if (err != LB_OK) return err;
  for (let g: u32 = 0; g < groupCount; g++) {
    err = setGroup(g, groups + <usize>g * GROUP_BYTES);
    if (err != LB_OK) return err;
  }
  for (let i: u32 = 0; i < instanceCount; i++) {
    const r = instances + <usize>i * INSTANCE_BYTES;
    const hostLen = strLen(r + INSTANCE_HOST);
    if (hostLen > 65535) return -3;
    memory.copy(ADDRESS, strPtr(base, r + INSTANCE_HOST), hostLen);
    store<u8>(ADDRESS + hostLen, 58); // ':'
    const addressLen = hostLen + 1 + writePort(ADDRESS + hostLen + 1, <u32>load<u16>(r + INSTANCE_PORT));
    err = setInstance(
      i,
      load<u32>(r + INSTANCE_ID),
      load<u32>(r + INSTANCE_WEIGHT),
      <u32>load<u8>(r + INSTANCE_STATUS),
      <u32>load<u8>(r + INSTANCE_ROLE),
      strPtr(base, r + INSTANCE_ZONE),
      strLen(r + INSTANCE_ZONE),
      strPtr(base, r + INSTANCE_REGION),
      strLen(r + INSTANCE_REGION),
      strPtr(base, r + INSTANCE_LANE),
      strLen(r + INSTANCE_LANE),
      strPtr(base, r + INSTANCE_CELL),
      strLen(r + INSTANCE_CELL),
      ADDRESS,
      addressLen,
      <f64>load<u32>(r + INSTANCE_WARMUP_MS),
      <f64>load<u64>(r + INSTANCE_ALIVE_SINCE_MS),
      (load<u8>(r + INSTANCE_FLAGS) & INSTANCE_FLAG_DRAINED) != 0 ? 1 : 0,
    );
    if (err != LB_OK) return err;
  }
  return commitGeneration(nowMs);
}

/**
 * The ROUTES record of route `route` (an index into the active snapshot), whose retry fields
 * lbRetryDecision reads in place; valid until the snapshot after the next one is loaded.
 * @returns its address, or 0 when there is no snapshot or no such route.
 */
export function routeRetryPolicy(route: u32): usize {
  if (activeBase() == 0 || route >= sectionCount(ACTIVE, S_ROUTES)) return 0;
  return sectionAddr(ACTIVE, S_ROUTES) + <usize>route * ROUTE_BYTES;
}
