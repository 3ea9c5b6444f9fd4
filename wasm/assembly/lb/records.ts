/**
 * Layouts of the per-generation tables (docs/balancing.md, "State and where it lives in WASM
 * memory"): the 128-byte instance state record and the 64-byte group record, which survive
 * generation swaps (carried over by id), and the static per-generation info each load sets
 * (balancing-load.ts → generation.ts setGroup / setInstance). Offsets in bytes; times f64 ms.
 */

/** Instance state record: everything a request leaves behind on an instance. */
export const RECORD_BYTES: usize = 128;
export const R_ID: usize = 0; // u32
export const R_STATUS: usize = 4; // u8 registry status last seen
export const R_EJECTED: usize = 5; // u8
export const R_BREAKER_STATE: usize = 6; // u8 BREAKER_*
export const R_BREAKER_PROBING: usize = 7; // u8
export const R_ACTIVE: usize = 8; // u32 attempts in flight
export const R_CONSECUTIVE_5XX: usize = 12; // u32
export const R_CONSECUTIVE_GATEWAY: usize = 16; // u32
export const R_NUM_EJECTIONS: usize = 20; // u32
export const R_EJECT_BACKOFF: usize = 24; // u32
export const R_SR_TOTAL: usize = 28; // u32
export const R_SR_SUCCESS: usize = 32; // u32
export const R_SR_LAST_TOTAL: usize = 36; // u32
export const R_SR_LAST_SUCCESS: usize = 40; // u32
export const R_BREAKER_TOTAL: usize = 44; // u32
export const R_BREAKER_ERRORS: usize = 48; // u32
export const R_BREAKER_SLOW: usize = 52; // u32
export const R_SWRR: usize = 56; // f64 smooth WRR current weight
export const R_EWMA: usize = 64; // f64 ms
export const R_EWMA_STAMP: usize = 72; // f64 ms
export const R_HEALTHY_SINCE: usize = 80; // f64 ms, start of the warmup ramp
export const R_LAST_EJECTION: usize = 88; // f64 ms, −1 = never
export const R_LAST_UNEJECTION: usize = 96; // f64 ms, −1 = never
export const R_BREAKER_OPENED: usize = 104; // f64 ms
export const R_BREAKER_WINDOW: usize = 112; // f64 ms
// 120: u64 reserved, 0.

export const BREAKER_CLOSED: u8 = 0;
export const BREAKER_OPEN: u8 = 1;
export const BREAKER_HALF_OPEN: u8 = 2;

/** Starts record `r`'s breaker statistic window at `start` with no calls counted. */
export function resetWindow(r: usize, start: f64): void {
  store<f64>(r + R_BREAKER_WINDOW, start);
  store<u32>(r + R_BREAKER_TOTAL, 0);
  store<u32>(r + R_BREAKER_ERRORS, 0);
  store<u32>(r + R_BREAKER_SLOW, 0);
}

/** Group record: counters and the outlier detector's clock, carried over by group id. */
export const GROUP_RECORD_BYTES: usize = 64;
export const GR_ID: usize = 0; // u32
export const GR_ACTIVE: usize = 4; // u32 client requests running
export const GR_PENDING: usize = 8; // u32 admitted, waiting for a slot
export const GR_ACTIVE_RETRIES: usize = 12; // u32
export const GR_OVERFLOW: usize = 16; // u64 Envoy upstream_rq_pending_overflow
export const GR_RETRY_OVERFLOW: usize = 24; // u64 Envoy upstream_rq_retry_overflow
export const GR_PANIC: usize = 32; // u64 Envoy lb_healthy_panic
export const GR_OUTLIER_OVERFLOW: usize = 40; // u64 Envoy ejections_overflow
export const GR_OUTLIER_ENFORCED: usize = 48; // u64 Envoy ejections_enforced_total
export const GR_LAST_SWEEP: usize = 56; // f64 ms

/**
 * Static group info (not carried over): identity, members, hash table, the address of the
 * group's GROUPS record in its snapshot (its options, read in place; the file outlives the
 * generation, snapshot.ts), and the options a pick or an outcome would otherwise divide.
 */
export const GI_ID: usize = 0; // u32
export const GI_FIRST: usize = 4; // u32 first instance index
export const GI_COUNT: usize = 8; // u32 instances
export const GI_TABLE: usize = 12; // u32 address of the hash table (0 = none)
export const GI_TABLE_CAPACITY: usize = 16; // u32 ring points / maglev slots preallocated
export const GI_TABLE_LENGTH: usize = 20; // u32 points (ring) or slots (maglev) built; 0 = empty
export const GI_SIGNATURE: usize = 24; // u64 node set + weights the table was built for
export const GI_TABLE_BUILT: usize = 32; // u32 0/1
export const GI_RECORD: usize = 36; // u32 address of the GROUPS record (format.ts GROUP_*)
export const GI_ACTIVE_REQUEST_BIAS: usize = 40; // f64 GROUP_ACTIVE_REQUEST_BIAS_MILLI / 1000
export const GI_BREAKER_ERROR_RATIO: usize = 48; // f64 GROUP_BREAKER_ERROR_RATIO_MILLI / 1000
export const GI_BREAKER_SLOW_RATIO: usize = 56; // f64 GROUP_BREAKER_SLOW_RATIO_MILLI / 1000
export const GROUP_INFO_BYTES: usize = 64;

/** The GROUPS record (options) of the group whose info is at `gi`. */
// @ts-ignore: decorator
@inline export function optionsOf(gi: usize): usize {
  return <usize>load<u32>(gi + GI_RECORD);
}

/**
 * Plan-cache entry per group (select.ts; block B, set at commit): steps 1–6's result for
 * an untagged first attempt, valid while PM_VALID (cleared by invalidatePlan on every health
 * change) and PM_AT ≤ now < PM_UNTIL (the next time-driven change: a breaker window ending).
 */
export const PLAN_META_BYTES: usize = 48;
export const PM_VALID: usize = 0; // u32 0/1
export const PM_COUNT: usize = 4; // u32 nodes
export const PM_PANIC: usize = 8; // u32 0/1
export const PM_TIER: usize = 12; // i32 TIER_*
export const PM_AT: usize = 16; // f64 ms the plan was made at
export const PM_UNTIL: usize = 24; // f64 ms, exclusive
export const PM_SIGNATURE: usize = 32; // u64 node set + weights (hash kinds' table check)
export const PM_OFFSET: usize = 40; // u32 the group's slot in the cache arrays (Σ counts of earlier groups)

/** Static instance info (not carried over). Strings are (address, byte length) of UTF-8. */
export const II_ID: usize = 0; // u32
export const II_WEIGHT: usize = 4; // u32 configured weight
export const II_STATUS: usize = 8; // u8 STATUS_*
export const II_ROLE: usize = 9; // u8 ROLE_*
export const II_DRAINED: usize = 10; // u8
export const II_ZONE_DISTANCE: usize = 11; // u8 0 same zone, 1 same region, 2 other region
export const II_GROUP: usize = 12; // u32 group index
export const II_WARMUP_MS: usize = 16; // f64
export const II_ALIVE_SINCE_MS: usize = 24; // f64, NaN = unknown
export const II_ZONE: usize = 32; // u32 ptr, u32 len
export const II_REGION: usize = 40;
export const II_LANE: usize = 48;
export const II_CELL: usize = 56;
export const II_ADDRESS: usize = 64;
export const II_RANK: usize = 72; // u32 position in the group's address order
export const II_MAGLEV_OFFSET: usize = 76; // u32 xxHash64(address) mod M
export const II_MAGLEV_SKIP: usize = 80; // u32 xxHash64(address, 1) mod (M − 1) + 1
export const INSTANCE_INFO_BYTES: usize = 88;

export const STATUS_ALIVE: u8 = 2;
export const ROLE_PRIMARY: u8 = 0;
export const ROLE_BACKUP: u8 = 1;
