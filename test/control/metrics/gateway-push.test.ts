/**
 * POST /v1/gateway/metrics and what it feeds, through the real Hono app and prom-client
 * registry: exactly-once counting per isolate and seq, 400s naming the field with nothing
 * applied, the sums across isolates in both exposition formats (one HELP/TYPE per family, control's
 * own API series still there), gauge expiry on an injected clock, and GET /v1/metrics/history.
 * Then, on a running control (PGlite): which tokens may push and read the history, and the
 * propagation-lag histogram fed by real snapshot polls.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { renderError } from "../../../control/api/errors.ts";
import { addGatewayMetricsRoutes } from "../../../control/api/gateway-metrics.ts";
import { addMetricsRoute, timeRequests } from "../../../control/api/metrics.ts";
import { type ApiApp, createApiApp } from "../../../control/api/openapi.ts";
import { type ControlMetrics, createControlMetrics } from "../../../control/metrics/registry.ts";
import { type RunningControl, startControl } from "../../../control/server.ts";
import type { MetricsPush } from "../../../worker/telemetry/wire.ts";
import { clientFor, httpTarget } from "../../support/client.ts";
import { parseExposition, type Sample, sampleValue } from "../../support/exposition.ts";
import { emptyPush, latencies, requestSeries } from "../../support/metrics-push.ts";

const OPENMETRICS_ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
const A = "3f1c2a4e-0000-4000-8000-00000000000a";
const B = "3f1c2a4e-0000-4000-8000-00000000000b";

describe("the gateway metrics push on the API app", () => {
  let clock: { now: number };
  let metrics: ControlMetrics;
  let app: ApiApp;

  beforeEach(() => {
    clock = { now: Date.UTC(2026, 11, 7, 12, 0, 30) };
    metrics = createControlMetrics({ processMetrics: false, now: () => clock.now });
    app = createApiApp();
    // As createApp does: a body that is not JSON is rendered by the API's error vocabulary.
    app.onError((error, c) => renderError(error, c, pino({ level: "silent" })));
    app.use("*", timeRequests(metrics));
    addMetricsRoute(app, metrics);
    addGatewayMetricsRoutes(app, metrics.gateway);
  });

  const post = async (body: unknown) => {
    const res = await app.request("/v1/gateway/metrics", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  const scrape = async (accept?: string): Promise<{ text: string; samples: Sample[] }> => {
    const res = await app.request("/metrics", { headers: accept ? { accept } : {} });
    expect(res.status).toBe(200);
    const text = await res.text();
    return { text, samples: parseExposition(text) };
  };
  const requestCount = (samples: Sample[], labels: Record<string, string>) =>
    sampleValue(samples, "http_server_request_duration_seconds_count", labels);

  it("counts a push once: the same seq again, or an older one, is a duplicate; a new isolate counts", async () => {
    const push = (id: string, seq: number, n: number) =>
      emptyPush(id, seq, { requests: [requestSeries("7", "g", new Array(n).fill(0.01))] });
    expect(await post(push(A, 1, 3))).toEqual({ status: 200, body: { accepted: true } });
    expect(await post(push(A, 1, 3))).toEqual({ status: 200, body: { accepted: false, duplicate: true } });
    expect(await post(push(A, 2, 5))).toEqual({ status: 200, body: { accepted: true } });
    expect(await post(push(A, 1, 100))).toEqual({ status: 200, body: { accepted: false, duplicate: true } });
    expect(await post(push(B, 1, 7))).toEqual({ status: 200, body: { accepted: true } });
    const { samples } = await scrape();
    expect(requestCount(samples, { route: "7", group: "g" })).toBe(3 + 5 + 7);
  });

  const invalid: { name: string; change: (p: MetricsPush) => unknown; field: string }[] = [
    { name: "format 2", change: (p) => ({ ...p, format: 2 }), field: "format" },
    { name: "a gateway id with a slash", change: (p) => ({ ...p, gateway: "a/b" }), field: "gateway" },
    { name: "a gateway id of 65 chars", change: (p) => ({ ...p, gateway: "a".repeat(65) }), field: "gateway" },
    { name: "seq 0", change: (p) => ({ ...p, seq: 0 }), field: "seq" },
    { name: "other buckets", change: (p) => ({ ...p, bucketsSeconds: [0.1, 1] }), field: "bucketsSeconds" },
    {
      name: "a negative count",
      change: (p) => ({
        ...p,
        retries: [
          { route: "7", group: "g", count: 1 },
          { route: "7", group: "g", count: -1 },
        ],
      }),
      field: "retries[1].count",
    },
    {
      name: "a route of 257 chars",
      change: (p) => ({ ...p, requests: [requestSeries("r".repeat(257), "g", [0.1])] }),
      field: "requests[0].route",
    },
    {
      name: "buckets one short",
      change: (p) => ({ ...p, requests: [{ ...requestSeries("7", "g", [0.1]), buckets: latencies([0.1]).buckets.slice(1) }] }),
      field: "requests[0].buckets",
    },
    {
      name: "count not the sum of buckets",
      change: (p) => ({ ...p, attempts: [{ group: "g", instance: "h:1", outcome: "success", ...latencies([0.1]), count: 2 }] }),
      field: "attempts[0].count",
    },
    {
      name: "an unknown status class",
      change: (p) => ({ ...p, requests: [{ ...requestSeries("7", "g", [0.1]), statusClass: "6xx" }] }),
      field: "requests[0].statusClass",
    },
    {
      name: "10001 ejected instances",
      change: (p) => ({ ...p, gauges: { ...p.gauges, ejected: new Array(10_001).fill({ group: "g", instance: "h:1" }) } }),
      field: "gauges.ejected",
    },
    { name: "an unknown field", change: (p) => ({ ...p, extra: 1 }), field: "extra" },
  ];
  for (const c of invalid) {
    it(`answers 400 naming ${c.field} for ${c.name}, and applies nothing of that push`, async () => {
      // Valid series first, so a partial apply would show.
      const valid = emptyPush(A, 1, {
        requests: [requestSeries("7", "g", [0.1])],
        retries: [{ route: "7", group: "g", count: 1 }],
        gauges: { ...emptyPush(A, 1).gauges, activeRequests: 9 },
      });
      const res = await post(c.change(valid));
      expect(res.status).toBe(400);
      expect(res.body.error).toBe("bad_request");
      expect(res.body.fields.map((f: { path: string }) => f.path)).toContain(c.field);
      expect(res.body.message).toContain(c.field);
      const { samples } = await scrape();
      expect(requestCount(samples, { route: "7" })).toBeUndefined();
      expect(sampleValue(samples, "sluice_retries_total", { route: "7" })).toBeUndefined();
      expect(sampleValue(samples, "http_server_active_requests")).toBe(0);
      // The seq was not consumed: the valid push is still counted.
      expect((await post(valid)).body).toEqual({ accepted: true });
    });
  }

  it("answers 400 to a body that is not JSON", async () => {
    const res = await post("{not json");
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("bad_request");
  });

  it("exposes the sums of two isolates in both formats, one HELP/TYPE per family, control's own series kept", async () => {
    const x = { group: "g", instance: "10.0.0.1:80" };
    await post(
      emptyPush(A, 1, {
        slot: 0,
        requests: [
          requestSeries("7", "g", [0.003, 0.3]),
          requestSeries("7", "g", [0.02], { method: "POST", statusClass: "5xx", functionVersion: "v3" }),
        ],
        attempts: [{ ...x, outcome: "success", ...latencies([0.002, 0.002]) }],
        retries: [{ route: "7", group: "g", count: 1 }],
        panics: [{ route: "7", group: "g", count: 2 }],
        ejections: [{ ...x, count: 1 }],
        overflows: [{ group: "g", count: 4 }],
        conditionErrors: [{ route: "7", count: 5 }],
        droppedSeries: 6,
        gauges: { activeRequests: 2, snapshotVersion: "41", snapshotAgeSeconds: 1, ejected: [x], breakerOpen: [x] },
      }),
    );
    await post(
      emptyPush(B, 1, {
        requests: [requestSeries("7", "g", [0.004, 12])],
        attempts: [{ ...x, outcome: "success", ...latencies([0.2]) }],
        retries: [{ route: "7", group: "g", count: 10 }],
        gauges: { activeRequests: 3, snapshotVersion: "42", snapshotAgeSeconds: 0, ejected: [x], breakerOpen: [] },
      }),
    );
    // A control API request of its own, timed into the same family.
    await app.request("/metrics");
    clock.now += 2000;

    for (const accept of [undefined, OPENMETRICS_ACCEPT]) {
      const { text, samples } = await scrape(accept);
      for (const family of [
        "http_server_request_duration_seconds",
        "http_client_request_duration_seconds",
        "sluice_upstream_attempts",
        "sluice_retries",
        "sluice_gateway_snapshot_age_seconds",
      ]) {
        const typeLines = text.split("\n").filter((l) => new RegExp(`^# TYPE ${family}(_total)? `).test(l));
        expect(typeLines, family).toHaveLength(1);
      }
      const get = (name: string, labels: Record<string, string>) => sampleValue(samples, name, labels);
      const ok = { route: "7", group: "g", method: "GET", status_class: "2xx" };
      expect(get("http_server_request_duration_seconds_count", ok)).toBe(4);
      expect(get("http_server_request_duration_seconds_sum", ok)).toBeCloseTo(0.003 + 0.3 + 0.004 + 12, 9);
      expect(get("http_server_request_duration_seconds_bucket", { ...ok, le: "0.005" })).toBe(2);
      expect(get("http_server_request_duration_seconds_bucket", { ...ok, le: "0.5" })).toBe(3);
      expect(get("http_server_request_duration_seconds_bucket", { ...ok, le: "10" })).toBe(3);
      expect(get("http_server_request_duration_seconds_bucket", { ...ok, le: "+Inf" })).toBe(4);
      expect(get("http_server_request_duration_seconds_count", { method: "POST", status_class: "5xx", function_version: "v3" })).toBe(1);
      // Control's own series of that family are still there.
      expect(
        get("http_server_request_duration_seconds_count", { http_route: "/metrics", http_response_status_code: "200" }),
      ).toBeGreaterThan(0);
      expect(get("http_client_request_duration_seconds_count", { ...x, outcome: "success" })).toBe(3);
      expect(get("sluice_upstream_attempts_total", { ...x, outcome: "success" })).toBe(3);
      expect(get("sluice_retries_total", { route: "7", group: "g" })).toBe(11);
      expect(get("sluice_panic_total", { route: "7", group: "g" })).toBe(2);
      expect(get("sluice_outlier_ejections_total", x)).toBe(1);
      expect(get("sluice_admission_overflow_total", { group: "g" })).toBe(4);
      expect(get("sluice_condition_errors_total", { route: "7" })).toBe(5);
      expect(get("sluice_gateway_dropped_series_total", {})).toBe(6);
      expect(get("http_server_active_requests", {})).toBe(5);
      expect(get("sluice_gateways", {})).toBe(2);
      expect(get("sluice_outlier_ejected", x)).toBe(2);
      expect(get("sluice_circuit_breaker_open", x)).toBe(1);
      expect(get("sluice_gateway_snapshot_version", { gateway: A, slot: "0" })).toBe(41);
      expect(get("sluice_gateway_snapshot_version", { gateway: B })).toBe(42);
      expect(get("sluice_gateway_snapshot_age_seconds", { gateway: A })).toBeCloseTo(3, 9);
      expect(get("sluice_gateway_snapshot_age_seconds", { gateway: B })).toBeCloseTo(2, 9);
      if (accept) expect(text.endsWith("# EOF\n")).toBe(true);
    }
  });

  it("drops an isolate's gauges 3 push intervals + 10 s after its last push; counters stay", async () => {
    await post(
      emptyPush(A, 1, {
        intervalMs: 5000,
        requests: [requestSeries("7", "g", [0.1])],
        gauges: { ...emptyPush(A, 1).gauges, activeRequests: 4, snapshotVersion: "3", snapshotAgeSeconds: 0 },
      }),
    );
    await post(emptyPush(B, 1, { intervalMs: 20_000, gauges: { ...emptyPush(B, 1).gauges, activeRequests: 1 } }));
    clock.now += 25_000;
    let { samples } = await scrape();
    expect(sampleValue(samples, "sluice_gateways")).toBe(2);
    expect(sampleValue(samples, "http_server_active_requests")).toBe(5);
    clock.now += 1;
    ({ samples } = await scrape());
    expect(sampleValue(samples, "sluice_gateways")).toBe(1);
    expect(sampleValue(samples, "http_server_active_requests")).toBe(1);
    expect(sampleValue(samples, "sluice_gateway_snapshot_version", { gateway: A })).toBeUndefined();
    expect(sampleValue(samples, "http_server_request_duration_seconds_count", { route: "7" })).toBe(1);
    clock.now += 45_000;
    ({ samples } = await scrape());
    expect(sampleValue(samples, "sluice_gateways")).toBe(0);
    expect(sampleValue(samples, "http_server_active_requests")).toBe(0);
  });

  it("serves the last hour per minute with quantiles on GET /v1/metrics/history", async () => {
    await post(emptyPush(A, 1, { requests: [requestSeries("7", "g", [0.02, 0.02, 0.02, 3]), requestSeries("8", "g", [1])] }));
    clock.now += 60_000;
    await post(emptyPush(B, 1, { requests: [requestSeries("7", "g", [0.02], { statusClass: "5xx" })] }));
    const res = await app.request("/v1/metrics/history?route=7&group=g");
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.route).toBe("7");
    expect(body.bucketsSeconds).toHaveLength(14);
    expect(body.minutes).toHaveLength(60);
    const [previous, current] = body.minutes.slice(-2);
    expect(current.startMs - previous.startMs).toBe(60_000);
    expect(previous).toMatchObject({ requests: 4, byStatusClass: { "2xx": 4, "5xx": 0 } });
    expect(previous.p50).toBeCloseTo(0.01 + 0.015 * (2 / 3), 9);
    expect(previous.p99).toBeCloseTo(2.5 + 2.5 * (0.99 * 4 - 3), 9);
    expect(current).toMatchObject({ requests: 1, byStatusClass: { "5xx": 1 } });
    const bad = await app.request(`/v1/metrics/history?route=${"r".repeat(257)}`);
    expect(bad.status).toBe(400);
    expect((await bad.json()).fields[0].path).toBe("route");
  });
});

describe("the gateway metrics push on a running control", () => {
  let dataDir: string;
  let control: RunningControl;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "sluice-gw-metrics-"));
    control = await startControl({ dataDir, port: 0, debounceMs: 10, env: {}, logger: pino({ level: "silent" }) });
  }, 60_000);
  afterAll(async () => {
    await control?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const call = (path: string, token: string, init: RequestInit = {}) =>
    fetch(`${control.url}${path}`, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
  const pushWith = (token: string, seq: number) =>
    call("/v1/gateway/metrics", token, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(emptyPush(A, seq, { requests: [requestSeries("auth", "g", [0.1])] })),
    });

  it("takes the push from the gateway and admin tokens only; the history from the admin and metrics tokens", async () => {
    expect((await pushWith(control.tokens.gatewayToken, 1)).status).toBe(200);
    expect((await pushWith(control.tokens.adminToken, 2)).status).toBe(200);
    expect((await pushWith(control.tokens.metricsToken, 3)).status).toBe(401);
    expect((await pushWith("wrong-token-0123456789abcdef", 3)).status).toBe(401);
    expect((await call("/v1/gateway/metrics", control.tokens.gatewayToken)).status).toBe(401); // GET: not the gateway's
    for (const [token, status] of [
      [control.tokens.adminToken, 200],
      [control.tokens.metricsToken, 200],
      [control.tokens.gatewayToken, 401],
    ] as const) {
      expect((await call("/v1/metrics/history?route=auth", token)).status).toBe(status);
    }
    const history = await (await call("/v1/metrics/history?route=auth", control.tokens.metricsToken)).json();
    expect(history.minutes.reduce((n: number, m: { requests: number }) => n + m.requests, 0)).toBe(2);
    const doc = await (await call("/v1/openapi.json", control.tokens.adminToken)).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/gateway/metrics", "/v1/metrics/history"]));
  });

  it("observes propagation lag once per isolate and version, only for isolates seen before the publish", async () => {
    const poll = (gateway: string, index: bigint) =>
      call(`/v1/snapshot?index=${index}`, control.tokens.gatewayToken, { headers: { "sluice-gateway": gateway } });
    const histogram = async () => {
      const samples = parseExposition(await (await call("/metrics", control.tokens.metricsToken)).text());
      return {
        count: sampleValue(samples, "sluice_snapshot_propagation_seconds_count") ?? 0,
        sum: sampleValue(samples, "sluice_snapshot_propagation_seconds_sum") ?? 0,
      };
    };
    const before = control.builder.current!.version;
    expect((await poll("iso-old", before)).status).toBe(304);
    expect(await histogram()).toEqual({ count: 0, sum: 0 });

    const admin = clientFor(httpTarget(control.url), control.tokens.adminToken);
    expect((await admin.post("/v1/services", { appkey: "lag" })).status).toBe(201);
    expect((await admin.post("/v1/services/lag/groups", { name: "main" })).status).toBe(201);
    expect((await admin.post("/v1/routes", { appkey: "lag", path: "/lag", defaultGroup: "main" })).status).toBe(201);
    await control.builder.rebuild();
    const after = control.builder.current!.version;
    expect(after).toBeGreaterThan(before);

    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await poll("iso-old", after)).status).toBe(304);
    const observed = await histogram();
    expect(observed.count).toBe(1);
    expect(observed.sum).toBeGreaterThanOrEqual(0.05);
    expect(observed.sum).toBeLessThan(30);
    // The same report again, an older version, and an isolate first seen after the publish: nothing.
    await poll("iso-old", after);
    await poll("iso-old", before);
    await poll("iso-new", 0n);
    await poll("iso-new", after);
    expect(await histogram()).toEqual(observed);
  });
});
