/**
 * worker/telemetry/pusher.ts against a real HTTP server on 127.0.0.1 standing in for control:
 * a push that got no answer is sent again with the same seq and body, nothing newer goes before
 * it; a 4xx drops the push; the loop makes a trailing push after traffic stops, then ends.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsAggregator } from "../../../worker/telemetry/metrics.ts";
import { TelemetryPusher } from "../../../worker/telemetry/pusher.ts";
import type { MetricsPush } from "../../../worker/telemetry/wire.ts";

const TOKEN = "t".repeat(32);

interface Received {
  push: MetricsPush;
  authorization: string | undefined;
  gatewayHeader: string | undefined;
}

/** A stand-in control: `answer` decides per push (numbered from 0) what happens. */
async function fakeControl(answer: (n: number, res: ServerResponse, req: IncomingMessage) => void) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => {
      text += chunk;
    });
    req.on("end", () => {
      received.push({
        push: JSON.parse(text),
        authorization: req.headers.authorization,
        gatewayHeader: req.headers["sluice-gateway"] as string,
      });
      answer(received.length - 1, res, req);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

function pusherFor(url: string, pushMs: number) {
  const aggregator = new MetricsAggregator();
  const refusals: number[] = [];
  let flushes = 0;
  const background: Promise<unknown>[] = [];
  const pusher = new TelemetryPusher(
    { controlUrl: url, gatewayToken: TOKEN, pushMs },
    {
      aggregator,
      gatewayId: () => "0b6f1c1e-4a59-4f83-a0b4-5f5c9e1e7a01",
      slot: 3,
      gauges: () => ({ activeRequests: 0, snapshotVersion: "9", snapshotAgeSeconds: 1.5, ejected: [], breakerOpen: [] }),
      flush: () => {
        flushes += 1;
      },
      refused: (status) => refusals.push(status),
    },
  );
  const ctx = { waitUntil: (p: Promise<unknown>) => background.push(p) };
  return { aggregator, pusher, ctx, refusals, background, flushes: () => flushes };
}

describe("TelemetryPusher", () => {
  it("sends a push that got no answer again, same seq and body, before anything newer", async () => {
    const control = await fakeControl((n, res) => {
      if (n === 0)
        res.socket?.destroy(); // control counted it, the answer is lost
      else res.writeHead(200, { "content-type": "application/json" }).end('{"accepted":true}');
    });
    servers.push(control);
    const { aggregator, pusher } = pusherFor(control.url, 50);
    aggregator.request("7", "main", "", "GET", 200, 0.01);
    await pusher.push();
    aggregator.request("7", "main", "", "GET", 200, 0.01); // recorded while the first is unacknowledged
    await pusher.push();
    await pusher.push();
    expect(control.received.map((r) => r.push.seq)).toEqual([1, 1, 2]);
    expect(control.received[1]?.push).toEqual(control.received[0]?.push);
    expect(control.received[0]?.push.requests[0]?.count).toBe(1);
    expect(control.received[2]?.push.requests[0]?.count).toBe(1);
    const first = control.received[0] as Received;
    expect(first.authorization).toBe(`Bearer ${TOKEN}`);
    expect(first.gatewayHeader).toBe(first.push.gateway);
    expect(first.push).toMatchObject({ format: 1, slot: 3, gauges: { snapshotVersion: "9" } });
    expect(pusher.answered).toBe(2);
  });

  it("keeps a push while control is unreachable, and delivers it and what came after once it is back", async () => {
    const control = await fakeControl((_n, res) => res.writeHead(503).end());
    servers.push(control);
    const { aggregator, pusher } = pusherFor(control.url, 50);
    aggregator.retry("1", "g");
    await pusher.push();
    await pusher.push();
    expect(control.received.map((r) => r.push.seq)).toEqual([1, 1]);
    expect(pusher.answered).toBe(0);
  });

  it("drops a push control refuses with a 4xx (it would be refused again) and goes on with the next", async () => {
    const control = await fakeControl((n, res) => res.writeHead(n === 0 ? 400 : 200).end(n === 0 ? '{"error":"bad_request"}' : "{}"));
    servers.push(control);
    const { aggregator, pusher, refusals } = pusherFor(control.url, 50);
    aggregator.retry("1", "g");
    await pusher.push();
    aggregator.retry("1", "g");
    await pusher.push();
    expect(control.received.map((r) => r.push.seq)).toEqual([1, 2]);
    expect(refusals).toEqual([400]);
  });

  it("runs while requests come, makes a trailing push once they stop, and ends", async () => {
    const control = await fakeControl((_n, res) => res.writeHead(200).end("{}"));
    servers.push(control);
    const { aggregator, pusher, ctx, background, flushes } = pusherFor(control.url, 100);
    for (let i = 0; i < 5; i++) {
      pusher.touch(ctx, Date.now());
      aggregator.request("7", "main", "", "GET", 200, 0.01);
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    expect(background).toHaveLength(1); // one loop, started by the first request
    await Promise.race([
      Promise.all(background),
      new Promise((_, reject) => setTimeout(() => reject(new Error("loop did not end")), 5000)),
    ]);
    const total = control.received.flatMap((r) => r.push.requests).reduce((sum, r) => sum + r.count, 0);
    expect(total).toBe(5);
    expect(flushes()).toBeGreaterThan(0);
    // A request after the end starts a new loop.
    pusher.touch(ctx, Date.now());
    expect(background).toHaveLength(2);
    await Promise.all(background);
  });

  it("stamps each push with the time it covers", async () => {
    const control = await fakeControl((_n, res) => res.writeHead(200).end("{}"));
    servers.push(control);
    const { pusher } = pusherFor(control.url, 50);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await pusher.push();
    const push = control.received[0]?.push as MetricsPush;
    expect(push.intervalMs).toBeGreaterThanOrEqual(25);
    expect(push.bucketsSeconds).toHaveLength(14);
  });
});
