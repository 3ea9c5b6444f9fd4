/**
 * The tracer's configuration and its bindings (docs/tracing.md): TRACE_ENDPOINT,
 * TRACE_SAMPLE_RATIO, TRACE_PROTOCOL, TRACE_SERVICE_NAME. Pure.
 */

/** OTLP/HTTP payload encodings (OTLP specification, "OTLP/HTTP"; the names OTEL_EXPORTER_OTLP_PROTOCOL uses). */
export const TRACE_PROTOCOLS = ["http/protobuf", "http/json"] as const;
export type TraceProtocol = (typeof TRACE_PROTOCOLS)[number];

/** What the tracer needs. */
export interface TraceConfig {
  /**
   * Full URL spans are POSTed to, e.g. `http://127.0.0.1:4318/v1/traces` (used as given, as
   * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is). Null: tracing is off, begin() returns null.
   */
  endpoint: string | null;
  /** Share of new traces (requests without a `traceparent`) that are sampled, 0…1. */
  sampleRatio: number;
  protocol: TraceProtocol;
  /** Resource attribute `service.name`. */
  serviceName: string;
  /** Resource attribute `service.version`; omitted when undefined. */
  serviceVersion?: string;
  /** Extra request headers of every export (e.g. a collector's auth). */
  headers?: Record<string, string>;
}

/** The bindings readTraceConfig reads (strings, as wrangler vars and environment variables are). */
export const TRACE_BINDINGS = ["TRACE_ENDPOINT", "TRACE_SAMPLE_RATIO", "TRACE_PROTOCOL", "TRACE_SERVICE_NAME"] as const;

/**
 * Default TRACE_SAMPLE_RATIO: 1 % of new traces. Requests that arrive with a `traceparent`
 * follow their caller's decision whatever the ratio, so a ratio only governs traces the gateway
 * starts itself; 1 % of the gateway's request rate (≈ 100 traces/s at 10k req/s per process)
 * is what a collector comfortably takes and still shows every route under load, while sampling
 * everything would make the export the largest cost of a proxied request.
 */
export const DEFAULT_SAMPLE_RATIO = 0.01;
export const DEFAULT_TRACE_PROTOCOL: TraceProtocol = "http/protobuf";
export const DEFAULT_SERVICE_NAME = "sluice-gateway";

/**
 * Validates the TRACE_* bindings and applies the defaults.
 * - TRACE_ENDPOINT unset or empty: tracing off (`endpoint: null`); otherwise an absolute
 *   http(s) URL, used as the full export URL;
 * - TRACE_SAMPLE_RATIO: a decimal number in 0…1 (default DEFAULT_SAMPLE_RATIO);
 * - TRACE_PROTOCOL: `http/protobuf` (default) or `http/json`;
 * - TRACE_SERVICE_NAME: non-empty (default `sluice-gateway`).
 * @param env the Worker's bindings (or environment variables) by name.
 * @throws Error naming the binding when a value is malformed (the gateway refuses to start, as
 *   for its other bindings, rather than trace silently otherwise than configured).
 */
export function readTraceConfig(env: Record<string, string | undefined>): TraceConfig {
  const endpointText = env.TRACE_ENDPOINT?.trim() ?? "";
  let endpoint: string | null = null;
  if (endpointText !== "") {
    let url: URL;
    try {
      url = new URL(endpointText);
    } catch {
      throw new Error(`TRACE_ENDPOINT must be an absolute http(s) URL, got '${endpointText}'`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new Error(`TRACE_ENDPOINT must be an http(s) URL, got '${endpointText}'`);
    }
    endpoint = url.href;
  }

  const ratioText = env.TRACE_SAMPLE_RATIO?.trim() ?? "";
  const sampleRatio = ratioText === "" ? DEFAULT_SAMPLE_RATIO : Number(ratioText);
  if (!/^(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?$/i.test(ratioText || "0") || !(sampleRatio >= 0 && sampleRatio <= 1)) {
    throw new Error(`TRACE_SAMPLE_RATIO must be a number from 0 to 1, got '${ratioText}'`);
  }

  const protocolText = env.TRACE_PROTOCOL?.trim() || DEFAULT_TRACE_PROTOCOL;
  if (!(TRACE_PROTOCOLS as readonly string[]).includes(protocolText)) {
    throw new Error(`TRACE_PROTOCOL must be one of ${TRACE_PROTOCOLS.join(", ")}, got '${protocolText}'`);
  }

  const serviceName = env.TRACE_SERVICE_NAME?.trim() || DEFAULT_SERVICE_NAME;
  return { endpoint, sampleRatio, protocol: protocolText as TraceProtocol, serviceName };
}
