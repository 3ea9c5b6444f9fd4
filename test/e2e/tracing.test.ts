/**
 * Tracing through real gateway processes on every runtime (issue 14, "Must show" 4): a trace
 * exported to a real OTLP/HTTP receiver (test/support/otlp-receiver.ts, decoding with the
 * official opentelemetry-proto schema) has a SERVER span whose parent is the incoming
 * `traceparent`'s parent-id and one CLIENT span per upstream attempt, child of the SERVER span,
 * whose id is the parent-id the upstream received. Also: a retried request's two attempts; an
 * unsampled request propagates flags 00 and exports nothing; with tracing off `traceparent` and
 * `tracestate` pass unchanged; with no incoming `traceparent` a root span starts a new trace.
 * Protobuf on workerd and Deno, OTLP JSON on Bun, so both encodings go through a gateway.
 */
import { randomBytes } from "node:crypto";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GATEWAY_RUNTIMES, type GatewayRuntime, startGateway } from "../../worker/launcher/gateway.ts";
import type { ProcessCluster } from "../../worker/launcher/supervisor.ts";
import { backends } from "../support/backends.ts";
import { STATUS_TOKEN } from "../support/client.ts";
import { type DecodedSpan, type OtlpReceiver, startOtlpReceiver } from "../support/otlp-receiver.ts";
import { type Received, type RecordingUpstream, startRecordingUpstream } from "../support/recording-upstream.ts";
import { eventually, ok, type Stack, send, startStack } from "../support/stack.ts";

const [pglite] = backends();

/** TRACE_PROTOCOL per runtime: both OTLP/HTTP encodings cross a real gateway. */
const PROTOCOL: Record<GatewayRuntime, "http/protobuf" | "http/json"> = {
  workerd: "http/protobuf",
  bun: "http/json",
  deno: "http/protobuf",
};
const CONTENT_TYPE = { "http/protobuf": "application/x-protobuf", "http/json": "application/json" } as const;

/** The gateway's telemetry loop flushes spans every LOG_FLUSH_MS (worker/telemetry/pusher.ts). */
const FLUSH_MS = 250;
/** The traced gateway's METRICS_PUSH_MS: its telemetry loop stops once no request has come for this long. */
const PUSH_MS = 500;
const SERVER = 2;
const CLIENT = 3;
/** OTLP Span.flags: HAS_IS_REMOTE (bit 8) and IS_REMOTE (bit 9). */
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port on 127.0.0.1 that nothing listens on (bound, then closed): connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The values of header `name` on a received request (any case), in order. */
function headerValues(received: Received, name: string): string[] {
  return received.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
}

/** The one `traceparent` the upstream received, split. */
function upstreamTraceparent(received: Received): { traceId: string; parentId: string; flags: string } {
  const values = headerValues(received, "traceparent");
  expect(values).toHaveLength(1);
  const m = TRACEPARENT.exec(values[0] as string);
  expect(m, values[0]).not.toBeNull();
  return { traceId: m?.[1] as string, parentId: m?.[2] as string, flags: m?.[3] as string };
}

describe.each(GATEWAY_RUNTIMES)("tracing on %s", (runtime) => {
  let receiver: OtlpReceiver;
  let upstream: RecordingUpstream;
  let stack: Stack;
  /** A second gateway on the same control, without TRACE_ENDPOINT. */
  let untraced: ProcessCluster;
  let deadPort: number;
  let routeId: number;
  let retryRouteId: number;
  const protocol = PROTOCOL[runtime];

  /** Every received span of `traceId`. */
  const spansOf = (traceId: string): DecodedSpan[] => receiver.exports.flatMap((e) => e.spans).filter((s) => s.traceId === traceId);

  /** Waits until the receiver has `traceId`'s SERVER span (its CLIENT spans are exported with it), then returns them. */
  async function traceOf(traceId: string): Promise<{ server: DecodedSpan; clients: DecodedSpan[] }> {
    await eventually(async () => spansOf(traceId).some((s) => s.kind === SERVER), 5000, `the SERVER span of trace ${traceId}`);
    const spans = spansOf(traceId);
    const servers = spans.filter((s) => s.kind === SERVER);
    expect(servers).toHaveLength(1);
    const clients = spans
      .filter((s) => s.kind === CLIENT)
      .sort((a, b) => Number(a.attributes["sluice.attempt"]) - Number(b.attributes["sluice.attempt"]));
    expect(clients.length + servers.length).toBe(spans.length);
    return { server: servers[0] as DecodedSpan, clients };
  }

  /** Sends one request (the upstream answering after `delayMs`) and returns the answer and what the upstream received for it (the last request it got). */
  async function through(gatewayUrl: string, path: string, headers: Record<string, string>, delayMs = 0) {
    upstream.expect((_req, res) => {
      setTimeout(() => res.writeHead(200, { "content-type": "text/plain" }).end("ok"), delayMs);
    });
    const startedMs = Date.now();
    const answer = await send(`${gatewayUrl}${path}`, { headers });
    const endedMs = Date.now();
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(upstream.received.length).toBeGreaterThanOrEqual(1);
    return { answer, received: upstream.received.at(-1) as Received, startedMs, endedMs };
  }

  /** Start ≤ end, and both within [fromMs, toMs] (1 ms of slack for the ms → ns rounding of fractional times). */
  function expectWithin(span: DecodedSpan, fromMs: number, toMs: number): void {
    const start = BigInt(span.startTimeUnixNano);
    const end = BigInt(span.endTimeUnixNano);
    expect(start <= end, `${span.name}: start ${start} ≤ end ${end}`).toBe(true);
    expect(start >= BigInt(fromMs - 1) * 1_000_000n, `${span.name}: start ${start} ≥ ${fromMs} ms`).toBe(true);
    expect(end <= BigInt(toMs + 1) * 1_000_000n, `${span.name}: end ${end} ≤ ${toMs} ms`).toBe(true);
  }

  beforeAll(async () => {
    [receiver, upstream, deadPort] = await Promise.all([startOtlpReceiver(), startRecordingUpstream(), closedPort()]);
    stack = await startStack(pglite, 1, {
      gateway: {
        runtime,
        telemetry: {
          TRACE_ENDPOINT: receiver.url,
          TRACE_SAMPLE_RATIO: "1",
          TRACE_PROTOCOL: protocol,
          METRICS_PUSH_MS: String(PUSH_MS),
        },
      },
    });
    const { admin, control } = stack;
    untraced = await startGateway({
      runtime,
      controlUrl: control.url,
      gatewayToken: control.tokens.gatewayToken,
      snapshotPublicKey: control.signingKey.publicKeyBase64,
      port: 0,
      processes: 1,
      snapshotPollMs: 100,
      statusToken: STATUS_TOKEN,
      stdio: "ignore",
    });
    await ok(admin.post("/v1/services", { appkey: "shop" }));
    await ok(admin.post("/v1/services/shop/groups", { name: "main" }));
    await ok(admin.post("/v1/services/shop/groups/main/instances", { host: "127.0.0.1", port: upstream.port }));
    routeId = (await ok(admin.post("/v1/routes", { appkey: "shop", path: "/t", defaultGroup: "main" }))).id;
    // The dead instance weighs 10 against the live one's 1, so (smooth weighted round robin) the
    // first attempt nearly always goes to it; its breaker is off so it is never skipped.
    await ok(admin.post("/v1/services/shop/groups", { name: "flaky", balancing: { instanceBreaker: { errorRatio: 2, slowRatio: 2 } } }));
    await ok(admin.post("/v1/services/shop/groups/flaky/instances", { host: "127.0.0.1", port: deadPort, weight: 10 }));
    await ok(admin.post("/v1/services/shop/groups/flaky/instances", { host: "127.0.0.1", port: upstream.port, weight: 1 }));
    retryRouteId = (
      await ok(
        admin.post("/v1/routes", {
          appkey: "shop",
          path: "/retry",
          defaultGroup: "flaky",
          retry: { retryOn: ["connect-failure"], numRetries: 1 },
        }),
      )
    ).id;
    for (const url of [stack.gateway.url, untraced.url]) {
      await eventually(async () => (await send(`${url}/t/ready`)).status === 200, 10_000, `${url} routing /t`);
    }
    await eventually(async () => (await send(`${stack.gateway.url}/retry/ready`)).status === 200, 10_000, "/retry routed");
  });

  afterAll(async () => {
    await untraced?.close();
    await stack?.close();
    await upstream?.close();
    await receiver?.close();
  });

  it("continues a sampled traceparent: SERVER span under the caller's span, CLIENT span = the upstream's parent", async () => {
    const traceId = hex(16);
    const parentId = hex(8);
    const tracestate = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
    const sent = await through(stack.gateway.url, "/t/one", { traceparent: `00-${traceId}-${parentId}-01`, tracestate });
    const requestId = sent.answer.headers.get("x-request-id") as string;
    expect(requestId).toBeTruthy();

    // The upstream: same trace, a new parent-id (the attempt's span), sampled; tracestate passed on.
    const up = upstreamTraceparent(sent.received);
    expect(up.traceId).toBe(traceId);
    expect(up.parentId).not.toBe(parentId);
    expect(up.parentId).not.toBe("0000000000000000");
    expect(up.flags).toBe("01");
    expect(headerValues(sent.received, "tracestate")).toEqual([tracestate]);

    const { server, clients } = await traceOf(traceId);
    expect(server).toMatchObject({ parentSpanId: parentId, name: `GET ${routeId}`, statusCode: 0, traceState: tracestate });
    expect(server.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(server.spanId).not.toBe(parentId);
    expect(server.attributes).toMatchObject({
      "http.request.method": "GET",
      "http.response.status_code": 200,
      "sluice.route": String(routeId),
      "sluice.group": "main",
      "sluice.request_id": requestId,
    });
    expect(server.attributes["sluice.snapshot_version"]).toMatch(/^[0-9]+$/);
    // Remote parent, sampled (opentelemetry-proto v1.1.0 Span.flags).
    expect(server.flags).toBe(0x01 | HAS_IS_REMOTE | IS_REMOTE);

    expect(clients).toHaveLength(1);
    const client = clients[0] as DecodedSpan;
    expect(client).toMatchObject({ parentSpanId: server.spanId, spanId: up.parentId, name: "GET", statusCode: 0, traceState: tracestate });
    expect(client.attributes).toMatchObject({
      "server.address": "127.0.0.1",
      "server.port": upstream.port,
      "http.response.status_code": 200,
      "sluice.attempt": 1,
    });
    expect(client.attributes["error.type"]).toBeUndefined();
    expect(client.flags).toBe(0x01 | HAS_IS_REMOTE);

    expectWithin(server, sent.startedMs, sent.endedMs);
    expectWithin(client, sent.startedMs, sent.endedMs);
    // The attempt lies inside the request (1 ms slack: the two ends are read from different clocks).
    expect(BigInt(client.startTimeUnixNano) >= BigInt(server.startTimeUnixNano)).toBe(true);
    expect(BigInt(client.endTimeUnixNano) <= BigInt(server.endTimeUnixNano) + 1_000_000n).toBe(true);

    // Decoded with the schema, in the configured encoding, with the gateway's resource and scope.
    expect(receiver.rejections).toEqual([]);
    const exported = receiver.exports.find((e) => e.spans.some((s) => s.traceId === traceId));
    expect(exported?.contentType).toBe(CONTENT_TYPE[protocol]);
    expect(exported?.resources[0]?.attributes["service.name"]).toBe("sluice-gateway");
    expect(exported?.resources[0]?.scopes[0]?.name).toBe("sluice-gateway");
  });

  it("a retried request has two CLIENT spans under the SERVER span, the first a connect failure", async () => {
    let found: { traceId: string; server: DecodedSpan; clients: DecodedSpan[]; received: Received } | null = null;
    // The first attempt goes to the dead instance 10 times in 11; try a few requests to be sure.
    for (let i = 0; i < 5 && !found; i++) {
      const traceId = hex(16);
      const sent = await through(stack.gateway.url, `/retry/${i}`, { traceparent: `00-${traceId}-${hex(8)}-01` });
      const trace = await traceOf(traceId);
      if (trace.clients.length === 2) found = { traceId, ...trace, received: sent.received };
      else expect(trace.clients).toHaveLength(1);
    }
    expect(found, "no request was retried").not.toBeNull();
    const { server, clients, received } = found as NonNullable<typeof found>;
    const [first, second] = clients as [DecodedSpan, DecodedSpan];
    expect(server.attributes).toMatchObject({
      "http.response.status_code": 200,
      "sluice.route": String(retryRouteId),
      "sluice.group": "flaky",
    });
    for (const client of clients) expect(client.parentSpanId).toBe(server.spanId);
    expect(first.spanId).not.toBe(second.spanId);
    expect(first.statusCode).toBe(2); // ERROR
    expect(first.attributes).toMatchObject({ "server.port": deadPort, "error.type": "connect_failure", "sluice.attempt": 1 });
    expect(first.attributes["http.response.status_code"]).toBeUndefined();
    expect(second.statusCode).toBe(0);
    expect(second.attributes).toMatchObject({ "server.port": upstream.port, "http.response.status_code": 200, "sluice.attempt": 2 });
    expect(second.attributes["error.type"]).toBeUndefined();
    expect(BigInt(first.endTimeUnixNano) <= BigInt(second.startTimeUnixNano)).toBe(true);
    // The upstream saw the second attempt's span as its parent.
    expect(upstreamTraceparent(received)).toEqual({ traceId: found?.traceId, parentId: second.spanId, flags: "01" });
  });

  it("an unsampled traceparent is propagated with flags 00 and exports nothing", async () => {
    const traceId = hex(16);
    const parentId = hex(8);
    const sent = await through(stack.gateway.url, "/t/unsampled", { traceparent: `00-${traceId}-${parentId}-00`, tracestate: "k=v" });
    const up = upstreamTraceparent(sent.received);
    expect(up.traceId).toBe(traceId);
    expect(up.parentId).not.toBe(parentId);
    expect(up.flags).toBe("00");
    expect(headerValues(sent.received, "tracestate")).toEqual(["k=v"]);
    await sleep(3 * FLUSH_MS);
    expect(spansOf(traceId)).toEqual([]);
    // The receiver was listening all along: a sampled request sent after it arrives.
    const control = hex(16);
    await through(stack.gateway.url, "/t/sampled", { traceparent: `00-${control}-${hex(8)}-01` });
    const { clients } = await traceOf(control);
    expect(clients).toHaveLength(1);
    expect(spansOf(traceId)).toEqual([]);
  });

  it("without TRACE_ENDPOINT, traceparent and tracestate pass to the upstream unchanged", async () => {
    const traceId = hex(16);
    const traceparent = `00-${traceId}-${hex(8)}-01`;
    const tracestate = "vendor=opaque-value";
    const sent = await through(untraced.url, "/t/untraced", { traceparent, tracestate });
    expect(headerValues(sent.received, "traceparent")).toEqual([traceparent]);
    expect(headerValues(sent.received, "tracestate")).toEqual([tracestate]);
    // Nothing of it is exported (the traced gateway's export of a later request proves the receiver up).
    const later = hex(16);
    await through(stack.gateway.url, "/t/later", { traceparent: `00-${later}-${hex(8)}-01` });
    await traceOf(later);
    expect(spansOf(traceId)).toEqual([]);
  });

  it("with no incoming traceparent and ratio 1, a new trace starts with a root SERVER span", async () => {
    // A tracestate without a traceparent is ignored (W3C Trace Context §3.3.2): not passed on.
    const sent = await through(stack.gateway.url, "/t/new", { tracestate: "orphan=1" });
    const up = upstreamTraceparent(sent.received);
    expect(up.traceId).not.toBe("00000000000000000000000000000000");
    expect(up.flags).toBe("01");
    expect(headerValues(sent.received, "tracestate")).toEqual([]);
    const { server, clients } = await traceOf(up.traceId);
    expect(server.parentSpanId).toBe("");
    expect(server.traceState).toBe("");
    expect(server.flags).toBe(0x01 | HAS_IS_REMOTE); // a root: no remote parent
    expect(server.attributes["sluice.request_id"]).toBe(sent.answer.headers.get("x-request-id"));
    expect(clients).toHaveLength(1);
    expect(clients[0]).toMatchObject({ parentSpanId: server.spanId, spanId: up.parentId });
    expectWithin(server, sent.startedMs, sent.endedMs);
    expect(receiver.rejections).toEqual([]);
  });

  it("exports the spans of a request that outlasts the telemetry loop's idle stop", async () => {
    // The loop stops once no request has ARRIVED for METRICS_PUSH_MS and its last push carried
    // everything; a request still in flight then ends after the loop's last flush. Its spans
    // (and access-log line) must still go out without waiting for another request.
    const traceId = hex(16);
    const sent = await through(stack.gateway.url, "/t/slow", { traceparent: `00-${traceId}-${hex(8)}-01` }, 3 * PUSH_MS + 100);
    expect(sent.endedMs - sent.startedMs).toBeGreaterThanOrEqual(3 * PUSH_MS);
    const { server, clients } = await traceOf(traceId);
    expect(clients).toHaveLength(1);
    expectWithin(server, sent.startedMs, sent.endedMs);
  });
});
