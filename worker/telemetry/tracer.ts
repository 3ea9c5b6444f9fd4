/**
 * The gateway's tracing: W3C Trace Context in, a SERVER span for the gateway's decision and a
 * CLIENT span per upstream attempt, exported as OTLP/HTTP (docs/tracing.md). One Tracer per
 * isolate; the gateway calls begin() per request, attempt() per upstream try, end() on both,
 * and flush() from a background loop.
 *
 * Cost model: with no endpoint, begin() returns null and nothing else runs. An unsampled
 * request gets ids for the `traceparent` it sends upstream and nothing more: no span record, no
 * queue entry, no export. Sampled spans are plain records until flush() encodes them
 * (worker/telemetry/otlp-encode.ts).
 *
 * Semantics: W3C Trace Context level 1 (worker/telemetry/trace-context.ts); sampling OTel
 * `parentbased_traceidratio` (worker/telemetry/sampler.ts); span names and attributes after the
 * OTel HTTP semantic conventions (server and client spans), plus `sluice.*` attributes.
 */

import { encodeSpans, OTLP_CONTENT_TYPE, type SpanAttributes, type SpanRecord, spanResource } from "./otlp-encode.ts";
import { rejectionThreshold, shouldSample } from "./sampler.ts";
import type { TraceConfig } from "./trace-config.ts";
import { acceptTracestate, formatTraceparent, parseTraceparent, randomSpanId, randomTraceId, SAMPLED_FLAG } from "./trace-context.ts";
import type { AttemptOutcomeLabel } from "./wire.ts";
import { HTTP_METHODS } from "./wire.ts";

export {
  DEFAULT_SAMPLE_RATIO,
  DEFAULT_SERVICE_NAME,
  DEFAULT_TRACE_PROTOCOL,
  readTraceConfig,
  TRACE_BINDINGS,
  type TraceConfig,
  type TraceProtocol,
} from "./trace-config.ts";

/** Finished sampled spans kept for the next flush; more are dropped (and counted). */
export const MAX_QUEUED_SPANS = 2048;
/** An export that has not answered in this long is abandoned, ms. */
export const EXPORT_TIMEOUT_MS = 10_000;

/** How an upstream attempt ended (worker/telemetry/wire.ts ATTEMPT_OUTCOMES). */
export type AttemptOutcome = AttemptOutcomeLabel;

/** What AttemptTrace.end records on the CLIENT span. */
export interface AttemptEnd {
  /** When the response headers came or the attempt failed, Unix ms. */
  endUnixMs: number;
  /** The upstream's status, or 0 when there was no response. */
  statusCode: number;
  outcome: AttemptOutcome;
  /** The instance's host (IP literal or DNS name): `server.address`. */
  serverAddress: string;
  /** `server.port`. */
  serverPort: number;
  /** 1 for the first try, 2 for the first retry …: `sluice.attempt`. */
  attempt: number;
}

/** What RequestTrace.end records on the SERVER span. */
export interface RequestEnd {
  /** When the response headers were sent (or the error answered), Unix ms. */
  endUnixMs: number;
  /** The request method as received. */
  method: string;
  /** The matched route's id, "" when none matched (the span is then named by the method only). */
  route: string;
  /** The decided group's name, "" when none was decided. */
  group: string;
  /** The policy that decided the group, when one did. */
  policy?: string;
  /** The status the client got. */
  statusCode: number;
  /** The snapshot version that routed the request ("" when none was loaded). */
  snapshotVersion: string;
  /** The gateway's id for the request. */
  requestId: string;
}

/** One upstream attempt's trace: its headers for the upstream request, and end(). */
export interface AttemptTrace {
  /** `traceparent` to send upstream: the request's trace-id, this attempt's span id, the request's sampled flag. */
  readonly traceparent: string;
  /** `tracestate` to send upstream (the incoming one, validated), or null to send none. */
  readonly tracestate: string | null;
  /** Records the CLIENT span (sampled requests only; otherwise a no-op). Idempotent: a second call is ignored. */
  end(fields: AttemptEnd): void;
}

/** One request's trace, from begin() to end(). */
export interface RequestTrace {
  /** The trace-id, 32 hex digits (the incoming one, or new). */
  readonly traceId: string;
  /** The SERVER span's id, 16 hex digits. */
  readonly spanId: string;
  /** Whether the request's spans are recorded and exported. */
  readonly sampled: boolean;
  /**
   * A new CLIENT span, child of this request's SERVER span.
   * @param startUnixMs when the attempt is sent, Unix ms.
   */
  attempt(startUnixMs: number): AttemptTrace;
  /**
   * Records the SERVER span and queues it with the request's ended attempt spans (attempt spans
   * are named after the request's method, which is known here). Idempotent: a second call is ignored.
   */
  end(fields: RequestEnd): void;
}

/** Counters of one Tracer, for the status document and tests. */
export interface TracerStats {
  /** Spans waiting for the next flush. */
  queued: number;
  /** Spans dropped because the queue was full. */
  droppedSpans: number;
  /** Spans in exports that got a 2xx. */
  exportedSpans: number;
  /** Exports abandoned (no 2xx after the retry, or a network error / timeout), and their spans. */
  failedExports: number;
  failedSpans: number;
}

/** Statuses after which an export is sent again once (OTLP specification, "OTLP/HTTP Throttling" / "Retryable Response Codes"). */
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/** The methods kept as they are in `http.request.method`; any other is `_OTHER` (OTel HTTP conventions). */
const KNOWN_METHODS: ReadonlySet<string> = new Set(HTTP_METHODS);

/** Anything that sends the export: the global fetch, or a test's. */
export type ExportFetch = (url: string, init: RequestInit) => Promise<Response>;

/**
 * The OTLP tracer of one isolate. Build with createTracer; see the module doc for the cost model.
 */
export class Tracer {
  private readonly config: TraceConfig;
  private readonly threshold: number;
  private readonly resource: ReturnType<typeof spanResource>;
  private readonly send: ExportFetch;
  private queue: SpanRecord[] = [];
  private inFlight: Promise<void> | null = null;
  private readonly counters = { droppedSpans: 0, exportedSpans: 0, failedExports: 0, failedSpans: 0 };

  /** @param send the fetch used for exports (default: the runtime's global fetch). */
  constructor(config: TraceConfig, send: ExportFetch = (url, init) => fetch(url, init)) {
    this.config = config;
    this.threshold = rejectionThreshold(config.sampleRatio);
    this.resource = spanResource({ serviceName: config.serviceName, serviceVersion: config.serviceVersion });
    this.send = send;
  }

  /**
   * Continues the incoming trace or starts one (W3C Trace Context §4.2/§4.3) and decides sampling
   * (parent-based, else TraceIdRatioBased). An invalid `traceparent` counts as absent, and then
   * `tracestate` is ignored too (§3.3.2).
   * @param incomingTraceparent the request's `traceparent` header, or null.
   * @param incomingTracestate the request's `tracestate` header, or null.
   * @param startUnixMs when the request arrived, Unix ms.
   * @returns null when tracing is off (no endpoint): nothing else to do, nothing to propagate.
   */
  begin(incomingTraceparent: string | null, incomingTracestate: string | null, startUnixMs: number): RequestTrace | null {
    if (this.config.endpoint === null) return null;
    const parent = parseTraceparent(incomingTraceparent);
    const traceId = parent ? parent.traceId : randomTraceId();
    const sampled = shouldSample(parent ? parent.flags : null, traceId, this.threshold);
    const tracestate = parent ? acceptTracestate(incomingTracestate) : null;
    return new TracedRequest(this, {
      traceId,
      spanId: randomSpanId(),
      remoteParentId: parent ? parent.parentId : null,
      sampled,
      tracestate,
      startUnixMs,
    });
  }

  /** Queues finished spans of a sampled request, dropping (and counting) what does not fit. Called by RequestTrace.end, not by the gateway. */
  enqueue(spans: SpanRecord[]): void {
    const room = MAX_QUEUED_SPANS - this.queue.length;
    if (spans.length > room) this.counters.droppedSpans += spans.length - Math.max(room, 0);
    for (let i = 0; i < spans.length && i < room; i += 1) this.queue.push(spans[i]!);
  }

  /** The tracer's counters now. */
  stats(): TracerStats {
    return { queued: this.queue.length, ...this.counters };
  }

  /**
   * Exports every queued span as one OTLP/HTTP request: POST to the endpoint, Content-Type
   * `application/x-protobuf` or `application/json` (OTLP specification, "OTLP/HTTP"). A 429,
   * 502, 503 or 504 answer is retried once; any other failure, a network error or no answer
   * within EXPORT_TIMEOUT_MS drops the batch and counts it (failedExports, failedSpans).
   * Returns at once (no allocation, no promise work beyond the call) when nothing is queued;
   * while an export is in flight, returns that export (spans queued meanwhile go next time).
   * Never rejects.
   */
  flush(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (this.queue.length === 0 || this.config.endpoint === null) return RESOLVED;
    const batch = this.queue;
    this.queue = [];
    this.inFlight = this.export(batch).finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async export(batch: SpanRecord[]): Promise<void> {
    const endpoint = this.config.endpoint!;
    try {
      const body = encodeSpans(batch, this.resource, this.config.protocol, this.config.serviceVersion);
      const init = (): RequestInit => ({
        method: "POST",
        headers: { ...this.config.headers, "content-type": OTLP_CONTENT_TYPE[this.config.protocol] },
        // Workers' and Node's BodyInit typings differ on typed arrays' buffer type; both accept these.
        body: body as BodyInit,
        signal: AbortSignal.timeout(EXPORT_TIMEOUT_MS),
      });
      let response = await this.send(endpoint, init());
      if (RETRYABLE_STATUS.has(response.status)) {
        await response.body?.cancel();
        response = await this.send(endpoint, init());
      }
      // The body (an ExportTraceServiceResponse, maybe a partial success) is not needed: release it.
      await response.body?.cancel();
      if (response.ok) {
        this.counters.exportedSpans += batch.length;
        return;
      }
    } catch {
      // A network error, a timeout or a bug in encoding: the batch is dropped and counted below.
    }
    this.counters.failedExports += 1;
    this.counters.failedSpans += batch.length;
  }
}

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * The isolate's tracer for `config` (readTraceConfig). With `endpoint` null it is off: begin()
 * returns null and flush() resolves at once, so the gateway's `tracer.begin(...)?.…` costs one call.
 * @param send the fetch for exports (default: the global fetch); tests pass their own.
 */
export function createTracer(config: TraceConfig, send?: ExportFetch): Tracer {
  return new Tracer(config, send);
}

/** What a TracedRequest is made from besides its public ids. */
interface TracedRequestPrivate {
  remoteParentId: string | null;
  tracestate: string | null;
  startUnixMs: number;
}

/** A pending attempt's fields until the request ends. */
interface AttemptRecord {
  spanId: string;
  startUnixMs: number;
  end: AttemptEnd | null;
}

/** RequestTrace of one request (sampled or not: an unsampled one records nothing). */
class TracedRequest implements RequestTrace {
  private attempts: AttemptRecord[] | null = null;
  private ended = false;

  private readonly tracer: Tracer;
  readonly traceId: string;
  readonly spanId: string;
  /** The incoming `traceparent`'s parent-id: the SERVER span's remote parent; null for a root span. */
  private readonly remoteParentId: string | null;
  readonly sampled: boolean;
  private readonly tracestate: string | null;
  private readonly startUnixMs: number;

  constructor(tracer: Tracer, context: Pick<RequestTrace, "traceId" | "spanId" | "sampled"> & TracedRequestPrivate) {
    this.tracer = tracer;
    this.traceId = context.traceId;
    this.spanId = context.spanId;
    this.remoteParentId = context.remoteParentId;
    this.sampled = context.sampled;
    this.tracestate = context.tracestate;
    this.startUnixMs = context.startUnixMs;
  }

  attempt(startUnixMs: number): AttemptTrace {
    const spanId = randomSpanId();
    const traceparent = formatTraceparent(this.traceId, spanId, this.sampled ? SAMPLED_FLAG : 0);
    if (!this.sampled) return { traceparent, tracestate: this.tracestate, end: ignoreEnd };
    const record: AttemptRecord = { spanId, startUnixMs, end: null };
    if (this.attempts === null) this.attempts = [record];
    else this.attempts.push(record);
    return {
      traceparent,
      tracestate: this.tracestate,
      end(fields) {
        record.end ??= fields;
      },
    };
  }

  end(fields: RequestEnd): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.sampled) return;
    const method = KNOWN_METHODS.has(fields.method) ? fields.method : "_OTHER";
    const spans: SpanRecord[] = [this.serverSpan(fields, method)];
    for (const attempt of this.attempts ?? []) {
      if (attempt.end) spans.push(this.clientSpan(attempt, attempt.end, method === "_OTHER" ? "HTTP" : method));
    }
    this.tracer.enqueue(spans);
  }

  /** The SERVER span: OTel HTTP server span conventions; name `{method} {route}` (or `{method}`). */
  private serverSpan(fields: RequestEnd, method: string): SpanRecord {
    const attributes: SpanAttributes = { "http.request.method": method };
    if (method === "_OTHER") attributes["http.request.method_original"] = fields.method;
    if (fields.statusCode > 0) attributes["http.response.status_code"] = fields.statusCode;
    // Server spans are errors only for 5xx (OTel HTTP conventions, "Status"); error.type is then the status.
    const error = fields.statusCode >= 500;
    if (error) attributes["error.type"] = String(fields.statusCode);
    attributes["sluice.route"] = fields.route;
    attributes["sluice.group"] = fields.group;
    if (fields.policy !== undefined) attributes["sluice.policy"] = fields.policy;
    attributes["sluice.snapshot_version"] = fields.snapshotVersion;
    attributes["sluice.request_id"] = fields.requestId;
    const nameMethod = method === "_OTHER" ? "HTTP" : method;
    return {
      name: fields.route ? `${nameMethod} ${fields.route}` : nameMethod,
      kind: "server",
      traceId: this.traceId,
      spanId: this.spanId,
      parentSpanId: this.remoteParentId,
      parentIsRemote: this.remoteParentId !== null,
      traceFlags: SAMPLED_FLAG,
      tracestate: this.tracestate,
      startUnixMs: this.startUnixMs,
      endUnixMs: fields.endUnixMs,
      attributes,
      error,
    };
  }

  /** A CLIENT span: OTel HTTP client span conventions; errors for no response and for status ≥ 400. */
  private clientSpan(attempt: AttemptRecord, fields: AttemptEnd, name: string): SpanRecord {
    const attributes: SpanAttributes = { "server.address": fields.serverAddress, "server.port": fields.serverPort };
    if (fields.statusCode > 0) attributes["http.response.status_code"] = fields.statusCode;
    const failed = fields.outcome === "connect_failure" || fields.outcome === "reset" || fields.outcome === "timeout";
    const error = failed || fields.statusCode >= 400;
    if (failed) attributes["error.type"] = fields.outcome;
    else if (error) attributes["error.type"] = String(fields.statusCode);
    attributes["sluice.attempt"] = fields.attempt;
    return {
      name,
      kind: "client",
      traceId: this.traceId,
      spanId: attempt.spanId,
      parentSpanId: this.spanId,
      parentIsRemote: false,
      traceFlags: SAMPLED_FLAG,
      tracestate: this.tracestate,
      startUnixMs: attempt.startUnixMs,
      endUnixMs: fields.endUnixMs,
      attributes,
      error,
    };
  }
}

function ignoreEnd(): void {}
