/**
 * SluiceGatewaySnapshotStale (deploy/prometheus/alerts.yml) fires in a real Prometheus from a real
 * gateway's pushed `sluice_gateway_snapshot_age_seconds`: the gateway reaches control through a
 * proxy that, once switched, answers 503 to the snapshot polls while it still passes the metrics
 * pushes — a gateway cut off from its configuration but not from control, as a broken route or
 * ACL would leave it. The age grows until the rule fires; it is quiet before. The file's rule is
 * used with its threshold (300 s) and `for` (2 m) shortened to 3 s and 1 s, its expression's shape
 * unchanged.
 *
 * Without `prometheus` on PATH the suite is skipped, naming the package — except under CI.
 */
import { readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { startUpstream, type UpstreamServer } from "../../control/demo/upstream-server.ts";
import { startGateway } from "../../worker/launcher/gateway.ts";
import type { ProcessCluster } from "../../worker/launcher/supervisor.ts";
import { backends } from "../support/backends.ts";
import { prometheusAvailability, type RunningPrometheus, startPrometheus } from "../support/prometheus.ts";
import { eventually, ok, type Stack, startStack } from "../support/stack.ts";

const ALERTS = join(import.meta.dirname, "../../deploy/prometheus/alerts.yml");
const RULE = "SluiceGatewaySnapshotStale";
const availability = prometheusAvailability();
const [pglite] = backends();

describe("prometheus availability", () => {
  it.runIf(availability.state === "fail")("has prometheus installed under CI", () => {
    throw new Error(availability.message);
  });
  it.runIf(availability.state === "skip")(`skipped: ${availability.message}`, () => {
    console.warn(`test/e2e/snapshot-stale-alert.test.ts skipped: ${availability.message}`);
  });
});

/** A proxy to `target` that answers 503 to GET /v1/snapshot while `cut` is set. */
async function cuttableProxy(target: string) {
  const state = { cut: false };
  const server = http.createServer((req, res) => {
    if (state.cut && req.url?.startsWith("/v1/snapshot")) {
      req.resume();
      res.writeHead(503, { "content-type": "application/json" }).end('{"error":"cut"}');
      return;
    }
    const upstream = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.skipIf(availability.state !== "run")("a gateway cut off from snapshots raises SluiceGatewaySnapshotStale", () => {
  let stack: Stack;
  let proxy: Awaited<ReturnType<typeof cuttableProxy>>;
  let prometheus: RunningPrometheus;
  let upstream: UpstreamServer;
  let traffic: ReturnType<typeof setInterval> | undefined;
  /** The gateway behind the proxy. */
  let cut: ProcessCluster;

  beforeAll(async () => {
    upstream = await startUpstream("u1");
    // Control first, then the proxy to it, then the gateway behind the proxy (a second gateway
    // cluster of the stack's control: the stack's own is not used here).
    stack = await startStack(pglite, 1);
    proxy = await cuttableProxy(stack.control.url);
    cut = await startGateway({
      controlUrl: proxy.url,
      gatewayToken: stack.control.tokens.gatewayToken,
      snapshotPublicKey: stack.control.signingKey.publicKeyBase64,
      port: 0,
      processes: 1,
      snapshotPollMs: 100,
      snapshotWaitMs: 1000,
      stdio: "ignore",
      telemetry: { METRICS_PUSH_MS: "200", ACCESS_LOG: "off" },
    });
    const { admin } = stack;
    await ok(admin.post("/v1/services", { appkey: "shop" }));
    await ok(admin.post("/v1/services/shop/groups", { name: "main" }));
    await ok(admin.post("/v1/services/shop/groups/main/instances", { host: "127.0.0.1", port: upstream.port }));
    await ok(admin.post("/v1/routes", { appkey: "shop", path: "/", defaultGroup: "main" }));
    await eventually(async () => (await fetch(`${cut.url}/a`)).status === 200, 10_000, "the cut-off gateway routes");
    // Requests keep the gateway's telemetry loop pushing (as traffic does in production).
    traffic = setInterval(() => {
      fetch(`${cut.url}/a`)
        .then((r) => r.arrayBuffer())
        .catch(() => {});
    }, 100);

    const rules = parse(await readFile(ALERTS, "utf8")) as { groups: { rules: { alert: string; expr: string; for?: string }[] }[] };
    const rule = rules.groups.flatMap((g) => g.rules).find((r) => r.alert === RULE);
    expect(rule?.expr).toBe("sluice_gateway_snapshot_age_seconds > 300");
    (rule as { expr: string }).expr = "sluice_gateway_snapshot_age_seconds > 3";
    (rule as { for?: string }).for = "1s";
    const only = { groups: [{ name: "stale", rules: [rule] }] };
    const ruleFile = join(stack.dataDir, "stale-rule.yml");
    await writeFile(ruleFile, stringify(only));
    prometheus = await startPrometheus({
      jobs: [{ name: "sluice-control", url: stack.control.url, token: stack.control.tokens.metricsToken }],
      ruleFiles: [ruleFile],
    });
  }, 90_000);

  afterAll(async () => {
    if (traffic) clearInterval(traffic);
    await prometheus?.close();
    await cut?.close();
    await stack?.close();
    await proxy?.close();
    await upstream?.close();
  });

  it("stays quiet while the gateway is confirmed, and fires once its snapshot ages past the threshold", async () => {
    // In contact: the age stays within a long poll (1 s here) and the rule does not fire.
    const fresh = await prometheus.waitFor("sluice_gateway_snapshot_age_seconds", (r) => r.length === 1, 20_000);
    expect(fresh[0]?.value).toBeLessThan(3);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await prometheus.alerts()).map((a) => a.labels.alertname)).not.toContain(RULE);
    const ageNow = await prometheus.query("max(sluice_gateway_snapshot_age_seconds)");
    expect(ageNow[0]?.value).toBeLessThan(3);

    proxy.state.cut = true;
    const alert = await prometheus.waitForAlert(RULE, "firing", 30_000);
    expect(alert.labels).toMatchObject({ severity: "critical", alertname: RULE });
    expect(alert.labels.gateway).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(alert.value)).toBeGreaterThan(3);
    // The gateway kept serving its last snapshot meanwhile (static stability).
    expect((await fetch(`${cut.url}/a`)).status).toBe(200);
  }, 60_000);
});
