/**
 * Codes the balancers share: the retryOn class bits and the failure codes of an attempt. The
 * options themselves are not copied anywhere: the balancers read a group's from its GROUPS
 * record and a route's retry policy from its ROUTES record, in place (format.ts).
 */

/** retryOn bits (ROUTES.retryOn, docs/snapshot-format.md): connect-failure, reset, timeout, gateway-error, 5xx. */
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
