/**
 * The gateway's attempt loop (worker/forward.ts) in Node against real HTTP upstreams on
 * 127.0.0.1 and the real WASM hot path: the cases the end-to-end fault tests cannot stage on
 * demand — a half-open probe refused by admission is handed back (or its breaker would wait for
 * it forever), and a snapshot swap while a request awaits its body does not send it to whatever
 * instance now has the decided index.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type UpstreamServer } from "../../control/demo/upstream-server.ts";
import type { ConfigModel, InstanceConfig } from "../../control/snapshot/model.ts";
import { resolveBalancing } from "../../control/snapshot/options.ts";
import type { HotPath } from "../../wasm/host.ts";
import { type ForwardScope, forward } from "../../worker/forward.ts";
import { newExchange } from "../../worker/telemetry/exchange.ts";
import { MetricsAggregator } from "../../worker/telemetry/metrics.ts";
import { group, instantiate, request, route, write } from "../support/wasm-fixtures.ts";

const servers: UpstreamServer[] = [];
const ports: number[] = [];

beforeAll(async () => {
  for (const name of ["a", "b"]) {
    const server = await startUpstream(name);
    servers.push(server);
    ports.push(server.port);
  }
});

afterAll(async () => {
  for (const server of servers) await server.close();
});

/** Instance `id` on upstream a (port index 0) or b (1). */
const upstream = (id: number, which: 0 | 1): InstanceConfig => ({
  id,
  host: "127.0.0.1",
  port: ports[which] as number,
  weight: 1,
  status: "alive",
  zone: "",
  lane: "",
  version: "",
});

const scopeOf = (hot: HotPath): ForwardScope => ({
  hot,
  waiters: new Map(),
  counts: new Map(),
  retries: 0,
  metrics: new MetricsAggregator(),
});

describe("worker/forward.ts attempt loop", () => {
  it("hands back a half-open probe that group admission refused, so the breaker can probe again", async () => {
    const { hot } = await instantiate();
    const balancing = resolveBalancing({
      outlier: { consecutive5xx: 1000 }, // only the breaker acts here
      instanceBreaker: { errorRatio: 0.5, minRequestAmount: 5, statIntervalMs: 60_000, timeWindowMs: 1000 },
      groupBreaker: { maxRequests: 1, maxPendingRequests: 0 },
    });
    const model: ConfigModel = {
      groups: [{ ...group(1, "main", [upstream(1, 0)]), balancing }],
      policies: [],
      routes: [route(1, "*", "/")],
    };
    expect(hot.load(write(model, 1n)).ok).toBe(true);
    // Five failures 5 s ago opened the breaker; its 1 s window is over, so the next pick is the probe.
    const opened = Date.now() - 5000;
    for (let k = 0; k < 5; k++) hot.finish(0, 1, { status: 500, latencyMs: 1 }, false, opened);
    expect(hot.instanceHealth(0).breaker).toBe("open");

    const now = Date.now();
    const d = hot.decide(request("any.test", "/"), now);
    expect(d.probe).toBe(true);
    const decided = { route: d.route, group: d.group, instance: d.instance, probe: d.probe, atMs: now };
    expect(hot.admit(0, 1)).toBe("run"); // another request holds the group's only slot

    const req = new Request(`http://any.test/`);
    const res = await forward(scopeOf(hot), req, new URL(req.url), request("any.test", "/"), decided, null, undefined, newExchange("test"));
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toBe("overflow");
    // Handed back: open again from now, so after another window the next pick probes again.
    expect(hot.instanceHealth(0).breaker).toBe("open");
    hot.release(0, 1);
    const later = hot.decide(request("any.test", "/"), Date.now() + 1500);
    expect(later.probe).toBe(true);
  });

  it("sends to the decided instance, found again by id, when a snapshot swap lands while the body arrives", async () => {
    const { hot } = await instantiate();
    const retry = {
      retryOn: ["connect-failure" as const],
      numRetries: 1,
      perTryTimeoutMs: 0,
      retryNonIdempotent: false,
      backoffBaseMs: 25,
      backoffMaxMs: 250,
      budgetPercent: 20,
      minRetryConcurrency: 3,
    };
    const serving = (groups: ConfigModel["groups"], version: bigint) => {
      expect(hot.load(write({ groups, policies: [], routes: [route(1, "*", "/", { retry })] }, version)).ok).toBe(true);
    };
    const main = group(1, "main", [upstream(1, 0), upstream(2, 1)]);
    serving([main], 1n);
    const now = Date.now();
    const d = hot.decide(request("any.test", "/", {}, "POST"), now);
    const decidedId = hot.snapshot.instances[d.instance]?.id;
    const decided = { route: d.route, group: d.group, instance: d.instance, probe: d.probe, atMs: now };

    let body!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        body = controller;
      },
    });
    const req = new Request("http://any.test/", {
      method: "POST",
      body: stream,
      headers: { "content-length": "5" },
      duplex: "half",
    } as RequestInit);
    const answer = forward(
      scopeOf(hot),
      req,
      new URL(req.url),
      request("any.test", "/", {}, "POST"),
      decided,
      null,
      undefined,
      newExchange("test"),
    );
    // While forward() waits for the body: a new snapshot adds a group that sorts first, so every
    // instance index of `main` moves by one and the decided index names an instance on the other
    // upstream (instance 3 is on b, before 1 on a and 2 on b).
    serving([group(2, "aaa", [upstream(3, 1)]), main], 2n);
    expect(hot.snapshot.instances[d.instance]?.id).not.toBe(decidedId);
    body.enqueue(new TextEncoder().encode("hello"));
    body.close();

    const res = await answer;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { upstream: string }).upstream).toBe(decidedId === 1 ? "a" : "b");
  });
});
