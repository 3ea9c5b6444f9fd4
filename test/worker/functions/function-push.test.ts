/**
 * worker/telemetry/pusher.ts with function load (worker/functions/load.ts) against a stand-in
 * control on 127.0.0.1: a push carries the `functions` block; while the isolate has function
 * traffic it pushes every FUNCTION_METRICS_PUSH_MS though METRICS_PUSH_MS is longer; once the
 * traffic has been reported it goes back to METRICS_PUSH_MS and the loop ends.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { VersionRef } from "../../../worker/functions/activator.ts";
import { FunctionLoad } from "../../../worker/functions/load.ts";
import { MetricsAggregator } from "../../../worker/telemetry/metrics.ts";
import { TelemetryPusher } from "../../../worker/telemetry/pusher.ts";
import type { MetricsPush } from "../../../worker/telemetry/wire.ts";

const V: VersionRef = { groupId: 0x60000002, appkey: "com.example.shop", function: "hello", version: 2 };

let server: Server | null = null;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = null;
});

/** A control that accepts every push and keeps them, with the time each arrived (Unix ms). */
async function acceptingControl() {
  const received: { push: MetricsPush; atMs: number }[] = [];
  server = createServer((req, res) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => {
      text += chunk;
    });
    req.on("end", () => {
      received.push({ push: JSON.parse(text), atMs: Date.now() });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

describe("function load in the metrics push", () => {
  it("pushes every FUNCTION_METRICS_PUSH_MS while a version has traffic, with the functions block, then ends", async () => {
    const control = await acceptingControl();
    const startMs = Date.now();
    const load = new FunctionLoad(startMs);
    const pusher = new TelemetryPusher(
      { controlUrl: control.url, gatewayToken: "t".repeat(32), pushMs: 1000, functionPushMs: 50 },
      {
        aggregator: new MetricsAggregator(),
        gatewayId: () => "0b6f1c1e-4a59-4f83-a0b4-5f5c9e1e7a01",
        slot: null,
        gauges: () => ({ activeRequests: 1, snapshotVersion: "9", snapshotAgeSeconds: 0, ejected: [], breakerOpen: [] }),
        flush: () => {},
        refused: () => {},
        functions: { active: () => load.active, drain: (nowMs) => load.drain(nowMs, () => 1) },
      },
    );
    const background: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => background.push(p) };
    pusher.touch(ctx, startMs);
    load.begin(V, startMs); // one request buffered for the whole time
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Within 400 ms METRICS_PUSH_MS (1000) allows none; FUNCTION_METRICS_PUSH_MS (50) several.
    const during = control.received.length;
    expect(during).toBeGreaterThanOrEqual(3);
    const first = control.received[0]?.push as MetricsPush;
    expect(first.functions).toEqual([
      {
        appkey: "com.example.shop",
        function: "hello",
        version: 2,
        concurrency: expect.closeTo(1, 2),
        buffered: 1,
        requests: 0,
        activations: 0,
        activationWait: { count: 0, sumSeconds: 0, buckets: new Array(15).fill(0) },
      },
    ]);

    load.waited(V, 0.4);
    load.end(V, Date.now());
    await Promise.race([
      Promise.all(background),
      new Promise((_, reject) => setTimeout(() => reject(new Error("loop did not end")), 5000)),
    ]);
    const withEnd = control.received.filter((r) => r.push.functions?.some((f) => f.requests === 1));
    expect(withEnd).toHaveLength(1);
    expect(withEnd[0]?.push.functions?.[0]?.activationWait.count).toBe(1);
    // After that report the version is forgotten: later pushes (the trailing flush) carry no block.
    const last = control.received.at(-1)?.push as MetricsPush;
    expect(last.functions === undefined || last === withEnd[0]?.push).toBe(true);
  });
});
