/**
 * The retry policy struct lbRetryDecision reads (little-endian; written from a ROUTES record by
 * balancing-load.ts routeRetryPolicy, or by wasm/balancing.ts; layout table docs/balancing.md
 * "WASM API"), the retry classes and attempt failure codes. A group's options are not here: the
 * balancers read them in place from its GROUPS record (format.ts GROUP_*).
 */

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
