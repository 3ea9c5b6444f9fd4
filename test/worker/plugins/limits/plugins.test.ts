/**
 * The limit plugins (worker/plugins/limits/limit-count.ts, limit-req.ts, limit-conn.ts) on real
 * Requests: APISIX's limit-count.t / limit-req.t / limit-conn.t scenarios as Sluice settings —
 * the rate_limited body and code, the IETF RateLimit fields and Retry-After, keys and their
 * fallback to the client address, CEL keys (per tenant, per consumer tier; a failing expression
 * counted by the address), shared scopes, counters surviving a rebuild of the plugin (a
 * snapshot swap), the synchronous path, real delays, the finisher, bounded keys, and a cluster
 * limit without a store failing as configured.
 */
import { describe, expect, it } from "vitest";
import { lowerLimitKey } from "../../../../control/compiler/index.ts";
import { encodeIr } from "../../../../wasm/cel/ir-codec.ts";
import type { LimitConnPlugin, LimitCountPlugin, LimitKey, LimitReqPlugin } from "../../../../wasm/plugins-section.ts";
import type { PluginContext } from "../../../../worker/plugins/context.ts";
import { createLimitConn } from "../../../../worker/plugins/limits/limit-conn.ts";
import { createLimitCount } from "../../../../worker/plugins/limits/limit-count.ts";
import { createLimitReq } from "../../../../worker/plugins/limits/limit-req.ts";
import { LimitState } from "../../../../worker/plugins/limits/state.ts";
import { answerHeaders, pluginContext, type TestRequest } from "../plugin-context.ts";

const countConfig = (over: Partial<LimitCountPlugin> = {}): LimitCountPlugin => ({
  count: 2,
  windowSeconds: 60,
  window: "fixed",
  key: { from: "ip" },
  policy: "local",
  failOpen: false,
  rejectedCode: 429,
  rejectedMessage: "too many requests",
  showHeaders: true,
  scope: "route:1",
  ...over,
});

/** A `cel` key as control writes it into the PLUGINS section (lowered, encoded, through JSON). */
const celKey = (expression: string): LimitKey => ({
  from: "cel",
  program: JSON.parse(JSON.stringify(encodeIr(lowerLimitKey(expression)))),
});

/** Runs a plugin that must answer synchronously. */
function runSync(plugin: { access(c: PluginContext): Response | null | Promise<Response | null> }, c: PluginContext): Response | null {
  const answer = plugin.access(c);
  expect(answer).not.toBeInstanceOf(Promise);
  return answer as Response | null;
}

describe("limit-count (local)", () => {
  it("allows `count` per window with RateLimit fields, then answers 429 rate_limited with Retry-After", async () => {
    const plugin = createLimitCount(countConfig(), new LimitState());
    const t0 = 1_000_000;
    const first = pluginContext({ nowMs: t0 });
    expect(runSync(plugin, first)).toBeNull();
    expect(Object.fromEntries(answerHeaders(first))).toEqual({
      "ratelimit-policy": '"limit-count";q=2;w=60',
      ratelimit: '"limit-count";r=1;t=60',
    });
    const second = pluginContext({ nowMs: t0 + 10_500 });
    expect(runSync(plugin, second)).toBeNull();
    expect(answerHeaders(second).get("ratelimit")).toBe('"limit-count";r=0;t=50');

    const third = pluginContext({ nowMs: t0 + 20_000 });
    const rejected = runSync(plugin, third) as Response;
    expect(rejected.status).toBe(429);
    expect(await rejected.json()).toEqual({ error: "rate_limited", message: "too many requests", plugin: "limit-count" });
    expect(rejected.headers.get("retry-after")).toBe("40");
    expect(rejected.headers.get("ratelimit")).toBe('"limit-count";r=0;t=40');
    expect(rejected.headers.get("ratelimit-policy")).toBe('"limit-count";q=2;w=60');
    expect(third.responseEdits).toEqual([]);
    // The window ends 60 s after its first request.
    expect(runSync(plugin, pluginContext({ nowMs: t0 + 60_000 }))).toBeNull();
  });

  it("answers the configured code and message; showHeaders false adds no RateLimit field", async () => {
    const plugin = createLimitCount(
      countConfig({ count: 1, rejectedCode: 503, rejectedMessage: "slow down", showHeaders: false }),
      new LimitState(),
    );
    const first = pluginContext();
    expect(runSync(plugin, first)).toBeNull();
    expect(first.responseEdits).toEqual([]);
    const rejected = runSync(plugin, pluginContext()) as Response;
    expect(rejected.status).toBe(503);
    expect(await rejected.json()).toMatchObject({ error: "rate_limited", message: "slow down" });
    expect(rejected.headers.get("ratelimit")).toBeNull();
    expect(rejected.headers.get("retry-after")).toBe("60");
  });

  it.each<[string, LimitCountPlugin["key"], TestRequest, TestRequest, boolean]>([
    // [case, key, request A, request B, B shares A's counter]
    ["ip: other address", { from: "ip" }, { ip: "192.0.2.1" }, { ip: "192.0.2.2" }, false],
    ["ip: same address", { from: "ip" }, { ip: "192.0.2.1" }, { ip: "192.0.2.1" }, true],
    ["header: other value", { from: "header", name: "x-user" }, { headers: { "x-user": "a" } }, { headers: { "x-user": "b" } }, false],
    [
      "header: same value, other address",
      { from: "header", name: "x-user" },
      { headers: { "x-user": "a" } },
      { ip: "192.0.2.9", headers: { "x-user": "a" } },
      true,
    ],
    ["header absent: falls back to the address", { from: "header", name: "x-user" }, {}, {}, true],
    ["header absent vs present", { from: "header", name: "x-user" }, {}, { headers: { "x-user": "192.0.2.1" } }, false],
    ["header empty: falls back", { from: "header", name: "x-user" }, { headers: { "x-user": "" } }, {}, true],
    ["query", { from: "query", name: "k" }, { path: "/?k=1" }, { path: "/x?k=1", ip: "192.0.2.7" }, true],
    ["query: other value", { from: "query", name: "k" }, { path: "/?k=1" }, { path: "/?k=2" }, false],
    [
      "cookie",
      { from: "cookie", name: "sid" },
      { headers: { cookie: "sid=s1" } },
      { headers: { cookie: "a=b; sid=s1" }, ip: "192.0.2.8" },
      true,
    ],
    ["consumer", { from: "consumer" }, { consumer: "alice" }, { consumer: "alice", ip: "192.0.2.3" }, true],
    ["consumer: other", { from: "consumer" }, { consumer: "alice" }, { consumer: "bob" }, false],
    ["no consumer: falls back to the address", { from: "consumer" }, {}, {}, true],
  ])("key %s", (_, key, a, b, shared) => {
    const plugin = createLimitCount(countConfig({ count: 1, key }), new LimitState());
    expect(runSync(plugin, pluginContext(a))).toBeNull();
    const answer = runSync(plugin, pluginContext(b));
    expect(answer?.status ?? 200).toBe(shared ? 429 : 200);
  });

  it("routes of one scope share counters; counters survive a rebuild of the plugin (snapshot swap)", () => {
    const state = new LimitState();
    const routeA = createLimitCount(countConfig({ scope: "group:g" }), state);
    const routeB = createLimitCount(countConfig({ scope: "group:g" }), state);
    const other = createLimitCount(countConfig({ scope: "route:9" }), state);
    expect(runSync(routeA, pluginContext())).toBeNull();
    expect(runSync(routeB, pluginContext())).toBeNull();
    expect(runSync(other, pluginContext())).toBeNull();
    const rebuilt = createLimitCount(countConfig({ scope: "group:g" }), state);
    expect(runSync(rebuilt, pluginContext())?.status).toBe(429);
  });

  it("sliding window: the previous window's requests weigh by how much of it is still in the last window", () => {
    const plugin = createLimitCount(countConfig({ count: 4, windowSeconds: 1, window: "sliding" }), new LimitState());
    const at = (ms: number) => runSync(plugin, pluginContext({ nowMs: ms }))?.status ?? 200;
    expect([0, 1, 2, 3, 4].map(() => at(10_000))).toEqual([200, 200, 200, 200, 429]);
    // At 11,500 (halfway through the next window) the estimate is 4 × 0.5 = 2: two more.
    expect([0, 1, 2].map(() => at(11_500))).toEqual([200, 200, 429]);
  });

  it("keeps at most maxKeys keys, dropping the oldest", () => {
    const state = new LimitState({ maxKeys: 3 });
    const plugin = createLimitCount(countConfig({ count: 1 }), state);
    for (const ip of ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]) expect(runSync(plugin, pluginContext({ ip }))).toBeNull();
    expect(state.size).toBe(3);
    expect(state.stats.droppedKeys).toBe(1);
    // The oldest key was forgotten: its client starts over; the newest is still counted.
    expect(runSync(plugin, pluginContext({ ip: "192.0.2.1" }))).toBeNull();
    expect(runSync(plugin, pluginContext({ ip: "192.0.2.4" }))?.status).toBe(429);
  });

  it("a CEL key limits per tenant: addresses share their tenant's quota; requests without a tenant count per address", () => {
    const state = new LimitState();
    const plugin = createLimitCount(countConfig({ count: 2, key: celKey('"tenant:" + request.header["x-tenant"]') }), state);
    const status = (spec: TestRequest) => runSync(plugin, pluginContext({ nowMs: 1_000, ...spec }))?.status ?? 200;
    const acme = (ip: string) => ({ ip, headers: { "x-tenant": "acme" } });
    expect([status(acme("192.0.2.1")), status(acme("192.0.2.2")), status(acme("192.0.2.3"))]).toEqual([200, 200, 429]);
    expect(status({ ip: "192.0.2.1", headers: { "x-tenant": "globex" } })).toBe(200);
    expect(status({ ip: "192.0.2.1", headers: { "x-tenant": "globex" } })).toBe(200);
    expect(status({ ip: "192.0.2.9", headers: { "x-tenant": "globex" } })).toBe(429);
    expect(state.stats.keyFallbacks).toBe(0);
    // Without the header the expression errors: each address has its own quota, and it is counted.
    expect([status({ ip: "198.51.100.1" }), status({ ip: "198.51.100.1" }), status({ ip: "198.51.100.1" })]).toEqual([200, 200, 429]);
    expect(status({ ip: "198.51.100.2" })).toBe(200);
    expect(state.stats.keyFallbacks).toBe(4);
    // A tenant named like an address does not spend that address's quota.
    expect(status({ ip: "198.51.100.3", headers: { "x-tenant": "198.51.100.2" } })).toBe(200);
  });

  it("a CEL key over the consumer: one quota per tier, with an int key per shard", () => {
    const byTier = createLimitCount(countConfig({ count: 1, key: celKey("request.consumer.labels.tier") }), new LimitState());
    const gold = (name: string) => pluginContext({ consumer: name, labels: { tier: "gold" } });
    expect(runSync(byTier, gold("alice"))).toBeNull();
    expect(runSync(byTier, gold("bob"))?.status).toBe(429);
    expect(runSync(byTier, pluginContext({ consumer: "carol", labels: { tier: "free" } }))).toBeNull();

    const byShard = createLimitCount(countConfig({ count: 1, key: celKey("int(request.query.user) % 2") }), new LimitState());
    expect(runSync(byShard, pluginContext({ path: "/?user=1", ip: "192.0.2.1" }))).toBeNull();
    expect(runSync(byShard, pluginContext({ path: "/?user=3", ip: "192.0.2.2" }))?.status).toBe(429);
    expect(runSync(byShard, pluginContext({ path: "/?user=4", ip: "192.0.2.3" }))).toBeNull();
  });

  it("forgets expired windows as new keys arrive", () => {
    const state = new LimitState();
    const plugin = createLimitCount(countConfig({ windowSeconds: 1 }), state);
    for (let i = 0; i < 20; i++) runSync(plugin, pluginContext({ ip: `192.0.2.${i}`, nowMs: 0 }));
    expect(state.size).toBe(20);
    for (let i = 0; i < 20; i++) runSync(plugin, pluginContext({ ip: `198.51.100.${i}`, nowMs: 5000 }));
    expect(state.size).toBe(20);
  });
});

describe("limit-count (cluster) without a store", () => {
  it.each([
    [true, null],
    [false, 503],
  ])("failOpen %s → %s", async (failOpen, status) => {
    const state = new LimitState();
    const plugin = createLimitCount(countConfig({ policy: "cluster", failOpen }), state);
    const answer = await plugin.access(pluginContext());
    expect(answer?.status ?? null).toBe(status);
    if (answer) expect(await answer.json()).toMatchObject({ error: "rate_limit_unavailable", plugin: "limit-count" });
    expect(state.stats).toMatchObject({ failedOpen: failOpen ? 1 : 0, failedClosed: failOpen ? 0 : 1 });
  });
});

const reqConfig = (over: Partial<LimitReqPlugin> = {}): LimitReqPlugin => ({
  rate: 1,
  burst: 0,
  nodelay: false,
  key: { from: "ip" },
  rejectedCode: 503,
  rejectedMessage: "too many requests",
  scope: "route:1",
  ...over,
});

describe("limit-req", () => {
  it("a CEL key gives each tenant its own bucket", () => {
    const plugin = createLimitReq(reqConfig({ key: celKey('request.query.tenant + "/" + request.method') }), new LimitState());
    const status = (path: string, ip: string) => runSync(plugin, pluginContext({ nowMs: 0, path, ip }))?.status ?? 200;
    expect([status("/?tenant=a", "192.0.2.1"), status("/?tenant=a", "192.0.2.2"), status("/?tenant=b", "192.0.2.1")]).toEqual([
      200, 503, 200,
    ]);
  });

  it("rate 1 burst 0 (limit-req.t): the second request within a second is rejected with Retry-After", async () => {
    const plugin = createLimitReq(reqConfig(), new LimitState());
    expect(runSync(plugin, pluginContext({ nowMs: 0 }))).toBeNull();
    const rejected = runSync(plugin, pluginContext({ nowMs: 300 })) as Response;
    expect(rejected.status).toBe(503);
    expect(await rejected.json()).toEqual({ error: "rate_limited", message: "too many requests", plugin: "limit-req" });
    expect(rejected.headers.get("retry-after")).toBe("1");
    expect(rejected.headers.get("ratelimit")).toBeNull();
    expect(runSync(plugin, pluginContext({ nowMs: 1000 }))).toBeNull();
  });

  it("burst 2 nodelay: three at once pass synchronously, the fourth is rejected", () => {
    const plugin = createLimitReq(reqConfig({ burst: 2, nodelay: true }), new LimitState());
    const answers = [0, 1, 2, 3].map(() => runSync(plugin, pluginContext({ nowMs: 0 }))?.status ?? 200);
    expect(answers).toEqual([200, 200, 200, 503]);
  });

  it("burst without nodelay delays the excess request by excess / rate (real timer)", async () => {
    const plugin = createLimitReq(reqConfig({ rate: 10, burst: 1 }), new LimitState());
    const now = Date.now();
    expect(runSync(plugin, pluginContext({ nowMs: now }))).toBeNull();
    const started = performance.now();
    const delayed = plugin.access(pluginContext({ nowMs: now }));
    expect(delayed).toBeInstanceOf(Promise);
    expect(await delayed).toBeNull();
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(95);
    expect(waited).toBeLessThan(400);
  });
});

const connConfig = (over: Partial<LimitConnPlugin> = {}): LimitConnPlugin => ({
  conn: 1,
  burst: 1,
  delayMs: 60,
  key: { from: "ip" },
  rejectedCode: 503,
  rejectedMessage: "busy",
  scope: "route:1",
  ...over,
});

describe("limit-conn", () => {
  it("conn 1 burst 1: the first passes, the second waits delayMs, the third is rejected; a finisher frees its place once", async () => {
    const state = new LimitState();
    const plugin = createLimitConn(connConfig(), state);
    const first = pluginContext();
    expect(runSync(plugin, first)).toBeNull();
    expect(first.finishers).toHaveLength(1);

    const second = pluginContext();
    const started = performance.now();
    const delayed = plugin.access(second);
    expect(delayed).toBeInstanceOf(Promise);
    expect(await delayed).toBeNull();
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);

    const rejected = runSync(plugin, pluginContext()) as Response;
    expect(rejected.status).toBe(503);
    expect(await rejected.json()).toEqual({ error: "rate_limited", message: "busy", plugin: "limit-conn" });
    expect(rejected.headers.get("retry-after")).toBe("1");

    // The first ends (its finisher twice: counted once); one place is free, not two.
    first.finishers[0]?.();
    first.finishers[0]?.();
    const fourth = pluginContext();
    expect(plugin.access(fourth)).toBeInstanceOf(Promise);
    expect(runSync(plugin, pluginContext())?.status).toBe(503);

    // Everyone leaves: the key is forgotten.
    second.finishers[0]?.();
    fourth.finishers[0]?.();
    expect(state.size).toBe(0);
    expect(runSync(plugin, pluginContext())).toBeNull();
  });

  it("counts per CEL key", () => {
    const plugin = createLimitConn(connConfig({ burst: 0, key: celKey('request.header["x-tenant"]') }), new LimitState());
    expect(runSync(plugin, pluginContext({ ip: "192.0.2.1", headers: { "x-tenant": "a" } }))).toBeNull();
    expect(runSync(plugin, pluginContext({ ip: "192.0.2.1", headers: { "x-tenant": "b" } }))).toBeNull();
    expect(runSync(plugin, pluginContext({ ip: "192.0.2.2", headers: { "x-tenant": "a" } }))?.status).toBe(503);
  });

  it("counts per key", () => {
    const plugin = createLimitConn(connConfig({ burst: 0 }), new LimitState());
    expect(runSync(plugin, pluginContext({ ip: "192.0.2.1" }))).toBeNull();
    expect(runSync(plugin, pluginContext({ ip: "192.0.2.2" }))).toBeNull();
    expect(runSync(plugin, pluginContext({ ip: "192.0.2.1" }))?.status).toBe(503);
  });
});
