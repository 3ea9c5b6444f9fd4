/**
 * worker/functions/router.ts with a stub hot path and forward() replaced by a recorder: the
 * version chosen from the request's tag, lane and sticky key goes to forward() with the version
 * group; a version without an instance buffers until a snapshot load brings one, and the
 * released request keeps its original deadline (decided.atMs) on the route found again by id;
 * the wait ends at min(activationTimeoutMs, the route's remaining timeout) with 503
 * `activation_timeout`; a full buffer answers 503 `overflow`; both with `Retry-After: 1`. An
 * instance control names before the snapshot has one gets the buffered request and the next ones
 * in one direct attempt (fetch stubbed), until a snapshot load.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { FunctionEntry } from "../../../wasm/functions-section.ts";
import type { HotPath } from "../../../wasm/host.ts";
import { parseClientIpRule } from "../../../worker/client-ip.ts";
import type { Decided, ForwardScope } from "../../../worker/forward.ts";
import { Activator, type VersionRef } from "../../../worker/functions/activator.ts";
import { FunctionLoad } from "../../../worker/functions/load.ts";
import { FunctionRouter } from "../../../worker/functions/router.ts";
import { functionTable, type VersionRequest } from "../../../worker/functions/table.ts";
import { RequestAttributes } from "../../../worker/request-attributes.ts";
import { newExchange } from "../../../worker/telemetry/exchange.ts";
import { MetricsAggregator } from "../../../worker/telemetry/metrics.ts";

const forwarded = vi.hoisted(() => [] as Decided[]);
vi.mock("../../../worker/forward.ts", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../../worker/forward.ts")>()),
  forward: async (_scope: unknown, _request: Request, _url: URL, _attributes: unknown, decided: Decided) => {
    forwarded.push({ ...decided });
    return new Response("from the function");
  },
}));

const ENTRY_ID = 0x40000001;
const V2_ID = 0x60000002;

/** Snapshot metadata as the router reads it. */
interface StubSnapshot {
  routes: { id: number; timeoutMs: number }[];
  groups: { id: number; name: string; firstInstance: number; instanceCount: number }[];
  instances: { id: number; group: number }[];
}

/** Route 7 → entry group fn:hello (index 0); version 2's group (index 1) with `instances` instances. */
function firstSnapshot(instances: number): StubSnapshot {
  return {
    routes: [{ id: 7, timeoutMs: 15_000 }],
    groups: [
      { id: ENTRY_ID, name: "fn:hello", firstInstance: 0, instanceCount: 0 },
      { id: V2_ID, name: "fn:hello@2", firstInstance: 0, instanceCount: instances },
    ],
    instances: Array.from({ length: instances }, (_, k) => ({ id: 0x40000010 + k, group: 1 })),
  };
}

/** A later snapshot where every index moved: route 7 is index 1, version 2's group index 2 with one instance at index 1. */
const SECOND: StubSnapshot = {
  routes: [
    { id: 3, timeoutMs: 1000 },
    { id: 7, timeoutMs: 15_000 },
  ],
  groups: [
    { id: 55, name: "shop", firstInstance: 0, instanceCount: 1 },
    { id: ENTRY_ID, name: "fn:hello", firstInstance: 1, instanceCount: 0 },
    { id: V2_ID, name: "fn:hello@2", firstInstance: 1, instanceCount: 1 },
  ],
  instances: [
    { id: 9, group: 0 },
    { id: 0x40000020, group: 2 },
  ],
};

/** The hot path's select(): the group's first instance (by index, else found by id), none when it has none. */
class StubHot {
  snapshot: StubSnapshot;
  constructor(snapshot: StubSnapshot) {
    this.snapshot = snapshot;
  }
  select(group: number, groupId: number) {
    const groups = this.snapshot.groups;
    const g = groups[group]?.id === groupId ? group : groups.findIndex((x) => x.id === groupId);
    const info = groups[g];
    const none = !info || info.instanceCount === 0;
    return { status: none ? 3 : 0, instance: none ? -1 : info.firstInstance, probe: false };
  }
  abandonProbe() {}
}

function entry(groups: { entry: number; v2: number }, activationTimeoutMs = 10_000): FunctionEntry {
  return {
    id: 1,
    appkey: "com.example.shop",
    name: "hello",
    entryGroup: groups.entry,
    activationTimeoutMs,
    stickiness: { from: "cookie", name: "uid" },
    targets: [{ version: 2, group: groups.v2, percent: 100, tag: null, lane: null }],
  };
}

function setup(snapshot: StubSnapshot, maxBuffered = 1000) {
  const hot = new StubHot(snapshot);
  const pokes: VersionRef[] = [];
  const chosen: VersionRequest[] = [];
  const activator = new Activator({ maxBuffered, pokeIntervalMs: 1000, poke: (v) => pokes.push(v) });
  const load = new FunctionLoad(Date.now());
  const scope = { hot: hot as unknown as HotPath, waiters: new Map(), counts: new Map(), retries: 0, metrics: new MetricsAggregator() };
  const router = new FunctionRouter({
    scope: scope as ForwardScope,
    activator,
    load,
    choose: (e, request) => {
      chosen.push(request);
      return e.targets[0] as FunctionEntry["targets"][number];
    },
    random: () => 0.5,
  });
  const fn = entry({ entry: 0, v2: 1 });
  router.loaded(functionTable({ functions: [fn] }));
  const keptAlive: number[] = [];
  /** Serves a GET decided at `atMs` on route index 0. */
  const serve = (atMs: number, headers: Record<string, string> = {}) => {
    const url = new URL("http://shop.example.com/hello");
    const request = new Request(url, { headers });
    const attributes = new RequestAttributes(
      url,
      "GET",
      request.headers,
      undefined,
      parseClientIpRule(undefined, undefined),
      "sluice-lane",
    );
    const exchange = newExchange("r-1");
    const answer = router.serve(request, url, attributes, fn, 0, atMs, undefined, exchange, () => keptAlive.push(Date.now()));
    return { answer, exchange };
  };
  return { hot, router, activator, load, pokes, chosen, keptAlive, serve };
}

/** Whether `p` has settled (after pending callbacks ran). */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await vi.advanceTimersByTimeAsync(0);
  return done;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_700_000_000_000 });
  forwarded.length = 0;
});
afterEach(() => {
  vi.useRealTimers();
});

describe("FunctionRouter", () => {
  it("finds the function by its entry group index only", () => {
    const { router } = setup(firstSnapshot(1));
    expect(router.entry(0)?.name).toBe("hello");
    expect(router.entry(1)).toBeUndefined();
  });

  it("forwards at once to an instance of the chosen version, labelled with the version", async () => {
    const { serve, chosen, load } = setup(firstSnapshot(2));
    const atMs = Date.now();
    const { answer, exchange } = serve(atMs, { "sluice-function-tag": "canary", "sluice-lane": "gray", cookie: "uid=u-42" });
    expect(await (await answer).text()).toBe("from the function");
    expect(chosen).toEqual([{ tag: "canary", lane: "gray", stickyKey: "u-42" }]);
    expect(forwarded).toEqual([{ route: 0, group: 1, instance: 0, probe: false, atMs }]);
    expect(exchange.group).toBe("fn:hello@2");
    expect(exchange.functionVersion).toBe("com.example.shop/hello@2");
    expect(load.drain(Date.now(), () => 0).map((s) => [s.version, s.requests, s.activations])).toEqual([[2, 1, 0]]);
  });

  it("reads no tag, the main lane and no sticky key from a plain request", async () => {
    const { serve, chosen } = setup(firstSnapshot(1));
    await serve(Date.now()).answer;
    expect(chosen).toEqual([{ tag: null, lane: "", stickyKey: null }]);
  });

  it("buffers until a snapshot brings an instance, then forwards on the route found by id with the original deadline", async () => {
    const { serve, hot, router, pokes, keptAlive, load, activator } = setup(firstSnapshot(0));
    const atMs = Date.now();
    const { answer } = serve(atMs);
    expect(await settled(answer)).toBe(false);
    expect(activator.bufferedOf(V2_ID)).toBe(1);
    expect(pokes.map((v) => `${v.appkey}/${v.function}@${v.version}`)).toEqual(["com.example.shop/hello@2"]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(pokes).toHaveLength(3); // at once, then at 1 s and 2 s
    expect(keptAlive).toEqual([atMs + 1000, atMs + 2000]);
    // A snapshot without an instance for the version releases nothing.
    hot.snapshot = { ...firstSnapshot(0), routes: [{ id: 7, timeoutMs: 15_000 }] };
    router.loaded(functionTable({ functions: [entry({ entry: 0, v2: 1 })] }));
    expect(await settled(answer)).toBe(false);
    hot.snapshot = SECOND;
    router.loaded(functionTable({ functions: [entry({ entry: 1, v2: 2 })] }));
    expect(await (await answer).text()).toBe("from the function");
    expect(forwarded).toEqual([{ route: 1, group: 2, instance: 1, probe: false, atMs }]);
    const [series] = load.drain(Date.now(), () => activator.bufferedOf(V2_ID));
    expect(series?.activations).toBe(1);
    expect(series?.activationWait.sumSeconds).toBeCloseTo(2, 9);
    expect(series?.buffered).toBe(0);
    // 2 s buffered, then answered, over a 2 s interval: an average of 1 in flight.
    expect(series?.concurrency).toBeCloseTo(1, 9);
  });

  it("sends buffered and new requests in one direct attempt to an instance control named, until a snapshot load", async () => {
    const sent: string[] = [];
    vi.stubGlobal("fetch", async (request: Request) => {
      sent.push(`${request.method} ${request.url} ${request.headers.get("x-request-id")}`);
      // No body: reading one waits on timers, which are fake here.
      return new Response(null, { headers: { "x-from": "the named instance" } });
    });
    try {
      const { serve, hot, router, activator, pokes } = setup(firstSnapshot(0));
      const buffered = serve(Date.now());
      expect(await settled(buffered.answer)).toBe(false);
      activator.direct(V2_ID, [{ host: "127.0.0.1", port: 9001 }]);
      expect((await buffered.answer).headers.get("x-from")).toBe("the named instance");
      expect(buffered.exchange).toMatchObject({ attempts: 1, instance: "127.0.0.1:9001", group: "fn:hello@2" });
      // The next request goes there at once: no buffering, no poke.
      const next = serve(Date.now());
      expect((await next.answer).headers.get("x-from")).toBe("the named instance");
      expect(sent).toEqual(["GET http://127.0.0.1:9001/hello r-1", "GET http://127.0.0.1:9001/hello r-1"]);
      expect(pokes).toHaveLength(1);
      expect(forwarded).toEqual([]);
      // Once a snapshot loads it is the truth again: without an instance there, a request buffers
      // (and pokes); the snapshot that brings one releases it to normal forwarding.
      router.loaded(functionTable({ functions: [entry({ entry: 0, v2: 1 })] }));
      const after = serve(Date.now());
      expect(await settled(after.answer)).toBe(false);
      expect(pokes).toHaveLength(2);
      hot.snapshot = SECOND;
      router.loaded(functionTable({ functions: [entry({ entry: 1, v2: 2 })] }));
      await after.answer;
      expect(forwarded).toEqual([expect.objectContaining({ route: 1, group: 2, instance: 1 })]);
      expect(sent).toHaveLength(2);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("releases FIFO", async () => {
    const { serve, hot, router } = setup(firstSnapshot(0));
    const first = serve(Date.now() - 5);
    const second = serve(Date.now());
    await vi.advanceTimersByTimeAsync(10);
    hot.snapshot = SECOND;
    router.loaded(functionTable({ functions: [entry({ entry: 1, v2: 2 })] }));
    await Promise.all([first.answer, second.answer]);
    expect(forwarded.map((d) => d.atMs)).toEqual([Date.now() - 15, Date.now() - 10]);
  });

  it("answers 503 activation_timeout with Retry-After: 1 when the route's remaining timeout ends before activationTimeoutMs", async () => {
    const { serve, activator } = setup(firstSnapshot(0));
    // Decided 12 s ago on a route with a 15 s timeout: 3 s left, less than the 10 s activation timeout.
    const { answer } = serve(Date.now() - 12_000);
    await vi.advanceTimersByTimeAsync(2999);
    expect(await settled(answer)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const response = await answer;
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(await response.json()).toMatchObject({ error: "activation_timeout" });
    expect(activator.buffered).toBe(0);
  });

  it("answers 503 activation_timeout after activationTimeoutMs when the route has longer", async () => {
    const { serve } = setup(firstSnapshot(0));
    const { answer } = serve(Date.now());
    await vi.advanceTimersByTimeAsync(9999);
    expect(await settled(answer)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect((await answer).status).toBe(503);
  });

  it("answers 503 overflow with Retry-After: 1 when the buffer is full", async () => {
    const { serve, activator } = setup(firstSnapshot(0), 1);
    void serve(Date.now());
    const response = await serve(Date.now()).answer;
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(await response.json()).toMatchObject({ error: "overflow" });
    expect(activator.buffered).toBe(1);
  });
});
