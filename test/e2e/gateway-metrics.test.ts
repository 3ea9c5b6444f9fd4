/**
 * The gateway metrics pipeline end to end: two real gateway processes (the default runtime)
 * push deltas to control, a real Prometheus (Debian's `prometheus`) scrapes control, and PromQL
 * sums exactly what the clients sent and the upstreams counted:
 * - N requests → `sum(http_server_request_duration_seconds_count{route="…"})` = N, from both
 *   processes;
 * - status classes (2xx, 5xx from an upstream, 4xx from the gateway) and the policy split per
 *   group match the upstreams' own counts;
 * - killing an upstream shows in `sluice_upstream_attempts_total{outcome="connect_failure"}`
 *   and `sluice_outlier_ejections_total`.
 * Without `prometheus` on PATH the suite is skipped, naming the package — except under CI, where
 * it fails.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type UpstreamServer } from "../../control/demo/upstream-server.ts";
import { backends } from "../support/backends.ts";
import { prometheusAvailability, type RunningPrometheus, startPrometheus } from "../support/prometheus.ts";
import { eventually, gatewayStatus, ok, type Stack, startStack } from "../support/stack.ts";

const availability = prometheusAvailability();
const [pglite] = backends();
/** Requests on the policy route; every tenth uid goes to canary. */
const N = 400;
const BROKEN = 20;
const MISSES = 10;
const PUSH_MS = 200;

describe("prometheus availability", () => {
  it.runIf(availability.state === "fail")("has prometheus installed under CI", () => {
    throw new Error(availability.message);
  });
  it.runIf(availability.state === "skip")(`skipped: ${availability.message}`, () => {
    console.warn(`test/e2e/gateway-metrics.test.ts skipped: ${availability.message}`);
  });
});

/** An upstream that answers every request with `status`, counting them. */
async function fixedStatusUpstream(status: number) {
  let count = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      count += 1;
      res.writeHead(status, { "content-type": "text/plain" }).end("no");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get count() {
      return count;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A request on a new connection each time (SO_REUSEPORT spreads connections, so both processes serve). */
function getFresh(url: string, method = "GET"): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .request(url, { agent: false, method }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      })
      .on("error", reject)
      .end();
  });
}

/** Runs `jobs` with at most `width` at once. */
async function inParallel<T>(jobs: (() => Promise<T>)[], width = 8): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await (jobs[i] as () => Promise<T>)();
      }
    }),
  );
  return results;
}

describe.skipIf(availability.state !== "run")("gateway metrics through control into a real Prometheus", () => {
  let stack: Stack;
  let prometheus: RunningPrometheus;
  const up: Record<string, UpstreamServer> = {};
  let broken: Awaited<ReturnType<typeof fixedStatusUpstream>>;
  const routes: Record<string, string> = {};
  const value = async (promql: string) => (await prometheus.query(promql))[0]?.value;

  beforeAll(async () => {
    for (const name of ["s1", "s2", "c1", "v1", "v2"]) up[name] = await startUpstream(name);
    broken = await fixedStatusUpstream(503);
    stack = await startStack(pglite, 2, { gateway: { telemetry: { METRICS_PUSH_MS: String(PUSH_MS), ACCESS_LOG: "off" } } });
    prometheus = await startPrometheus({
      jobs: [{ name: "sluice-control", url: stack.control.url, token: stack.control.tokens.metricsToken }],
    });
    const { admin } = stack;
    await ok(admin.post("/v1/services", { appkey: "shop" }));
    const group = async (name: string, ports: number[], balancing?: unknown) => {
      await ok(admin.post("/v1/services/shop/groups", { name, ...(balancing ? { balancing } : {}) }));
      for (const port of ports) await ok(admin.post(`/v1/services/shop/groups/${name}/instances`, { host: "127.0.0.1", port }));
    };
    await group("stable", [up.s1?.port as number, up.s2?.port as number]);
    await group("canary", [up.c1?.port as number]);
    await group("broken", [broken.port], { outlier: { consecutive5xx: 1_000_000 } });
    // Outlier detection ejects after 3 consecutive failures; the breaker is off so it alone acts.
    await group("victim", [up.v1?.port as number, up.v2?.port as number], {
      outlier: { consecutive5xx: 3, baseEjectionTimeMs: 60_000 },
      instanceBreaker: { errorRatio: 2, slowRatio: 2 },
    });
    await ok(
      admin.post("/v1/policies", {
        name: "canary-tenth",
        category: "private",
        appkey: "shop",
        key: "uid",
        passway: "query",
        condition: "int(key) % 10 == 0",
        group: "canary",
      }),
    );
    const route = async (path: string, defaultGroup: string, policies: string[] = []) => {
      const body = await ok(admin.post("/v1/routes", { appkey: "shop", path, defaultGroup, policies, retry: { numRetries: 0 } }));
      routes[path] = String(body.id);
    };
    await route("/shop", "stable", ["canary-tenth"]);
    await route("/broken", "broken");
    await route("/victim", "victim");
    await eventually(async () => (await getFresh(`${stack.gateway.url}/victim/ready`)) === 200, 10_000, "routes served");
  }, 90_000);

  afterAll(async () => {
    await prometheus?.close();
    await stack?.close();
    for (const u of Object.values(up)) await u.close().catch(() => {});
    await broken?.close();
  });

  it("sums exactly N requests of both gateway processes, by status class and by the policy's split", async () => {
    const url = stack.gateway.url;
    const statuses = await inParallel(Array.from({ length: N }, (_, uid) => () => getFresh(`${url}/shop/item?uid=${uid}`)));
    expect(statuses.every((s) => s === 200)).toBe(true);
    const brokenStatuses = await inParallel(Array.from({ length: BROKEN }, () => () => getFresh(`${url}/broken`)));
    expect(brokenStatuses.every((s) => s === 503)).toBe(true);
    // DELETE: no other request of the test uses it (the readiness probe's 404s are GETs).
    const missStatuses = await inParallel(Array.from({ length: MISSES }, () => () => getFresh(`${url}/nowhere`, "DELETE")));
    expect(missStatuses.every((s) => s === 404)).toBe(true);

    const shop = `route="${routes["/shop"]}"`;
    await prometheus.waitFor(`sum(http_server_request_duration_seconds_count{${shop}})`, (r) => r[0]?.value === N, 20_000);
    // The isolate's own view: control answered its pushes, none refused; tracing is off.
    const status = await gatewayStatus(stack.gateway.url);
    expect(status.telemetry.metricsPushesAnswered).toBeGreaterThan(0);
    expect(status.telemetry).toMatchObject({ lastPushRefusal: null, traces: null });
    // Both processes served and pushed: one gateway isolate each.
    expect(await value(`count(count by (gateway) (sluice_gateway_snapshot_version))`)).toBe(2);

    // The policy split as the upstreams counted it.
    const byGroup = await prometheus.query(`sum by (group) (http_server_request_duration_seconds_count{${shop}})`);
    const groupCount = Object.fromEntries(byGroup.map((s) => [s.metric.group, s.value]));
    expect(groupCount).toEqual({ canary: up.c1?.count, stable: (up.s1?.count ?? 0) + (up.s2?.count ?? 0) });
    expect(groupCount.canary).toBe(N / 10);
    expect(await value(`sum(http_server_request_duration_seconds_bucket{${shop},le="+Inf"})`)).toBe(N);
    expect(await value(`sum(sluice_upstream_attempts_total{group="stable",outcome="success"})`)).toBe(groupCount.stable);

    // Status classes: the upstream's 503s and the gateway's own 404s (no route: no route label).
    await prometheus.waitFor(
      `sum(http_server_request_duration_seconds_count{route="${routes["/broken"]}",status_class="5xx"})`,
      (r) => r[0]?.value === BROKEN,
    );
    expect(broken.count).toBe(BROKEN);
    expect(await value(`sum(sluice_upstream_attempts_total{group="broken",outcome="http_5xx"})`)).toBe(BROKEN);
    await prometheus.waitFor(
      `sum(http_server_request_duration_seconds_count{route="",group="",status_class="4xx",method="DELETE"})`,
      (r) => r[0]?.value === MISSES,
    );
    expect(await prometheus.query(`http_server_request_duration_seconds_count{${shop},status_class!="2xx"}`)).toEqual([]);
  }, 60_000);

  it("shows a killed upstream in the attempt outcomes and the ejections", async () => {
    const url = stack.gateway.url;
    const victim = up.v2 as UpstreamServer;
    const victimInstance = `127.0.0.1:${victim.port}`;
    await victim.close();
    const statuses = await inParallel(
      Array.from({ length: 60 }, () => () => getFresh(`${url}/victim`)),
      4,
    );
    const failed = statuses.filter((s) => s === 502).length;
    expect(failed).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 200).length + failed).toBe(60);
    // Prometheus keeps the scraped `instance` label as exported_instance (docs/metrics.md).
    const where = `group="victim",exported_instance="${victimInstance}"`;
    await prometheus.waitFor(
      `sum(sluice_upstream_attempts_total{${where},outcome="connect_failure"})`,
      (r) => r[0]?.value === failed,
      20_000,
    );
    await prometheus.waitFor(`sum(sluice_outlier_ejections_total{${where}})`, (r) => (r[0]?.value ?? 0) >= 1);
    await prometheus.waitFor(`sum(sluice_outlier_ejected{${where}})`, (r) => (r[0]?.value ?? 0) >= 1);
    expect(await value(`sum(http_server_request_duration_seconds_count{route="${routes["/victim"]}",status_class="5xx"})`)).toBe(failed);
  }, 60_000);
});
