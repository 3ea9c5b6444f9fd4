/**
 * One traced request exported with the runtime's own fetch: what test/worker/telemetry/
 * runtimes.test.ts runs on workerd (bundled as the gateway is), Bun and Deno (from source, as
 * their gateway entries load it). It continues INCOMING_TRACEPARENT, records one attempt, and
 * flushes to `endpoint`.
 */
import { createTracer, readTraceConfig, type TracerStats } from "../../../worker/telemetry/tracer.ts";

/** The caller's context every probe continues. */
export const INCOMING_TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/** What the probe reports: the tracer's counters and the ids it made. */
export interface ProbeReport {
  stats: TracerStats;
  serverSpanId: string;
  attemptTraceparent: string;
}

/**
 * @param endpoint the OTLP/HTTP traces URL.
 * @param protocol `http/protobuf` or `http/json`.
 * @param runtime recorded as `sluice.request_id` so the receiver can tell the runtimes apart.
 */
export async function exportOneTrace(endpoint: string, protocol: string, runtime: string): Promise<ProbeReport> {
  const tracer = createTracer(readTraceConfig({ TRACE_ENDPOINT: endpoint, TRACE_PROTOCOL: protocol, TRACE_SAMPLE_RATIO: "0" }));
  const now = Date.now();
  const trace = tracer.begin(INCOMING_TRACEPARENT, "rojo=00f067aa0ba902b7", now)!;
  const attempt = trace.attempt(now + 1);
  attempt.end({ endUnixMs: now + 2, statusCode: 200, outcome: "success", serverAddress: "127.0.0.1", serverPort: 9101, attempt: 1 });
  trace.end({ endUnixMs: now + 3, method: "GET", route: "r1", group: "stable", statusCode: 200, snapshotVersion: "1", requestId: runtime });
  await tracer.flush();
  return { stats: tracer.stats(), serverSpanId: trace.spanId, attemptTraceparent: attempt.traceparent };
}
