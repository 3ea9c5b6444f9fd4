/**
 * What the gateway learns about one request while serving it, for its metrics, access-log line
 * and trace: filled by worker/gateway.ts (the decision) and worker/forward.ts (the attempts), read
 * once the response is ready.
 */
import type { RequestTrace } from "./tracer.ts";

export interface Exchange {
  /** Its X-Request-Id (worker/telemetry/request-id.ts). */
  readonly requestId: string;
  /** Route id, or -1 while none matched. */
  route: number;
  /** Group name ("" while none was decided). */
  group: string;
  /** The function version that served it, `appkey/name@n` ("" for upstream groups; worker/functions/router.ts). */
  functionVersion: string;
  /** `host:port` of the last instance tried, or null. */
  instance: string | null;
  /** Upstream attempts sent. */
  attempts: number;
  /** The last attempt's time to response headers or failure, ms; null without an attempt. */
  upstreamMs: number | null;
  /** The request URL as parsed for routing; null when the request was refused before. */
  url: URL | null;
  /** Where the client's address comes from (worker/request-attributes.ts, computed on demand); null as url. */
  client: { clientIp(): string | undefined } | null;
  /** Its trace when tracing is on (worker/telemetry/tracer.ts), sampled or not; null when off. */
  readonly trace: RequestTrace | null;
}

/** A fresh record for a request with id `requestId` and trace `trace`. */
export function newExchange(requestId: string, trace: RequestTrace | null = null): Exchange {
  return {
    requestId,
    route: -1,
    group: "",
    functionVersion: "",
    instance: null,
    attempts: 0,
    upstreamMs: null,
    url: null,
    client: null,
    trace,
  };
}
