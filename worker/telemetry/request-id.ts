/**
 * `X-Request-Id`: kept when the client (or a proxy before the gateway) sent a well-formed one,
 * generated otherwise; the gateway sends it upstream and back to the client, and logs it — as
 * Envoy's request_id_extension with `preserve_external_request_id` and
 * `always_set_request_id_in_response`, and APISIX's request-id plugin.
 */

/** The header, lowercase. */
export const REQUEST_ID_HEADER = "x-request-id";

/**
 * What an incoming id must look like to be kept: 1–128 characters of letters, digits and
 * `-_.:+/=@` — UUIDs, ULIDs, base64 and the ids of common proxies fit; anything else (spaces,
 * quotes, control characters, overlong values) could break log lines or header parsers
 * downstream, so it is replaced rather than passed on.
 */
const WELL_FORMED = /^[A-Za-z0-9\-_.:+/=@]{1,128}$/;

/** The request's id: the incoming `x-request-id` when well-formed, else a new random UUID (v4). */
export function requestId(incoming: string | null): string {
  return incoming !== null && WELL_FORMED.test(incoming) ? incoming : crypto.randomUUID();
}
