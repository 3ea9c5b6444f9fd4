/** The gateway's own JSON answers (never an upstream's): errors and the status document. */

/** Error codes the gateway answers with, and their HTTP status. */
export const GATEWAY_ERRORS = {
  no_snapshot: 503,
  no_route: 404,
  no_instance: 503,
  overflow: 503,
  activation_timeout: 503,
  upstream_unreachable: 502,
  upstream_timeout: 504,
  bad_request: 400,
  method_not_allowed: 405,
  request_timeout: 408,
  function_unavailable: 503,
  function_error: 502,
} as const;

export type GatewayError = keyof typeof GATEWAY_ERRORS;

/**
 * `{"error": code, "message": …}` with the code's status.
 * @param headers added to the answer, e.g. `retry-after` for the activator's 503s.
 */
export function errorResponse(code: GatewayError, message: string, headers?: Record<string, string>): Response {
  return Response.json(
    { error: code, message },
    { status: GATEWAY_ERRORS[code], headers: headers ? { "cache-control": "no-store", ...headers } : { "cache-control": "no-store" } },
  );
}
