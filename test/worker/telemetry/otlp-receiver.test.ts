/**
 * test/support/otlp-receiver.ts is itself strict: OTLP JSON that breaks the OTLP JSON mapping
 * (base64 ids, enum names, snake_case or unknown fields, two oneof members) is refused, and a
 * protobuf body that is not an ExportTraceServiceRequest does not decode.
 */
import { describe, expect, it } from "vitest";
import { decodeExport } from "../../support/otlp-receiver.ts";

const span = {
  traceId: "0af7651916cd43dd8448eb211c80319c",
  spanId: "b7ad6b7169203331",
  name: "GET",
  kind: 2,
  startTimeUnixNano: "1765000000123000000",
  endTimeUnixNano: "1765000000223000000",
  attributes: [{ key: "http.request.method", value: { stringValue: "GET" } }],
  status: { code: 0 },
};
const request = (s: Record<string, unknown>) => ({
  resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: "x" }, spans: [s] }] }],
});
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("OTLP JSON checks", () => {
  it("accepts a well-formed request and reads it", () => {
    expect(decodeExport(json(request(span)), "application/json").spans[0]).toMatchObject({
      traceId: span.traceId,
      kind: 2,
      attributes: { "http.request.method": "GET" },
    });
  });

  it.each([
    // [what is wrong, span]
    ["base64 trace id", { ...span, traceId: "CvdlGRbNQ92ESOshHIAxnA==" }],
    ["short span id", { ...span, spanId: "b7ad6b71" }],
    ["enum by name", { ...span, kind: "SPAN_KIND_SERVER" }],
    ["snake_case field", { ...span, start_time_unix_nano: "1" }],
    ["unknown field", { ...span, duration: 5 }],
    ["time as a fraction", { ...span, startTimeUnixNano: "1.5" }],
    ["two oneof members", { ...span, attributes: [{ key: "k", value: { stringValue: "a", intValue: 1 } }] }],
  ])("refuses %s", (_what, bad) => {
    expect(() => decodeExport(json(request(bad)), "application/json")).toThrow();
  });

  it("refuses a protobuf body that is not an ExportTraceServiceRequest", () => {
    expect(() => decodeExport(Uint8Array.of(0x0a, 0xff, 0xff, 0xff), "application/x-protobuf")).toThrow();
    expect(() => decodeExport(json(request(span)), "text/plain")).toThrow();
  });
});
