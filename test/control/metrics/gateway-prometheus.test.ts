/**
 * The gateway series scraped by a real Prometheus (Debian's `prometheus`, test/support/prometheus.ts):
 * after pushes of known deltas from two fake gateway isolates (one push retried), PromQL sums
 * exactly those deltas across the isolates, control's own series of the same family are still
 * there, and the one family mixing both label sets is accepted by Prometheus's parser.
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
import type { MetricsPush } from "../../../worker/telemetry/wire.ts";
import { emptyPush, latencies, requestSeries } from "../../support/metrics-push.ts";
import { prometheusAvailability, type RunningPrometheus, startPrometheus } from "../../support/prometheus.ts";

const availability = prometheusAvailability();

describe("prometheus availability", () => {
  it.runIf(availability.state === "fail")("has prometheus installed under CI", () => {
    throw new Error(availability.message);
  });
  it.runIf(availability.state === "skip")(`skipped: ${availability.message}`, () => {
    console.warn(`test/control/metrics/gateway-prometheus.test.ts skipped: ${availability.message}`);
  });
});

describe.skipIf(availability.state !== "run")("gateway metrics scraped by a real Prometheus", () => {
  let dataDir: string;
  let control: RunningControl;
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "sluice-gw-prom-"));
    control = await startControl({ dataDir, port: 0, debounceMs: 10, env: {}, logger: pino({ level: "silent" }) });
    prometheus = await startPrometheus({ jobs: [{ name: "sluice-control", url: control.url, token: control.tokens.metricsToken }] });
  }, 60_000);

  afterAll(async () => {
    await prometheus?.close();
    await control?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const push = async (body: MetricsPush) => {
    const res = await fetch(`${control.url}/v1/gateway/metrics`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${control.tokens.gatewayToken}`,
        "content-type": "application/json",
        "sluice-gateway": body.gateway,
      },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { accepted: boolean };
  };
  const values = async (promql: string) => (await prometheus.query(promql)).map((s) => s.value);

  it("sums known deltas from two isolates; a retried push is counted once; control's own series stay", async () => {
    const a = "9b2e0c1e-0000-4000-8000-00000000000a";
    const b = "9b2e0c1e-0000-4000-8000-00000000000b";
    const instance = { group: "stable", instance: "10.0.0.1:80" };
    const pushes = [
      emptyPush(a, 1, {
        requests: [requestSeries("7", "stable", [0.01, 0.02, 0.3]), requestSeries("7", "canary", [0.04], { statusClass: "5xx" })],
        attempts: [{ ...instance, outcome: "success", ...latencies([0.01, 0.02, 0.3]) }],
        gauges: { activeRequests: 2, snapshotVersion: "5", snapshotAgeSeconds: 1, ejected: [instance], breakerOpen: [] },
      }),
      // Gauges are the latest push's: a still holds the instance ejected, 2 requests in flight.
      emptyPush(a, 2, {
        requests: [requestSeries("7", "stable", [0.05, 0.06])],
        gauges: { activeRequests: 2, snapshotVersion: "5", snapshotAgeSeconds: 0, ejected: [instance], breakerOpen: [] },
      }),
      emptyPush(b, 1, {
        requests: [requestSeries("7", "stable", [1, 2, 3, 4]), requestSeries("8", "stable", [0.1])],
        gauges: { activeRequests: 3, snapshotVersion: "5", snapshotAgeSeconds: 0, ejected: [instance], breakerOpen: [] },
      }),
    ];
    for (const p of pushes) expect(await push(p)).toEqual({ accepted: true });
    // A retry of a push that was counted (its answer lost): not counted again.
    expect(await push(pushes[1])).toEqual({ accepted: false, duplicate: true });
    const expectedRoute7 = 3 + 1 + 2 + 4;

    await prometheus.waitForScrapeAfter("sluice-control", Date.now());
    expect(await values('sum(http_server_request_duration_seconds_count{route="7"})')).toEqual([expectedRoute7]);
    expect(await values('sum by (group) (http_server_request_duration_seconds_count{route="7",status_class="5xx"})')).toEqual([1]);
    expect(await values('sum(http_server_request_duration_seconds_count{route="8"})')).toEqual([1]);
    // histogram_quantile works on the gateway's buckets: 10 requests to route 7, p50 under 0.5 s.
    const [p50] = await values('histogram_quantile(0.5, sum by (le) (http_server_request_duration_seconds_bucket{route="7"}))');
    expect(p50).toBeGreaterThan(0.025);
    expect(p50).toBeLessThanOrEqual(0.5);
    // Control's own API series of the same family: the four pushes it answered.
    expect(
      await values('sum(http_server_request_duration_seconds_count{http_route="/v1/gateway/metrics",http_request_method="POST"})'),
    ).toEqual([4]);
    // The scraped `instance` label collides with Prometheus's target label: it is kept as exported_instance.
    expect(await values('sum(sluice_upstream_attempts_total{exported_instance="10.0.0.1:80",outcome="success"})')).toEqual([3]);
    expect(await values("sum(sluice_outlier_ejected)")).toEqual([2]);
    expect(await values("sluice_gateways")).toEqual([2]);
    expect(await values("http_server_active_requests")).toEqual([5]);
    expect(await values("count(sluice_gateway_snapshot_version == 5)")).toEqual([2]);
  });
});
