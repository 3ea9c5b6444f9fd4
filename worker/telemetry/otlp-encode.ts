/**
 * Finished spans → one OTLP/HTTP ExportTraceServiceRequest body (OTLP specification,
 * "OTLP/HTTP"; opentelemetry-proto collector/trace/v1). The encoding is
 * @opentelemetry/otlp-transformer's (ProtobufTraceSerializer, JsonTraceSerializer): its protobuf
 * writer is hand-written (no protobufjs, no code generation), so it runs where Workers forbid
 * eval / new Function; bundled for workerd it resolves its `#platform` import to the Web build
 * (btoa, no Buffer), Bun and Deno load its Node build (Buffer, which both provide). This module
 * only adapts the gateway's compact span records to the SDK's ReadableSpan shape.
 */
import { SpanKind, SpanStatusCode, type TraceState } from "@opentelemetry/api";
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { type Resource, resourceFromAttributes } from "@opentelemetry/resources";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import type { TraceProtocol } from "./trace-config.ts";

/** Attribute values the gateway records (OTel AnyValue subset). */
export type SpanAttributes = Record<string, string | number | boolean>;

/** One finished span as the tracer keeps it until the export. Times are Unix ms. */
export interface SpanRecord {
  name: string;
  kind: "server" | "client";
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits. */
  spanId: string;
  /** The parent span's id (16 hex), or null for a root span. */
  parentSpanId: string | null;
  /** Whether the parent is another process's span (the incoming `traceparent`): OTLP Span.flags bit 9. */
  parentIsRemote: boolean;
  /** W3C trace-flags of the span's context. */
  traceFlags: number;
  /** The `tracestate` carried with the span, or null. */
  tracestate: string | null;
  startUnixMs: number;
  endUnixMs: number;
  attributes: SpanAttributes;
  /** Status ERROR (true) or UNSET (false). */
  error: boolean;
}

/** Who emits the spans: the OTLP Resource and InstrumentationScope. */
export interface SpanSource {
  serviceName: string;
  serviceVersion?: string;
}

/** Content-Type of each OTLP/HTTP encoding (OTLP specification, "OTLP/HTTP Request"). */
export const OTLP_CONTENT_TYPE: Record<TraceProtocol, string> = {
  "http/protobuf": "application/x-protobuf",
  "http/json": "application/json",
};

/** The instrumentation scope of every span: the gateway itself. */
const SCOPE_NAME = "sluice-gateway";

/** Unix ms → OTel HrTime [seconds, nanoseconds]; fractional ms keep their µs/ns. */
function hrTime(unixMs: number): [number, number] {
  const seconds = Math.floor(unixMs / 1000);
  return [seconds, Math.round((unixMs - seconds * 1000) * 1e6)];
}

/** A TraceState that only carries the received header value on (serialize is all the serializers call). */
function carriedTraceState(value: string): TraceState {
  const state: TraceState = {
    serialize: () => value,
    get: () => undefined,
    set: () => state,
    unset: () => state,
  };
  return state;
}

/**
 * The Resource of the gateway's spans: service.name and, when given, service.version
 * (OTel semantic conventions, "Service"). Made once per tracer.
 */
export function spanResource(source: SpanSource): Resource {
  const attributes: SpanAttributes = { "service.name": source.serviceName };
  if (source.serviceVersion) attributes["service.version"] = source.serviceVersion;
  return resourceFromAttributes(attributes);
}

/** A SpanRecord in the SDK's ReadableSpan shape, as the OTLP serializers read it. */
function readableSpan(record: SpanRecord, resource: Resource, scope: ReadableSpan["instrumentationScope"]): ReadableSpan {
  const traceState = record.tracestate === null ? undefined : carriedTraceState(record.tracestate);
  const startTime = hrTime(record.startUnixMs);
  const endTime = hrTime(record.endUnixMs);
  const context = { traceId: record.traceId, spanId: record.spanId, traceFlags: record.traceFlags, traceState };
  return {
    name: record.name,
    kind: record.kind === "server" ? SpanKind.SERVER : SpanKind.CLIENT,
    spanContext: () => context,
    parentSpanContext:
      record.parentSpanId === null
        ? undefined
        : { traceId: record.traceId, spanId: record.parentSpanId, traceFlags: record.traceFlags, isRemote: record.parentIsRemote },
    startTime,
    endTime,
    duration: hrTime(record.endUnixMs - record.startUnixMs),
    status: { code: record.error ? SpanStatusCode.ERROR : SpanStatusCode.UNSET },
    attributes: record.attributes,
    links: [],
    events: [],
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

/**
 * One ExportTraceServiceRequest holding `records` under one ResourceSpans and one ScopeSpans.
 * @param resource spanResource(...) of the tracer.
 * @param protocol `http/protobuf`: binary protobuf; `http/json`: the OTLP JSON mapping (hex
 *   ids, enum integers, unix nanos as strings — the library's JSON encoder).
 * @returns the request body; Content-Type is OTLP_CONTENT_TYPE[protocol].
 * @throws only on a bug (the serializers do not throw on valid spans).
 */
export function encodeSpans(
  records: readonly SpanRecord[],
  resource: Resource,
  protocol: TraceProtocol,
  scopeVersion?: string,
): Uint8Array {
  const scope = { name: SCOPE_NAME, version: scopeVersion };
  const spans = records.map((record) => readableSpan(record, resource, scope));
  const serializer = protocol === "http/json" ? JsonTraceSerializer : ProtobufTraceSerializer;
  const body = serializer.serializeRequest(spans);
  if (!body) throw new Error("OTLP serializer returned no body");
  return body;
}
