/**
 * GET /metrics on a running control (PGlite): the metrics-scope token, both exposition formats,
 * and that the counters count exactly what the API did (requests by route template, heartbeats
 * accepted, snapshot builds), read back through the text exposition.
 */
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningControl, startControl } from "../../../control/server.ts";
import { type Client, clientFor, httpTarget } from "../../support/client.ts";
import { parseExposition, type Sample, sampleValue } from "../../support/exposition.ts";

/** What Prometheus 2.x/3.x sends when it prefers OpenMetrics. */
const PROMETHEUS_ACCEPT =
  "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

describe("control metrics", () => {
  let dataDir: string;
  let control: RunningControl;
  let admin: Client;

  const start = () => startControl({ dataDir, port: 0, debounceMs: 10, env: {}, logger: pino({ level: "silent" }) });
  const metricsGet = (token: string | null, headers: Record<string, string> = {}) =>
    fetch(`${control.url}/metrics`, { headers: { ...headers, ...(token === null ? {} : { authorization: `Bearer ${token}` }) } });
  const scrape = async (): Promise<{ text: string; samples: Sample[] }> => {
    const res = await metricsGet(control.tokens.metricsToken);
    expect(res.status).toBe(200);
    const text = await res.text();
    return { text, samples: parseExposition(text) };
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "sluice-metrics-"));
    control = await start();
    admin = clientFor(httpTarget(control.url), control.tokens.adminToken);
  }, 60_000);

  afterAll(async () => {
    await control?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("refuses a missing, wrong, gateway or agent token with 401 JSON; serves the metrics and admin tokens", async () => {
    expect((await admin.post("/v1/services", { appkey: "metrics-auth" })).status).toBe(201);
    const minted = await admin.post("/v1/agent-tokens", { name: "metrics-agent", appkeys: ["metrics-auth"] });
    expect(minted.status).toBe(201);
    for (const token of [null, "wrong-token-0123456789abcdef", control.tokens.gatewayToken, minted.body.token as string]) {
      const res = await metricsGet(token);
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect((await res.json()).error).toBe("unauthorized");
    }
    for (const token of [control.tokens.metricsToken, control.tokens.adminToken]) {
      const res = await metricsGet(token);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
      expect(await res.text()).toContain("# TYPE http_server_request_duration_seconds histogram");
    }
    // The metrics token opens /metrics only.
    const services = await fetch(`${control.url}/v1/services`, { headers: { authorization: `Bearer ${control.tokens.metricsToken}` } });
    expect(services.status).toBe(401);
  });

  it("counts each API request once under its route template, method and status", async () => {
    const labels = { http_route: "/v1/services", http_request_method: "GET", http_response_status_code: "200" };
    const before = sampleValue((await scrape()).samples, "http_server_request_duration_seconds_count", labels) ?? 0;
    const n = 7;
    for (let i = 0; i < n; i++) expect((await admin.get("/v1/services")).status).toBe(200);
    expect((await admin.get("/v1/services/no-such-service-q7")).status).toBe(404);
    expect((await admin.get("/no/such/path-q7")).status).toBe(404);

    const { text, samples } = await scrape();
    expect(sampleValue(samples, "http_server_request_duration_seconds_count", labels)).toBe(before + n);
    // The +Inf bucket holds every observation; the sum is a positive number of seconds.
    expect(sampleValue(samples, "http_server_request_duration_seconds_bucket", { ...labels, le: "+Inf" })).toBe(before + n);
    expect(sampleValue(samples, "http_server_request_duration_seconds_sum", labels)).toBeGreaterThan(0);
    expect(
      sampleValue(samples, "http_server_request_duration_seconds_count", {
        http_route: "/v1/services/:appkey",
        http_request_method: "GET",
        http_response_status_code: "404",
      }),
    ).toBe(1);
    expect(
      sampleValue(samples, "http_server_request_duration_seconds_count", {
        http_route: "unmatched",
        http_request_method: "GET",
        http_response_status_code: "404",
      }),
    ).toBeGreaterThanOrEqual(1);
    // Never a raw path.
    expect(text).not.toContain("q7");
    // The OTel buckets.
    const bounds = samples
      .filter((s) => s.name === "http_server_request_duration_seconds_bucket" && s.labels.http_route === "/v1/services")
      .filter((s) => s.labels.http_response_status_code === "200")
      .map((s) => s.labels.le);
    expect(bounds).toEqual(["0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1", "2.5", "5", "7.5", "10", "+Inf"]);
  });

  it("counts exactly the heartbeats accepted, and the registry's instances by health", async () => {
    expect((await admin.post("/v1/services", { appkey: "metrics-svc" })).status).toBe(201);
    expect((await admin.post("/v1/services/metrics-svc/groups", { name: "main" })).status).toBe(201);
    const ids: number[] = [];
    for (const port of [9001, 9002]) {
      const r = await admin.post("/v1/registry/instances", { appkey: "metrics-svc", group: "main", host: "127.0.0.1", port });
      expect(r.status).toBe(201);
      ids.push(r.body.instance.id);
    }
    const before = sampleValue((await scrape()).samples, "sluice_heartbeats_accepted_total") ?? 0;
    const first = await admin.post("/v1/registry/heartbeats", { beats: [{ id: ids[0] }, { id: ids[1] }, { id: 987_654_321 }] });
    expect(first.body.accepted).toBe(2);
    const second = await admin.post("/v1/registry/heartbeats", { beats: [{ id: ids[0], healthy: true }] });
    expect(second.body.accepted).toBe(1);
    // A refused request (400) accepts nothing.
    expect((await admin.post("/v1/registry/heartbeats", { beats: [] })).status).toBe(400);

    const { samples } = await scrape();
    expect(sampleValue(samples, "sluice_heartbeats_accepted_total")).toBe(before + 3);
    const healthy = sampleValue(samples, "sluice_registry_instances", { health: "healthy" });
    const unhealthy = sampleValue(samples, "sluice_registry_instances", { health: "unhealthy" });
    const listed = (await admin.get("/v1/services/metrics-svc/groups/main/instances")).body.items as { healthy: boolean }[];
    expect(listed).toHaveLength(2);
    expect(healthy).toBe(listed.filter((i) => i.healthy).length);
    expect(unhealthy).toBe(listed.filter((i) => !i.healthy).length);
  });

  it("reports the served snapshot's version and size, and times each build", async () => {
    const before = sampleValue((await scrape()).samples, "sluice_snapshot_build_duration_seconds_count") ?? 0;
    expect((await admin.post("/v1/services", { appkey: "metrics-snap" })).status).toBe(201);
    expect((await admin.post("/v1/services/metrics-snap/groups", { name: "main" })).status).toBe(201);
    expect((await admin.post("/v1/routes", { appkey: "metrics-snap", path: "/metrics-snap", defaultGroup: "main" })).status).toBe(201);
    await control.builder.rebuild();
    const current = control.builder.current!;

    const { samples } = await scrape();
    expect(sampleValue(samples, "sluice_snapshot_version")).toBe(Number(current.version));
    expect(sampleValue(samples, "sluice_snapshot_bytes")).toBe(current.body.length);
    expect(sampleValue(samples, "sluice_snapshot_build_duration_seconds_count")).toBeGreaterThan(before);
    expect(sampleValue(samples, "sluice_snapshot_build_duration_seconds_sum")).toBeGreaterThan(0);
  });

  it("answers OpenMetrics when asked, and the text format again afterwards", async () => {
    const res = await metricsGet(control.tokens.metricsToken, { accept: PROMETHEUS_ACCEPT });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8");
    const text = await res.text();
    expect(text.endsWith("# EOF\n")).toBe(true);
    // OpenMetrics names the counter family without `_total` and its sample with it.
    expect(text).toContain("# TYPE sluice_heartbeats_accepted counter");
    expect(text).toMatch(/^sluice_heartbeats_accepted_total \d+$/m);

    // prom-client renames counters while rendering OpenMetrics; the text format must not keep that.
    const plain = await scrape();
    expect(plain.text).toContain("# TYPE sluice_heartbeats_accepted_total counter");
    expect(plain.text).not.toContain("# EOF");
    expect(sampleValue(plain.samples, "sluice_heartbeats_accepted_total")).toBeGreaterThanOrEqual(3);
    // An older OpenMetrics version only, or text/plain, gets the text format.
    for (const accept of ["application/openmetrics-text;version=0.0.1", "text/plain", "application/openmetrics-text;q=0"]) {
      const other = await metricsGet(control.tokens.metricsToken, { accept });
      expect(other.headers.get("content-type"), accept).toBe("text/plain; version=0.0.4; charset=utf-8");
      await other.body?.cancel();
    }
  });

  it("includes the process metrics", async () => {
    const { samples } = await scrape();
    expect(sampleValue(samples, "process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(sampleValue(samples, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
  });

  it("generates the metrics token into a 0600 file and reuses it on restart", async () => {
    const path = join(dataDir, "metrics-token");
    expect(control.tokens.metrics).toEqual({ from: "generated", path });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readFile(path, "utf8")).trim()).toBe(control.tokens.metricsToken);
    expect(control.tokens.metricsToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const token = control.tokens.metricsToken;

    await control.close();
    control = await start();
    expect(control.tokens.metrics).toEqual({ from: "file", path });
    expect(control.tokens.metricsToken).toBe(token);
    const res = await metricsGet(token);
    expect(res.status).toBe(200);
    await res.body?.cancel();
  }, 60_000);
});
