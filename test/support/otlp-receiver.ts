/**
 * A test OTLP/HTTP trace receiver: a node:http server on 127.0.0.1 that takes
 * `POST /v1/traces` and DECODES each body with the OTLP schema — the official
 * opentelemetry-proto definitions (collector/trace/v1/trace_service.proto and its imports, as
 * shipped in @opentelemetry/otlp-grpc-exporter-base 0.38.0's build/protos, the newest npm
 * package found that ships the .proto files; it predates opentelemetry-proto v1.1.0's
 * `fixed32 flags` on Span (16) and Span.Link (6), which the exporter writes, so loadSchema adds
 * those two fields as v1.1.0 declares them — later additions are fields the exporter does not
 * write) loaded with protobufjs:
 * - `application/x-protobuf`: ExportTraceServiceRequest.decode;
 * - `application/json`: the OTLP JSON mapping (OTLP specification, "JSON Protobuf Encoding"),
 *   checked strictly against the same schema: only lowerCamelCase field names of the message,
 *   trace and span ids as hex (not base64), enums as integers, 64-bit integers as decimal
 *   strings or numbers, at most one member of a oneof — anything else is a 400 and recorded as
 *   a rejection.
 * Both end in the same plain form (DecodedSpan: hex ids, nanosecond times as decimal strings),
 * so a test asserts once for either encoding. The receiver answers 200 with an empty
 * ExportTraceServiceResponse, or what `answerWith` says (to test retries and failures).
 */
import http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import path from "node:path";
import protobuf from "protobufjs";

const require = createRequire(import.meta.url);
const PROTOS = path.join(path.dirname(require.resolve("@opentelemetry/otlp-grpc-exporter-base/package.json")), "build/protos");

/** The schema, loaded once per test file. */
function loadSchema(): protobuf.Root {
  const root = new protobuf.Root();
  // Imports in the .proto files are relative to the protos root, not to the importing file.
  root.resolvePath = (_origin, target) => path.join(PROTOS, target);
  root.loadSync("opentelemetry/proto/collector/trace/v1/trace_service.proto");
  // opentelemetry-proto v1.1.0 trace.proto: `fixed32 flags = 16;` (Span), `fixed32 flags = 6;` (Span.Link).
  root.lookupType("opentelemetry.proto.trace.v1.Span").add(new protobuf.Field("flags", 16, "fixed32"));
  root.lookupType("opentelemetry.proto.trace.v1.Span.Link").add(new protobuf.Field("flags", 6, "fixed32"));
  root.resolveAll();
  return root;
}

const schema = loadSchema();
const EXPORT_REQUEST = schema.lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest");

/** An attribute value as the tests compare it (AnyValue's scalar cases). */
export type AttributeValue = string | number | boolean;

/** One received span in plain form. */
export interface DecodedSpan {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  traceState: string;
  name: string;
  /** OTLP SpanKind: 2 SERVER, 3 CLIENT. */
  kind: number;
  /** Unix nanoseconds, decimal. */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, AttributeValue>;
  /** OTLP Status.code: 0 UNSET, 1 OK, 2 ERROR. */
  statusCode: number;
  /** Span.flags (W3C trace-flags | 0x100 HAS_IS_REMOTE | 0x200 IS_REMOTE), or undefined when absent. */
  flags?: number;
}

/** One export request in plain form. */
export interface DecodedExport {
  contentType: string;
  path: string;
  resources: { attributes: Record<string, AttributeValue>; scopes: { name: string; version: string; spans: DecodedSpan[] }[] }[];
  /** Every span of the request, in order. */
  spans: DecodedSpan[];
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>/v1/traces`. */
  url: string;
  /** Accepted exports, in arrival order. */
  exports: DecodedExport[];
  /** Bodies refused as not decodable with the schema: the reason. */
  rejections: string[];
  /** Requests received (accepted, rejected or answered by answerWith). */
  requests: number;
  /** The status of the next answers (default 200); a non-2xx answer records nothing. */
  answerWith(status: number): void;
  close(): Promise<void>;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

/** AnyValue (decoded) → its scalar. */
function scalar(value: Record<string, unknown>): AttributeValue {
  if ("stringValue" in value) return value.stringValue as string;
  if ("boolValue" in value) return value.boolValue as boolean;
  if ("intValue" in value) return Number(value.intValue);
  if ("doubleValue" in value) return value.doubleValue as number;
  throw new Error(`unexpected AnyValue ${JSON.stringify(value)}`);
}

function attributes(list: unknown): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of (list as { key: string; value: Record<string, unknown> }[] | undefined) ?? []) out[kv.key] = scalar(kv.value);
  return out;
}

/**
 * A decoded ExportTraceServiceRequest (protobufjs toObject with longs as strings, or checked
 * OTLP JSON) in plain form. `ids` turns an id field into hex.
 */
function plain(request: Record<string, unknown>, contentType: string, urlPath: string, ids: (id: unknown) => string): DecodedExport {
  const spans: DecodedSpan[] = [];
  const resources = ((request.resourceSpans as Record<string, unknown>[] | undefined) ?? []).map((rs) => ({
    attributes: attributes((rs.resource as Record<string, unknown> | undefined)?.attributes),
    scopes: ((rs.scopeSpans as Record<string, unknown>[] | undefined) ?? []).map((ss) => {
      const scope = (ss.scope as Record<string, string> | undefined) ?? {};
      const scopeSpans = ((ss.spans as Record<string, unknown>[] | undefined) ?? []).map(
        (s): DecodedSpan => ({
          traceId: ids(s.traceId),
          spanId: ids(s.spanId),
          parentSpanId: s.parentSpanId === undefined ? "" : ids(s.parentSpanId),
          traceState: (s.traceState as string | undefined) ?? "",
          name: s.name as string,
          kind: Number(s.kind ?? 0),
          startTimeUnixNano: String(s.startTimeUnixNano),
          endTimeUnixNano: String(s.endTimeUnixNano),
          attributes: attributes(s.attributes),
          statusCode: Number((s.status as Record<string, unknown> | undefined)?.code ?? 0),
          flags: s.flags === undefined ? undefined : Number(s.flags),
        }),
      );
      spans.push(...scopeSpans);
      return { name: scope.name ?? "", version: scope.version ?? "", spans: scopeSpans };
    }),
  }));
  return { contentType, path: urlPath, resources, spans };
}

/** Fields whose bytes OTLP JSON writes as hex (OTLP specification, "JSON Protobuf Encoding"). */
const HEX_ID_FIELDS: Record<string, number> = { traceId: 32, spanId: 16, parentSpanId: 16 };
const INT64_TYPES = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);
const INT32_TYPES = new Set(["int32", "uint32", "sint32", "fixed32", "sfixed32"]);

/**
 * Checks `value` against message `type` under the OTLP JSON mapping.
 * @throws Error with the JSON path of the first violation.
 */
function checkJson(type: protobuf.Type, value: unknown, at: string): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${at}: expected an object`);
  const byJsonName = new Map(type.fieldsArray.map((f) => [f.name, f]));
  for (const oneof of type.oneofsArray) {
    const set = oneof.fieldsArray.filter((f) => (value as Record<string, unknown>)[f.name] !== undefined);
    if (set.length > 1) throw new Error(`${at}: more than one of oneof ${oneof.name}`);
  }
  for (const [key, fieldValue] of Object.entries(value)) {
    const field = byJsonName.get(key);
    if (!field) throw new Error(`${at}.${key}: no such field in ${type.fullName} (OTLP JSON uses lowerCamelCase names)`);
    const items = field.repeated ? fieldValue : [fieldValue];
    if (field.repeated && !Array.isArray(fieldValue)) throw new Error(`${at}.${key}: expected an array`);
    (items as unknown[]).forEach((item, i) => {
      checkJsonValue(field, item, field.repeated ? `${at}.${key}[${i}]` : `${at}.${key}`);
    });
  }
}

function checkJsonValue(field: protobuf.Field, item: unknown, at: string): void {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    checkJson(resolved, item, at);
    return;
  }
  if (resolved instanceof protobuf.Enum) {
    if (!Number.isInteger(item) || !Object.values(resolved.values).includes(item as number)) {
      throw new Error(`${at}: OTLP JSON enums are integers of ${resolved.name}, got ${JSON.stringify(item)}`);
    }
    return;
  }
  const t = field.type;
  if (t === "bytes") {
    const hexLength = HEX_ID_FIELDS[field.name];
    if (hexLength !== undefined) {
      if (
        typeof item !== "string" ||
        !(new RegExp(`^[0-9a-fA-F]{${hexLength}}$`).test(item) || (field.name === "parentSpanId" && item === ""))
      ) {
        throw new Error(`${at}: ids are ${hexLength} hex digits in OTLP JSON, got ${JSON.stringify(item)}`);
      }
    } else if (typeof item !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(item)) throw new Error(`${at}: bytes are base64`);
  } else if (INT64_TYPES.has(t)) {
    if (!(typeof item === "string" && /^-?\d+$/.test(item)) && !Number.isSafeInteger(item))
      throw new Error(`${at}: 64-bit integers are decimal strings`);
  } else if (INT32_TYPES.has(t)) {
    if (!Number.isInteger(item)) throw new Error(`${at}: expected an integer`);
  } else if (t === "string") {
    if (typeof item !== "string") throw new Error(`${at}: expected a string`);
  } else if (t === "bool") {
    if (typeof item !== "boolean") throw new Error(`${at}: expected a boolean`);
  } else if (t === "double" || t === "float") {
    if (typeof item !== "number") throw new Error(`${at}: expected a number`);
  } else {
    throw new Error(`${at}: unhandled field type ${t}`);
  }
}

/** Decodes one body by its Content-Type. @throws Error when it does not fit the schema. */
export function decodeExport(body: Uint8Array, contentType: string, urlPath = "/v1/traces"): DecodedExport {
  if (contentType === "application/x-protobuf") {
    const message = EXPORT_REQUEST.decode(body);
    const object = EXPORT_REQUEST.toObject(message, { longs: String, enums: Number, bytes: Array, defaults: false, oneofs: false });
    return plain(object, contentType, urlPath, (id) => hex(Uint8Array.from(id as number[])));
  }
  if (contentType === "application/json") {
    const object = JSON.parse(Buffer.from(body).toString("utf8"));
    checkJson(EXPORT_REQUEST, object, "$");
    return plain(object, contentType, urlPath, (id) => (id as string).toLowerCase());
  }
  throw new Error(`unsupported Content-Type '${contentType}'`);
}

/** An empty ExportTraceServiceResponse in the request's encoding (full success). */
function emptyResponse(contentType: string): Buffer {
  return contentType === "application/json" ? Buffer.from("{}") : Buffer.alloc(0);
}

/** Starts a receiver on 127.0.0.1 (a free port). */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const exports: DecodedExport[] = [];
  const rejections: string[] = [];
  let status = 200;
  const state = { requests: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      state.requests += 1;
      const contentType = (req.headers["content-type"] ?? "").split(";")[0]!.trim();
      if (req.method !== "POST" || req.url !== "/v1/traces") {
        res.writeHead(404).end();
        return;
      }
      if (status < 200 || status > 299) {
        res.writeHead(status).end();
        return;
      }
      try {
        exports.push(decodeExport(Buffer.concat(chunks), contentType, req.url));
      } catch (error) {
        rejections.push((error as Error).message);
        res.writeHead(400, { "content-type": "text/plain" }).end((error as Error).message);
        return;
      }
      res.writeHead(200, { "content-type": contentType }).end(emptyResponse(contentType));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    exports,
    rejections,
    get requests() {
      return state.requests;
    },
    answerWith(next) {
      status = next;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
