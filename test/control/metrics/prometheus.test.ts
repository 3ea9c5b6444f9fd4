/**
 * Control's GET /metrics scraped by a real Prometheus server (Debian's `prometheus`, started by
 * test/support/prometheus.ts): the scrape authenticates with the metrics token (`up` 1) and one
 * with a wrong token is refused (`up` 0, a 401), and after exactly N API requests to one route,
 * PromQL sums exactly N for that route template and method.
 *
 * Without `prometheus` on PATH the suite is skipped, naming the package — except under CI, where
 * it fails.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningControl, startControl } from "../../../control/server.ts";
import { type Client, clientFor, httpTarget } from "../../support/client.ts";
import { prometheusAvailability, type RunningPrometheus, startPrometheus } from "../../support/prometheus.ts";

const availability = prometheusAvailability();

describe("prometheus availability", () => {
  it.runIf(availability.state === "fail")("has prometheus installed under CI", () => {
    throw new Error(availability.message);
  });
  it.runIf(availability.state === "skip")(`skipped: ${availability.message}`, () => {
    console.warn(`test/control/metrics/prometheus.test.ts skipped: ${availability.message}`);
  });
});

describe.skipIf(availability.state !== "run")("control scraped by a real Prometheus", () => {
  let dataDir: string;
  let control: RunningControl;
  let admin: Client;
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "sluice-prom-"));
    control = await startControl({ dataDir, port: 0, debounceMs: 10, env: {}, logger: pino({ level: "silent" }) });
    admin = clientFor(httpTarget(control.url), control.tokens.adminToken);
    prometheus = await startPrometheus({
      jobs: [
        { name: "sluice-control", url: control.url, token: control.tokens.metricsToken },
        { name: "sluice-control-wrong-token", url: control.url, token: "wrong-metrics-token-0123456789abcdef" },
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await prometheus?.close();
    await control?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("scrapes with the metrics token (up 1); a wrong token is refused with 401 (up 0)", async () => {
    const up = await prometheus.waitFor("up", (r) => r.length === 2);
    expect(Object.fromEntries(up.map((s) => [s.metric.job, s.value]))).toEqual({
      "sluice-control": 1,
      "sluice-control-wrong-token": 0,
    });
    expect(await prometheus.targetsUp()).toEqual({ "sluice-control": 1, "sluice-control-wrong-token": 0 });
    const targets = await prometheus.targets();
    const good = targets.find((t) => t.job === "sluice-control");
    const bad = targets.find((t) => t.job === "sluice-control-wrong-token");
    expect(good).toMatchObject({ health: "up", lastError: "" });
    expect(bad?.health).toBe("down");
    expect(bad?.lastError).toMatch(/401/);
    // What Prometheus stored came from control: a metric only control exposes.
    const heartbeats = await prometheus.query('sluice_heartbeats_accepted_total{job="sluice-control"}');
    expect(heartbeats.map((s) => s.value)).toEqual([0]);
  });

  it("sums exactly N requests to one route template after a scrape that follows the last one", async () => {
    const route = 'http_route="/v1/services",http_request_method="GET"';
    const promql = `sum(http_server_request_duration_seconds_count{job="sluice-control",${route}})`;
    // A fresh control: no series for this route yet, scraped or not.
    await prometheus.waitForScrapeAfter("sluice-control", Date.now());
    expect(await prometheus.query(promql)).toEqual([]);

    const n = 13;
    for (let i = 0; i < n; i++) expect((await admin.get("/v1/services")).status).toBe(200);
    // Requests to other routes and methods must not count under this one.
    expect((await admin.get("/v1/services/no-such-service")).status).toBe(404);
    expect((await admin.post("/v1/services", { appkey: "prom-svc" })).status).toBe(201);
    const lastAnswered = Date.now();

    await prometheus.waitForScrapeAfter("sluice-control", lastAnswered);
    const result = await prometheus.query(promql);
    expect(result.map((s) => s.value)).toEqual([n]);
    // Split by status code: all N answered 200.
    const byStatus = await prometheus.query(
      `sum by (http_response_status_code) (http_server_request_duration_seconds_count{job="sluice-control",${route}})`,
    );
    expect(byStatus.map((s) => [s.metric.http_response_status_code, s.value])).toEqual([["200", n]]);
    // The other requests are under their own templates, once each.
    const others = await prometheus.query(
      'http_server_request_duration_seconds_count{job="sluice-control",http_route=~"/v1/services/:appkey|/v1/services",http_request_method="POST"} or ' +
        'http_server_request_duration_seconds_count{job="sluice-control",http_route="/v1/services/:appkey",http_request_method="GET"}',
    );
    expect(
      others.map((s) => [s.metric.http_route, s.metric.http_request_method, s.metric.http_response_status_code, s.value]).sort(),
    ).toEqual([
      ["/v1/services", "POST", "201", 1],
      ["/v1/services/:appkey", "GET", "404", 1],
    ]);
    // The wrong-token job stored nothing but its own up/scrape series.
    expect(await prometheus.query('http_server_request_duration_seconds_count{job="sluice-control-wrong-token"}')).toEqual([]);
  });
});
