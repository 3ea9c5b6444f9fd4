/**
 * The fixed-layout structs the host writes into linear memory (little-endian; the JS writer is
 * wasm/balancing.ts, the layout table docs/balancing.md "WASM API"): a group's whole policy
 * (GroupPolicy of wasm/reference/select.ts plus the group breaker limits), copied by
 * lbSetGroup, and a route's retry policy, read by lbRetryDecision. Independent of the snapshot
 * format, which will be wired to these later.
 */

/** Bytes of a group config struct. */
export const CONFIG_BYTES: usize = 160;

// Balancer.
/** u8 kind code, BALANCER_KINDS order: swrr 0, random 1, least-request 2, peak-ewma 3, ring-hash 4, maglev 5. */
export const C_KIND: usize = 0;
/** u8 flags: bit 0 cellFallback, bit 1 ring scale "envoy" (else "stable"), bit 2 alwaysEjectOneHost. */
export const C_FLAGS: usize = 1;
/** u8 healthy share below which the tier panics, percent (Envoy 50). */
export const C_PANIC_THRESHOLD_PCT: usize = 2;
/** u8 least request choice_count (2). */
export const C_LR_CHOICE_COUNT: usize = 3;
/** u32 ring hash minimum_ring_size (1024) and maximum_ring_size (1,048,576; Envoy's is 8,388,608). */
export const C_RING_MIN: usize = 4;
export const C_RING_MAX: usize = 8;
/** u32 maglev table size, prime ≤ 65537 (65537). */
export const C_MAGLEV_SIZE: usize = 12;
/** f64 least request active_request_bias (1.0). */
export const C_LR_BIAS: usize = 16;
/** f64 peak EWMA τ, ms (10,000). */
export const C_EWMA_DECAY_MS: usize = 24;
// Zone affinity, ppm (each ≥ 1).
export const C_SAME_ZONE_PPM: usize = 32;
export const C_OTHER_ZONE_PPM: usize = 36;
export const C_OTHER_REGION_PPM: usize = 40;
// Outlier detection (Envoy), u32 unless noted.
export const C_OD_CONSECUTIVE_5XX: usize = 44;
export const C_OD_CONSECUTIVE_GATEWAY: usize = 48;
export const C_OD_MAX_EJECTION_PCT: usize = 52;
/** f64 ms. */
export const C_OD_INTERVAL_MS: usize = 56;
export const C_OD_BASE_EJECTION_MS: usize = 64;
export const C_OD_MAX_EJECTION_MS: usize = 72;
/** u32 enforcement percentages 0–100. */
export const C_OD_ENFORCE_5XX: usize = 80;
export const C_OD_ENFORCE_GATEWAY: usize = 84;
export const C_OD_ENFORCE_SUCCESS_RATE: usize = 88;
export const C_OD_SR_MIN_HOSTS: usize = 92;
export const C_OD_SR_VOLUME: usize = 96;
/** u32 thousandths (1900 = 1.9). */
export const C_OD_SR_STDEV_FACTOR: usize = 100;
// Instance breaker (Sentinel), f64 unless noted.
export const C_BR_STAT_INTERVAL_MS: usize = 104;
export const C_BR_ERROR_RATIO: usize = 112;
export const C_BR_SLOW_RATIO: usize = 120;
export const C_BR_SLOW_CALL_MS: usize = 128;
export const C_BR_TIME_WINDOW_MS: usize = 136;
/** u32. */
export const C_BR_MIN_REQUESTS: usize = 144;
// Group breaker (Envoy max_requests / max_pending_requests), u32.
export const C_GB_MAX_REQUESTS: usize = 148;
export const C_GB_MAX_PENDING: usize = 152;
// 156: u32 reserved, 0.

export const FLAG_CELL_FALLBACK: u8 = 1;
export const FLAG_RING_SCALE_ENVOY: u8 = 2;
export const FLAG_ALWAYS_EJECT_ONE: u8 = 4;

export const KIND_SWRR: u8 = 0;
export const KIND_RANDOM: u8 = 1;
export const KIND_LEAST_REQUEST: u8 = 2;
export const KIND_PEAK_EWMA: u8 = 3;
export const KIND_RING_HASH: u8 = 4;
export const KIND_MAGLEV: u8 = 5;

/** Bytes of a retry policy struct. */
export const RETRY_BYTES: usize = 48;
/** u32 retryOn bits: 1 connect-failure, 2 reset, 4 timeout, 8 gateway-error, 16 5xx. */
export const RP_RETRY_ON: usize = 0;
export const RP_NUM_RETRIES: usize = 4;
/** u32 0/1. */
export const RP_NON_IDEMPOTENT: usize = 8;
export const RP_BUDGET_PCT: usize = 12;
export const RP_MIN_RETRY_CONCURRENCY: usize = 16;
// 20: u32 reserved, 0.
/** f64 ms: total timeout, back-off base and cap. */
export const RP_TIMEOUT_MS: usize = 24;
export const RP_BACKOFF_BASE_MS: usize = 32;
export const RP_BACKOFF_MAX_MS: usize = 40;

export const RETRY_ON_CONNECT: u32 = 1;
export const RETRY_ON_RESET: u32 = 2;
export const RETRY_ON_TIMEOUT: u32 = 4;
export const RETRY_ON_GATEWAY: u32 = 8;
export const RETRY_ON_5XX: u32 = 16;

/** Failure codes of an attempt without a response. */
export const FAILURE_NONE: u32 = 0;
export const FAILURE_CONNECT: u32 = 1;
export const FAILURE_RESET: u32 = 2;
export const FAILURE_TIMEOUT: u32 = 3;

/** HTTP status Envoy's outlier detector charges: connect failure → 503, timeout → 504. */
export function outcomeCode(status: u32, failure: u32): u32 {
  if (status > 0) return status;
  return failure == FAILURE_TIMEOUT ? 504 : 503;
}
