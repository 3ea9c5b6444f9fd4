/**
 * worker/telemetry/tracer.ts: sampling decisions and the ids it links (unit, with a recording
 * fetch), and traces exported through flush() into a test OTLP receiver that decodes them with
 * the OTLP schema (test/support/otlp-receiver.ts), in both OTLP/HTTP encodings.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTraceparent } from "../../../worker/telemetry/trace-context.ts";
import { createTracer, type ExportFetch, MAX_QUEUED_SPANS, readTraceConfig, type TraceConfig } from "../../../worker/telemetry/tracer.ts";
import { decodeExport, type OtlpReceiver, startOtlpReceiver } from "../../support/otlp-receiver.ts";

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const PARENT = "b7ad6b7169203331";
const SAMPLED_PARENT = `00-${TRACE}-${PARENT}-01`;
const UNSAMPLED_PARENT = `00-${TRACE}-${PARENT}-00`;
const T0 = 1_765_000_000_123; // Unix ms

function config(overrides: Partial<TraceConfig> = {}): TraceConfig {
  return {
    endpoint: "http://collector.test/v1/traces",
    sampleRatio: 1,
    protocol: "http/json",
    serviceName: "sluice-gateway",
    ...overrides,
  };
}

/** A fetch that records what the tracer sends and answers `statuses` in turn (then 200). */
function recordingFetch(statuses: number[] = []) {
  const sent: { url: string; init: RequestInit }[] = [];
  const send: ExportFetch = async (url, init) => {
    sent.push({ url, init });
    return new Response(null, { status: statuses.shift() ?? 200 });
  };
  return { sent, send };
}

/** One request with `attempts` attempts (the last succeeding), ended. */
function traceRequest(tracer: ReturnType<typeof createTracer>, traceparent: string | null, attempts = 1, tracestate: string | null = null) {
  const trace = tracer.begin(traceparent, tracestate, T0)!;
  const tries = [];
  for (let n = 1; n <= attempts; n += 1) {
    const attempt = trace.attempt(T0 + 10 * n);
    const last = n === attempts;
    attempt.end({
      endUnixMs: T0 + 10 * n + 5,
      statusCode: last ? 200 : 0,
      outcome: last ? "success" : "connect_failure",
      serverAddress: "10.0.0.7",
      serverPort: 9101,
      attempt: n,
    });
    tries.push(attempt);
  }
  trace.end({
    endUnixMs: T0 + 100,
    method: "GET",
    route: "r-hello",
    group: "canary",
    policy: "p1",
    statusCode: 200,
    snapshotVersion: "42",
    requestId: "req-1",
  });
  return { trace, tries };
}

describe("begin: sampling and propagation", () => {
  it("is off without an endpoint: begin returns null, flush resolves and sends nothing", async () => {
    const { sent, send } = recordingFetch();
    const tracer = createTracer(config({ endpoint: null }), send);
    expect(tracer.begin(SAMPLED_PARENT, null, T0)).toBeNull();
    await tracer.flush();
    expect(sent).toHaveLength(0);
  });

  it.each([
    // [incoming traceparent, sampleRatio, sampled]
    [SAMPLED_PARENT, 0, true], // ParentBased: the caller's decision wins over the ratio
    [UNSAMPLED_PARENT, 1, false],
    [null, 1, true], // no parent: TraceIdRatioBased
    [null, 0, false],
    ["garbage", 1, true], // an invalid traceparent counts as none
    ["garbage", 0, false],
  ])("traceparent %s at ratio %s → sampled %s", (traceparent, sampleRatio, sampled) => {
    const tracer = createTracer(config({ sampleRatio }));
    const trace = tracer.begin(traceparent, null, T0)!;
    expect(trace.sampled).toBe(sampled);
    if (traceparent === SAMPLED_PARENT || traceparent === UNSAMPLED_PARENT) expect(trace.traceId).toBe(TRACE);
    else expect(trace.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(trace.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(trace.spanId).not.toBe(PARENT);
  });

  it("gives each attempt its own span id in the traceparent it sends, with the request's trace-id and flag", () => {
    const tracer = createTracer(config());
    for (const [incoming, flags] of [
      [SAMPLED_PARENT, 1],
      [UNSAMPLED_PARENT, 0],
    ] as const) {
      const trace = tracer.begin(incoming, "congo=t61rcWkgMzE", T0)!;
      const a = trace.attempt(T0);
      const b = trace.attempt(T0);
      const pa = parseTraceparent(a.traceparent)!;
      const pb = parseTraceparent(b.traceparent)!;
      expect([pa.traceId, pb.traceId]).toEqual([TRACE, TRACE]);
      expect([pa.flags, pb.flags]).toEqual([flags, flags]);
      expect(pa.parentId).not.toBe(pb.parentId);
      expect(pa.parentId).not.toBe(trace.spanId);
      expect(a.tracestate).toBe("congo=t61rcWkgMzE");
    }
  });

  it("drops tracestate without a valid traceparent, and an oversized one", () => {
    const tracer = createTracer(config());
    expect(tracer.begin(null, "congo=t61rcWkgMzE", T0)!.attempt(T0).tracestate).toBeNull();
    const big = Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(",");
    expect(tracer.begin(SAMPLED_PARENT, big, T0)!.attempt(T0).tracestate).toBeNull();
  });

  it("records and exports nothing for an unsampled request", async () => {
    const { sent, send } = recordingFetch();
    const tracer = createTracer(config(), send);
    traceRequest(tracer, UNSAMPLED_PARENT, 2);
    expect(tracer.stats().queued).toBe(0);
    await tracer.flush();
    expect(sent).toHaveLength(0);
  });
});

describe("spans and export", () => {
  it("links server span → incoming parent and attempt spans → server span, all in the incoming trace", async () => {
    const { sent, send } = recordingFetch();
    const tracer = createTracer(config({ protocol: "http/json" }), send);
    const { trace, tries } = traceRequest(tracer, SAMPLED_PARENT, 2, "congo=t61rcWkgMzE");
    expect(tracer.stats().queued).toBe(3);
    await tracer.flush();
    expect(sent).toHaveLength(1);
    const { url, init } = sent[0]!;
    expect(url).toBe("http://collector.test/v1/traces");
    expect(init.method).toBe("POST");
    expect(new Headers(init.headers).get("content-type")).toBe("application/json");
    const decoded = decodeExport(init.body as Uint8Array, "application/json");
    const [server, ...attempts] = decoded.spans;
    expect(server).toMatchObject({ traceId: TRACE, spanId: trace.spanId, parentSpanId: PARENT, kind: 2, name: "GET r-hello" });
    expect(attempts.map((s) => s.spanId)).toEqual(tries.map((t) => parseTraceparent(t.traceparent)!.parentId));
    for (const a of attempts) expect(a).toMatchObject({ traceId: TRACE, parentSpanId: trace.spanId, kind: 3, name: "GET" });
    expect(tracer.stats()).toMatchObject({ queued: 0, exportedSpans: 3, failedExports: 0 });
  });

  it("makes a root server span when there was no incoming traceparent", async () => {
    const { sent, send } = recordingFetch();
    const tracer = createTracer(config(), send);
    const { trace } = traceRequest(tracer, null);
    await tracer.flush();
    const [server, attempt] = decodeExport(sent[0]!.init.body as Uint8Array, "application/json").spans;
    expect(server).toMatchObject({ traceId: trace.traceId, parentSpanId: "" });
    expect(attempt).toMatchObject({ traceId: trace.traceId, parentSpanId: trace.spanId });
  });

  it.each([
    // [request end fields, span name, status code, extra attributes]
    [{ method: "GET", route: "", statusCode: 404 }, "GET", 0, {}],
    [{ method: "POST", route: "r1", statusCode: 502 }, "POST r1", 2, { "error.type": "502" }],
    [
      { method: "PROPFIND", route: "r1", statusCode: 200 },
      "HTTP r1",
      0,
      { "http.request.method": "_OTHER", "http.request.method_original": "PROPFIND" },
    ],
  ])("server span for %o is named %s, status %s", async (fields, name, statusCode, extra) => {
    const { sent, send } = recordingFetch();
    const tracer = createTracer(config(), send);
    tracer.begin(null, null, T0)!.end({ endUnixMs: T0 + 1, group: "", snapshotVersion: "1", requestId: "r", ...fields });
    await tracer.flush();
    const [server] = decodeExport(sent[0]!.init.body as Uint8Array, "application/json").spans;
    expect(server).toMatchObject({ name, statusCode });
    expect(server!.attributes).toMatchObject(extra);
    expect(server!.attributes).not.toHaveProperty("http.route");
  });

  it("bounds the queue at MAX_QUEUED_SPANS and counts the drops", () => {
    const tracer = createTracer(config());
    for (let i = 0; i < MAX_QUEUED_SPANS / 2 + 10; i += 1) traceRequest(tracer, null); // 2 spans each
    expect(tracer.stats()).toMatchObject({ queued: MAX_QUEUED_SPANS, droppedSpans: 20 });
  });

  it.each([
    // [answers, exports sent, exported, failed]
    [[503], 2, 3, 0], // retryable, then 200
    [[429, 429], 2, 0, 1], // retried once only
    [[400], 1, 0, 1], // not retryable
  ])("answers %o: %s sends, exported %s spans, %s failed exports", async (statuses, sends, exported, failed) => {
    const { sent, send } = recordingFetch([...statuses]);
    const tracer = createTracer(config(), send);
    traceRequest(tracer, SAMPLED_PARENT, 2);
    await tracer.flush();
    expect(sent).toHaveLength(sends);
    expect(tracer.stats()).toMatchObject({ exportedSpans: exported, failedExports: failed, queued: 0 });
  });

  it("never rejects: a network error drops the batch and counts it", async () => {
    const tracer = createTracer(config(), async () => {
      throw new TypeError("connection refused");
    });
    traceRequest(tracer, SAMPLED_PARENT);
    await expect(tracer.flush()).resolves.toBeUndefined();
    expect(tracer.stats()).toMatchObject({ failedExports: 1, failedSpans: 2, queued: 0 });
  });
});

describe("export into a test OTLP receiver", () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterAll(() => receiver.close());

  it.each(["http/protobuf", "http/json"] as const)("%s: the receiver decodes linked spans with the OTLP schema", async (protocol) => {
    receiver.exports.length = 0;
    const tracer = createTracer(readTraceConfig({ TRACE_ENDPOINT: receiver.url, TRACE_SAMPLE_RATIO: "0", TRACE_PROTOCOL: protocol }));
    const incoming = [SAMPLED_PARENT, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"];
    const traces = incoming.map((tp) => traceRequest(tracer, tp, 2, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
    traceRequest(tracer, UNSAMPLED_PARENT, 1); // not exported
    await tracer.flush();

    expect(receiver.rejections).toEqual([]);
    expect(receiver.exports).toHaveLength(1);
    const exported = receiver.exports[0]!;
    expect(exported.contentType).toBe(protocol === "http/json" ? "application/json" : "application/x-protobuf");
    expect(exported.resources).toHaveLength(1);
    expect(exported.resources[0]!.attributes).toEqual({ "service.name": "sluice-gateway" });
    expect(exported.resources[0]!.scopes.map((s) => s.name)).toEqual(["sluice-gateway"]);
    expect(exported.spans).toHaveLength(6);

    traces.forEach(({ trace, tries }, i) => {
      const incomingContext = parseTraceparent(incoming[i]!)!;
      const server = exported.spans.find((s) => s.spanId === trace.spanId)!;
      expect(server).toEqual({
        traceId: incomingContext.traceId,
        spanId: trace.spanId,
        parentSpanId: incomingContext.parentId,
        traceState: "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
        name: "GET r-hello",
        kind: 2, // SPAN_KIND_SERVER
        startTimeUnixNano: `${T0}000000`,
        endTimeUnixNano: `${T0 + 100}000000`,
        attributes: {
          "http.request.method": "GET",
          "http.response.status_code": 200,
          "sluice.route": "r-hello",
          "sluice.group": "canary",
          "sluice.policy": "p1",
          "sluice.snapshot_version": "42",
          "sluice.request_id": "req-1",
        },
        statusCode: 0,
        // Span.flags: sampled, HAS_IS_REMOTE (0x100) and IS_REMOTE (0x200): the parent is the caller's.
        flags: 0x301,
      });
      tries.forEach((attempt, n) => {
        const spanId = parseTraceparent(attempt.traceparent)!.parentId;
        const client = exported.spans.find((s) => s.spanId === spanId)!;
        expect(client).toMatchObject({
          traceId: incomingContext.traceId,
          parentSpanId: trace.spanId,
          kind: 3, // SPAN_KIND_CLIENT
          name: "GET",
          startTimeUnixNano: `${T0 + 10 * (n + 1)}000000`,
          endTimeUnixNano: `${T0 + 10 * (n + 1) + 5}000000`,
          statusCode: n === 0 ? 2 : 0,
        });
        expect(client.attributes).toEqual(
          n === 0
            ? { "server.address": "10.0.0.7", "server.port": 9101, "error.type": "connect_failure", "sluice.attempt": 1 }
            : { "server.address": "10.0.0.7", "server.port": 9101, "http.response.status_code": 200, "sluice.attempt": 2 },
        );
      });
    });
    expect(tracer.stats()).toMatchObject({ exportedSpans: 6, failedExports: 0 });
  });

  it("a refused export is dropped and counted, the next one goes through", async () => {
    receiver.exports.length = 0;
    const tracer = createTracer(readTraceConfig({ TRACE_ENDPOINT: receiver.url, TRACE_SAMPLE_RATIO: "1" }));
    receiver.answerWith(500);
    traceRequest(tracer, null);
    await tracer.flush();
    receiver.answerWith(200);
    traceRequest(tracer, null);
    await tracer.flush();
    expect(tracer.stats()).toMatchObject({ failedExports: 1, failedSpans: 2, exportedSpans: 2 });
    expect(receiver.exports).toHaveLength(1);
  });
});

describe("readTraceConfig", () => {
  it.each([
    // [bindings, config or error]
    [{}, { endpoint: null, sampleRatio: 0.01, protocol: "http/protobuf", serviceName: "sluice-gateway" }],
    [
      {
        TRACE_ENDPOINT: "http://127.0.0.1:4318/v1/traces",
        TRACE_SAMPLE_RATIO: "0.25",
        TRACE_PROTOCOL: "http/json",
        TRACE_SERVICE_NAME: "edge",
      },
      { endpoint: "http://127.0.0.1:4318/v1/traces", sampleRatio: 0.25, protocol: "http/json", serviceName: "edge" },
    ],
    [
      { TRACE_ENDPOINT: " ", TRACE_SAMPLE_RATIO: "1" },
      { endpoint: null, sampleRatio: 1 },
    ],
    [{ TRACE_SAMPLE_RATIO: "0" }, { sampleRatio: 0 }],
    [{ TRACE_SAMPLE_RATIO: "1e-3" }, { sampleRatio: 0.001 }],
    [{ TRACE_ENDPOINT: "collector:4318" }, /TRACE_ENDPOINT/],
    [{ TRACE_ENDPOINT: "ftp://collector/v1/traces" }, /TRACE_ENDPOINT/],
    [{ TRACE_SAMPLE_RATIO: "1.5" }, /TRACE_SAMPLE_RATIO/],
    [{ TRACE_SAMPLE_RATIO: "-0.1" }, /TRACE_SAMPLE_RATIO/],
    [{ TRACE_SAMPLE_RATIO: "10%" }, /TRACE_SAMPLE_RATIO/],
    [{ TRACE_SAMPLE_RATIO: "0x1" }, /TRACE_SAMPLE_RATIO/],
    [{ TRACE_PROTOCOL: "grpc" }, /TRACE_PROTOCOL/],
  ])("%o", (env, expected) => {
    if (expected instanceof RegExp) expect(() => readTraceConfig(env)).toThrow(expected);
    else expect(readTraceConfig(env)).toMatchObject(expected);
  });
});
