/**
 * The bridge from a validated snapshot to the balancers (lb/): at every load, GROUPS and
 * INSTANCES become a new balancing generation (lb/generation.ts). Its groups point at their
 * GROUPS records, whose options the balancers read in place; its per-instance state —
 * in-flight counts, SWRR positions, EWMA, ejections, breakers — is carried over by instance id
 * from the previous one (docs/balancing.md, "Surviving swaps"). And per route, its retry policy
 * as the struct lb/retry.ts reads. Allocates only at load.
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
  ROUTE_BACKOFF_BASE_MS,
  ROUTE_BYTES,
  ROUTE_BACKOFF_MAX_MS,
  ROUTE_NUM_RETRIES,
  ROUTE_RETRY_BUDGET_PCT,
  ROUTE_RETRY_FLAGS,
  ROUTE_RETRY_MIN_CONCURRENCY,
  ROUTE_RETRY_ON,
  ROUTE_TIMEOUT_MS,
  S_GROUPS,
  S_INSTANCES,
  S_ROUTES,
} from "./format";
import {
  RETRY_BYTES,
  RP_BACKOFF_BASE_MS,
  RP_BACKOFF_MAX_MS,
  RP_BUDGET_PCT,
  RP_MIN_RETRY_CONCURRENCY,
  RP_NON_IDEMPOTENT,
  RP_NUM_RETRIES,
  RP_RETRY_ON,
  RP_TIMEOUT_MS,
} from "./lb/config";
import { beginGeneration, commitGeneration, LB_OK, setGroup, setInstance } from "./lb/generation";
import { ACTIVE, activeBase, sectionAddr, sectionCount } from "./view";

/** "host:port" of one instance while it is handed to setInstance (host ≤ 65535 bytes + ":65535"). */
const ADDRESS: usize = memory.data(65536 + 8, 16);
const RETRY_POLICY: usize = memory.data(<i32>RETRY_BYTES, 16);

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
 * The retry policy of route `route` (a ROUTES index of the active snapshot) as the struct
 * lbRetryDecision reads (lb/config.ts, 48 bytes), in a static area valid until the next call.
 * @returns its address, or 0 when there is no snapshot or no such route.
 */
export function routeRetryPolicy(route: u32): usize {
  if (activeBase() == 0 || route >= sectionCount(ACTIVE, S_ROUTES)) return 0;
  writeRetryPolicy(sectionAddr(ACTIVE, S_ROUTES) + <usize>route * ROUTE_BYTES);
  return RETRY_POLICY;
}

function writeRetryPolicy(r: usize): void {
  store<u32>(RETRY_POLICY + RP_RETRY_ON, <u32>load<u8>(r + ROUTE_RETRY_ON));
  store<u32>(RETRY_POLICY + RP_NUM_RETRIES, <u32>load<u8>(r + ROUTE_NUM_RETRIES));
  store<u32>(RETRY_POLICY + RP_NON_IDEMPOTENT, <u32>(load<u8>(r + ROUTE_RETRY_FLAGS) & 1));
  store<u32>(RETRY_POLICY + RP_BUDGET_PCT, <u32>load<u8>(r + ROUTE_RETRY_BUDGET_PCT));
  store<u32>(RETRY_POLICY + RP_MIN_RETRY_CONCURRENCY, load<u32>(r + ROUTE_RETRY_MIN_CONCURRENCY));
  store<f64>(RETRY_POLICY + RP_TIMEOUT_MS, <f64>load<u32>(r + ROUTE_TIMEOUT_MS));
  store<f64>(RETRY_POLICY + RP_BACKOFF_BASE_MS, <f64>load<u32>(r + ROUTE_BACKOFF_BASE_MS));
  store<f64>(RETRY_POLICY + RP_BACKOFF_MAX_MS, <f64>load<u32>(r + ROUTE_BACKOFF_MAX_MS));
}
