/**
 * Validation of GROUPS and INSTANCES in a staged snapshot (docs/snapshot-format.md, format 4):
 * every string and slice in bounds, and every balancing option inside the range the spec gives
 * it, so the balancers can use the fields without checks (no zero-sized maglev table, no ring
 * with min > max, no ratio above 2, no balancer kind the module does not have).
 */
import { E_BAD_INDEX, E_BAD_STRING, E_BAD_VALUE, LOAD_OK } from "./errors";
import {
  ACTIVE_REQUEST_BIAS_MAX_MILLI, ATTRIBUTE_BYTES, ATTRIBUTE_SOURCE, BALANCER_MAX, BREAKER_RATIO_MAX_MILLI, CHOICE_COUNT_MAX,
  GROUP_ACTIVE_REQUEST_BIAS_MILLI, GROUP_BALANCER, GROUP_BASE_EJECTION_MS, GROUP_BREAKER_ERROR_RATIO_MILLI,
  GROUP_BREAKER_MIN_REQUESTS, GROUP_BREAKER_SLOW_CALL_MS, GROUP_BREAKER_SLOW_RATIO_MILLI, GROUP_BREAKER_STAT_INTERVAL_MS,
  GROUP_BREAKER_TIME_WINDOW_MS, GROUP_BYTES, GROUP_CHOICE_COUNT, GROUP_CONSECUTIVE_5XX, GROUP_CONSECUTIVE_GATEWAY_FAILURE,
  GROUP_ENFORCING_5XX, GROUP_ENFORCING_GATEWAY_FAILURE, GROUP_ENFORCING_SUCCESS_RATE, GROUP_EWMA_DECAY_MS,
  GROUP_FIRST_INSTANCE, GROUP_FLAGS, GROUP_FLAGS_ALL, GROUP_HASH_KEY_ATTRIBUTE, GROUP_HASH_KEY_SOURCE, GROUP_INSTANCE_COUNT,
  GROUP_MAGLEV_TABLE_SIZE, GROUP_MAX_EJECTION_MS, GROUP_MAX_EJECTION_PCT, GROUP_MAX_REQUESTS, GROUP_MAX_RING_SIZE,
  GROUP_MIN_RING_SIZE, GROUP_NAME, GROUP_OTHER_REGION_PPM, GROUP_OTHER_ZONE_PPM, GROUP_OUTLIER_INTERVAL_MS,
  GROUP_PANIC_THRESHOLD_PCT, GROUP_SAME_ZONE_PPM, GROUP_SUCCESS_RATE_VOLUME, HASH_KEY_NONE, INSTANCE_BYTES, INSTANCE_CELL,
  INSTANCE_FLAG_DRAINED, INSTANCE_FLAGS, INSTANCE_HOST, INSTANCE_LANE, INSTANCE_REGION, INSTANCE_ROLE, INSTANCE_STATUS,
  INSTANCE_VERSION, INSTANCE_WARMUP_MS, INSTANCE_WEIGHT, INSTANCE_ZONE, MAGLEV_TABLE_SIZE_MAX, NO_ATTRIBUTE, PPM_MAX,
  RING_SIZE_MAX, ROLE_MAX, S_ATTRIBUTES, S_GROUPS, S_INSTANCES, SOURCE_BODY, SOURCE_CLIENT, STATUS_MAX,
  WARMUP_MAX_MS, WEIGHT_MAX,
} from "./format";
import { strrefAtOk } from "./string-bounds";
import { sectionAddr, sectionCount } from "./view";

/** Whether `n` is prime, by trial division (n ≤ 65537: at most 256 steps, once per group per load). */
function isPrime(n: u32): bool {
  if (n < 2) return false;
  for (let d: u32 = 2; d * d <= n; d++) if (n % d == 0) return false;
  return true;
}

/** Whether `v` is in [min, max]. */
@inline function inRange(v: u32, min: u32, max: u32): bool {
  return v >= min && v <= max;
}

/**
 * Checks INSTANCES, then GROUPS; strrefs against the load's bounds (string-bounds.ts).
 * @returns LOAD_OK or the first E_* code found (E_BAD_STRING, E_BAD_VALUE, E_BAD_INDEX).
 */
export function checkGroupSections(view: usize): i32 {
  const e = checkInstances(view);
  return e != LOAD_OK ? e : checkGroups(view);
}

function checkInstances(view: usize): i32 {
  for (let i: u32 = 0, n = sectionCount(view, S_INSTANCES); i < n; i++) {
    const r = sectionAddr(view, S_INSTANCES) + i * INSTANCE_BYTES;
    if (load<u8>(r + INSTANCE_STATUS) > STATUS_MAX || load<u32>(r + INSTANCE_WEIGHT) > WEIGHT_MAX) return E_BAD_VALUE;
    if (load<u8>(r + INSTANCE_ROLE) > ROLE_MAX || load<u32>(r + INSTANCE_WARMUP_MS) > WARMUP_MAX_MS) return E_BAD_VALUE;
    if ((load<u8>(r + INSTANCE_FLAGS) & ~INSTANCE_FLAG_DRAINED) != 0) return E_BAD_VALUE;
    if (!strrefAtOk(r + INSTANCE_HOST) || !strrefAtOk(r + INSTANCE_ZONE) || !strrefAtOk(r + INSTANCE_LANE)) return E_BAD_STRING;
    if (!strrefAtOk(r + INSTANCE_VERSION) || !strrefAtOk(r + INSTANCE_REGION) || !strrefAtOk(r + INSTANCE_CELL)) return E_BAD_STRING;
  }
  return LOAD_OK;
}

function checkGroups(view: usize): i32 {
  const instances = sectionCount(view, S_INSTANCES);
  for (let i: u32 = 0, n = sectionCount(view, S_GROUPS); i < n; i++) {
    const r = sectionAddr(view, S_GROUPS) + i * GROUP_BYTES;
    if (!strrefAtOk(r + GROUP_NAME)) return E_BAD_STRING;
    if (<u64>load<u32>(r + GROUP_FIRST_INSTANCE) + <u64>load<u32>(r + GROUP_INSTANCE_COUNT) > <u64>instances) return E_BAD_INDEX;
    const e = checkHashKey(view, r);
    if (e != LOAD_OK) return e;
    if (!optionsOk(r)) return E_BAD_VALUE;
  }
  return LOAD_OK;
}

/** hashKeySource and hashKeyAttribute: both none, or an ATTRIBUTES record of that source (query, header, cookie, client). */
function checkHashKey(view: usize, r: usize): i32 {
  const source = load<u8>(r + GROUP_HASH_KEY_SOURCE);
  const attribute = <u32>load<u16>(r + GROUP_HASH_KEY_ATTRIBUTE);
  if (source == HASH_KEY_NONE) return attribute == NO_ATTRIBUTE ? LOAD_OK : E_BAD_VALUE;
  if (source == SOURCE_BODY || source > SOURCE_CLIENT) return E_BAD_VALUE;
  if (attribute >= sectionCount(view, S_ATTRIBUTES)) return E_BAD_INDEX;
  const a = sectionAddr(view, S_ATTRIBUTES) + attribute * ATTRIBUTE_BYTES;
  return load<u8>(a + ATTRIBUTE_SOURCE) == source ? LOAD_OK : E_BAD_VALUE;
}

/** Every option field of GROUPS record `r` within the spec's range. */
function optionsOk(r: usize): bool {
  if (load<u8>(r + GROUP_BALANCER) > BALANCER_MAX || (load<u8>(r + GROUP_FLAGS) & ~GROUP_FLAGS_ALL) != 0) return false;
  if (load<u8>(r + GROUP_PANIC_THRESHOLD_PCT) > 100 || load<u8>(r + GROUP_MAX_EJECTION_PCT) > 100) return false;
  const choices = load<u8>(r + GROUP_CHOICE_COUNT);
  if (choices < 2 || choices > CHOICE_COUNT_MAX) return false;
  const minRing = load<u32>(r + GROUP_MIN_RING_SIZE);
  if (!inRange(minRing, 1, RING_SIZE_MAX) || !inRange(load<u32>(r + GROUP_MAX_RING_SIZE), minRing, RING_SIZE_MAX)) return false;
  const maglev = load<u32>(r + GROUP_MAGLEV_TABLE_SIZE);
  if (maglev > MAGLEV_TABLE_SIZE_MAX || !isPrime(maglev)) return false;
  if (load<u32>(r + GROUP_ACTIVE_REQUEST_BIAS_MILLI) > ACTIVE_REQUEST_BIAS_MAX_MILLI || load<u32>(r + GROUP_EWMA_DECAY_MS) == 0) return false;
  if (!inRange(load<u32>(r + GROUP_SAME_ZONE_PPM), 1, PPM_MAX) || !inRange(load<u32>(r + GROUP_OTHER_ZONE_PPM), 1, PPM_MAX)) return false;
  if (!inRange(load<u32>(r + GROUP_OTHER_REGION_PPM), 1, PPM_MAX)) return false;
  if (load<u32>(r + GROUP_CONSECUTIVE_5XX) == 0 || load<u32>(r + GROUP_CONSECUTIVE_GATEWAY_FAILURE) == 0) return false;
  if (load<u32>(r + GROUP_OUTLIER_INTERVAL_MS) == 0 || load<u32>(r + GROUP_SUCCESS_RATE_VOLUME) == 0) return false;
  const baseEjection = load<u32>(r + GROUP_BASE_EJECTION_MS);
  if (baseEjection == 0 || load<u32>(r + GROUP_MAX_EJECTION_MS) < baseEjection) return false;
  if (load<u8>(r + GROUP_ENFORCING_5XX) > 100 || load<u8>(r + GROUP_ENFORCING_GATEWAY_FAILURE) > 100) return false;
  if (load<u8>(r + GROUP_ENFORCING_SUCCESS_RATE) > 100) return false;
  if (load<u32>(r + GROUP_BREAKER_STAT_INTERVAL_MS) == 0 || load<u32>(r + GROUP_BREAKER_MIN_REQUESTS) == 0) return false;
  if (load<u32>(r + GROUP_BREAKER_ERROR_RATIO_MILLI) > BREAKER_RATIO_MAX_MILLI) return false;
  if (load<u32>(r + GROUP_BREAKER_SLOW_RATIO_MILLI) > BREAKER_RATIO_MAX_MILLI) return false;
  if (load<u32>(r + GROUP_BREAKER_SLOW_CALL_MS) == 0 || load<u32>(r + GROUP_BREAKER_TIME_WINDOW_MS) == 0) return false;
  return load<u32>(r + GROUP_MAX_REQUESTS) != 0;
}
