/**
 * One upstream attempt: fetch with a per-try deadline and the request's total deadline, and the
 * outcome the balancer's feedback and the retry decision need (status, failure class, latency).
 *
 * Failure classes (as Envoy's retry_on / outlier detection see them): `timeout` when the per-try
 * or total deadline fired before the response headers; otherwise any fetch error is a network
 * failure. workerd reports a refused connection and a reset alike ("Network connection lost."),
 * so the gateway cannot know whether the upstream received anything: the failure is reported as
 * `connect` (nothing sent, safe to re-send) for idempotent methods, where re-sending is safe
 * either way, and as `reset` otherwise, so a POST is never re-sent on a guess.
 */ import { FAILURE_CODES } from "../wasm/host.ts";
import type { AttemptOutcomeLabel } from "./telemetry/wire.ts";

/** The WASM balancer's failure codes (docs/balancing.md, "WASM API"; 0 = a response came). */
export const Failure = { NONE: 0, CONNECT: FAILURE_CODES.connect, RESET: FAILURE_CODES.reset, TIMEOUT: FAILURE_CODES.timeout } as const;
export type FailureCode = (typeof Failure)[keyof typeof Failure];

/** How one attempt ended. */
export interface AttemptOutcome {
  /** The upstream's response (headers received; the body still streaming), or null. */
  response: Response | null;
  /** HTTP status, 0 when there was no response. */
  status: number;
  failure: FailureCode;
  /** From sending to the response headers (or the failure), ms. */
  latencyMs: number;
  /** Which deadline fired, for the error body: "try" or "total"; null when none did. */
  deadline: "try" | "total" | null;
  /** The fetch error's message when there was no response. */
  error: string | null;
  /** The failure came from reading the client's request body (worker/client-body.ts), not the upstream. */
  clientFault: boolean;
}

/** The attempt's `outcome` label in the metrics (worker/telemetry/wire.ts ATTEMPT_OUTCOMES). */
export function outcomeLabel(outcome: AttemptOutcome): AttemptOutcomeLabel {
  switch (outcome.failure) {
    case Failure.NONE:
      return outcome.status >= 500 ? "http_5xx" : "success";
    case Failure.CONNECT:
      return "connect_failure";
    case Failure.TIMEOUT:
      return "timeout";
    default:
      return "reset";
  }
}

/** Methods RFC 9110 §9.2.2 calls idempotent: re-sending them is safe. */
export function isIdempotentMethod(method: string): boolean {
  return method === "GET" || method === "HEAD" || method === "OPTIONS" || method === "TRACE" || method === "PUT" || method === "DELETE";
}

/**
 * Sends the request `build(signal)` makes (built per attempt, so the signal is part of it and
 * fetch() copies nothing) and waits for the response headers.
 * @param method the request's method (decides `connect` vs `reset`, above).
 * @param perTryMs the attempt's own deadline, ms (0 = none); cleared once headers arrive.
 * @param totalDeadlineMs the request's absolute deadline (Date.now() clock, ms). Its signal stays
 *   on the fetch after the headers, but workerd does not cut a response body when it fires: a
 *   slow body streams on (a deviation test/e2e/proxy-conformance.test.ts records).
 * Never throws: transport errors come back as outcomes.
 */
export async function sendAttempt(
  build: (signal: AbortSignal) => Request,
  method: string,
  perTryMs: number,
  totalDeadlineMs: number,
): Promise<AttemptOutcome> {
  const started = Date.now();
  // Latency from the monotonic clock: sub-ms where the runtime has it (Bun, Deno; workerd's
  // clock advances only on I/O, as Date.now() does).
  const startedPrecise = performance.now();
  const totalLeft = Math.max(1, totalDeadlineMs - started);
  const total = AbortSignal.timeout(totalLeft);
  let tryTimer: ReturnType<typeof setTimeout> | undefined;
  let signal: AbortSignal = total;
  const tryController = perTryMs > 0 && perTryMs < totalLeft ? new AbortController() : null;
  if (tryController) {
    tryTimer = setTimeout(() => tryController.abort(new DOMException("per-try timeout", "TimeoutError")), perTryMs);
    signal = AbortSignal.any([total, tryController.signal]);
  }
  try {
    const response = await fetch(build(signal));
    return {
      response,
      status: response.status,
      failure: Failure.NONE,
      latencyMs: performance.now() - startedPrecise,
      deadline: null,
      error: null,
      clientFault: false,
    };
  } catch (err) {
    const latencyMs = performance.now() - startedPrecise;
    const deadline = total.aborted ? "total" : tryController?.signal.aborted ? "try" : null;
    const failure = deadline ? Failure.TIMEOUT : isIdempotentMethod(method) ? Failure.CONNECT : Failure.RESET;
    return { response: null, status: 0, failure, latencyMs, deadline, error: (err as Error).message ?? String(err), clientFault: false };
  } finally {
    if (tryTimer !== undefined) clearTimeout(tryTimer);
  }
}
