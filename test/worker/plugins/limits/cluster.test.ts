/**
 * limit-count's cluster policy against a real redis-server of its own (worker/plugins/limits/
 * redis-client.ts, cluster-scripts.ts, limit-count.ts): REDIS_URL parsing, EVALSHA with the EVAL
 * fallback after SCRIPT FLUSH, AUTH and SELECT, exact counts over concurrent checks on separate
 * connections (fixed and sliding windows, kept and per-check connections), and the configured
 * fail mode when Redis is stopped or frozen, with recovery when it returns.
 */
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LimitCountPlugin } from "../../../../wasm/plugins-section.ts";
import { countFixedCluster, countSlidingCluster, FIXED_WINDOW_SCRIPT } from "../../../../worker/plugins/limits/cluster-scripts.ts";
import { createLimitCount } from "../../../../worker/plugins/limits/limit-count.ts";
import { parseRedisUrl, RedisClient, RedisUnavailableError } from "../../../../worker/plugins/limits/redis-client.ts";
import { createLimitState, LimitState } from "../../../../worker/plugins/limits/state.ts";
import { nodeConnect } from "../../../support/node-socket.ts";
import { stopAll } from "../../../support/processes.ts";
import { startTestRedis, type TestRedis } from "../../../support/redis-server.ts";
import { answerHeaders, pluginContext } from "../plugin-context.ts";

let redis: TestRedis;
const cli = (...args: string[]) => execFileSync("redis-cli", ["-p", String(redis.port), ...args], { encoding: "utf8" }).trim();
const client = (over: { timeoutMs?: number; reuseConnection?: boolean; url?: string } = {}) =>
  new RedisClient({
    endpoint: parseRedisUrl(over.url ?? `redis://127.0.0.1:${redis.port}`),
    timeoutMs: over.timeoutMs ?? 1000,
    connect: nodeConnect,
    reuseConnection: over.reuseConnection ?? true,
  });
let unique = 0;
const key = (name: string) => `test:${process.pid}:${++unique}:${name}`;

beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(async () => {
  await redis.stop();
  await stopAll();
});

describe("parseRedisUrl", () => {
  it.each([
    ["redis://127.0.0.1:6380", { host: "127.0.0.1", port: 6380, password: null, db: 0 }],
    ["redis://localhost", { host: "localhost", port: 6379, password: null, db: 0 }],
    ["redis://:p%40ss@10.0.0.5:7000/3", { host: "10.0.0.5", port: 7000, password: "p@ss", db: 3 }],
    ["redis://user:pw@[::1]:6379/0", { host: "::1", port: 6379, password: "pw", db: 0 }],
  ])("%s", (url, endpoint) => {
    expect(parseRedisUrl(url)).toEqual(endpoint);
  });

  it.each(["127.0.0.1:6379", "http://127.0.0.1:6379", "redis://127.0.0.1:6379/x", "redis://"])("refuses %s naming REDIS_URL", (url) => {
    expect(() => parseRedisUrl(url)).toThrow(/REDIS_URL/);
  });
});

describe("RedisClient", () => {
  it("loads the script with EVAL when Redis answers NOSCRIPT, then uses EVALSHA", async () => {
    const redisClient = client();
    cli("SCRIPT", "FLUSH");
    const sha = await FIXED_WINDOW_SCRIPT.sha();
    expect(cli("SCRIPT", "EXISTS", sha)).toBe("0");
    const k = key("noscript");
    expect(await redisClient.evalScript(FIXED_WINDOW_SCRIPT, [k], [60_000])).toEqual([1, 60_000]);
    expect(cli("SCRIPT", "EXISTS", sha)).toBe("1");
    const [count, ttl] = (await redisClient.evalScript(FIXED_WINDOW_SCRIPT, [k], [60_000])) as number[];
    expect(count).toBe(2);
    expect(ttl).toBeGreaterThan(59_000);
    redisClient.close();
  });

  it("authenticates and selects the URL's database; a wrong password fails the check", async () => {
    cli("CONFIG", "SET", "requirepass", "s3cret");
    try {
      const good = client({ url: `redis://:s3cret@127.0.0.1:${redis.port}/3` });
      const k = key("db3");
      expect(await countFixedCluster(good, k, 5, 60_000)).toMatchObject({ allowed: true, remaining: 4 });
      expect(
        execFileSync("redis-cli", ["-p", String(redis.port), "-a", "s3cret", "--no-auth-warning", "-n", "3", "GET", k], {
          encoding: "utf8",
        }).trim(),
      ).toBe("1");
      good.close();
      const bad = client({ url: `redis://:wrong@127.0.0.1:${redis.port}` });
      await expect(countFixedCluster(bad, key("bad"), 5, 60_000)).rejects.toBeInstanceOf(RedisUnavailableError);
      bad.close();
    } finally {
      execFileSync("redis-cli", ["-p", String(redis.port), "-a", "s3cret", "--no-auth-warning", "CONFIG", "SET", "requirepass", ""]);
    }
  });
});

describe("exact counts", () => {
  it.each([
    ["fixed, kept connections", "fixed", true],
    ["sliding, kept connections", "sliding", true],
    ["fixed, a connection per check (workerd)", "fixed", false],
  ] as const)("%s: 300 concurrent checks from two clients, limit 100 → exactly 100 allowed", async (_, window, reuseConnection) => {
    const clients = [client({ reuseConnection }), client({ reuseConnection })];
    const k = key(window);
    const state = new LimitState();
    const checks = Array.from({ length: 300 }, (_, i) => {
      const c = clients[i % 2] as RedisClient;
      return window === "fixed" ? countFixedCluster(c, k, 100, 60_000) : countSlidingCluster(c, k, 100, 60_000, state.uniqueMember());
    });
    const decisions = await Promise.all(checks);
    expect(decisions.filter((d) => d.allowed)).toHaveLength(100);
    // Every remaining value from 99 down to 0 was handed out once to an allowed request.
    expect(
      decisions
        .filter((d) => d.allowed)
        .map((d) => d.remaining)
        .sort((a, b) => b - a),
    ).toEqual(Array.from({ length: 100 }, (_, i) => 99 - i));
    for (const c of clients) c.close();
  });

  it("sliding: the allowed requests leave the window one window after they came", async () => {
    const redisClient = client();
    const state = new LimitState();
    const k = key("slide");
    const first = await Promise.all([1, 2, 3].map(() => countSlidingCluster(redisClient, k, 3, 400, state.uniqueMember())));
    expect(first.map((d) => d.allowed)).toEqual([true, true, true]);
    const rejected = await countSlidingCluster(redisClient, k, 3, 400, state.uniqueMember());
    expect(rejected.allowed).toBe(false);
    expect(rejected.resetMs).toBeGreaterThan(300);
    expect(rejected.resetMs).toBeLessThanOrEqual(400);
    await new Promise((r) => setTimeout(r, 450));
    expect((await countSlidingCluster(redisClient, k, 3, 400, state.uniqueMember())).allowed).toBe(true);
    redisClient.close();
  });
});

const clusterConfig = (over: Partial<LimitCountPlugin>): LimitCountPlugin => ({
  count: 3,
  windowSeconds: 60,
  window: "fixed",
  key: { from: "ip" },
  policy: "cluster",
  failOpen: false,
  rejectedCode: 429,
  rejectedMessage: "too many requests",
  showHeaders: true,
  scope: `route:${process.pid}:${Date.now()}`,
  ...over,
});

describe("limit-count cluster plugin", () => {
  it("answers from Redis with the RateLimit fields", async () => {
    const state = createLimitState({ redis: parseRedisUrl(`redis://127.0.0.1:${redis.port}`), redisTimeoutMs: 1000 }, nodeConnect, true, {
      redisKeyPrefix: `test:${process.pid}:`,
    });
    const plugin = createLimitCount(clusterConfig({}), state);
    const contexts = [1, 2, 3, 4].map(() => pluginContext());
    const answers = [];
    for (const c of contexts) answers.push(await plugin.access(c));
    expect(answers.slice(0, 3)).toEqual([null, null, null]);
    expect(answerHeaders(contexts[2] as ReturnType<typeof pluginContext>).get("ratelimit")).toBe('"limit-count";r=0;t=60');
    const rejected = answers[3] as Response;
    expect(rejected.status).toBe(429);
    expect(await rejected.json()).toMatchObject({ error: "rate_limited", plugin: "limit-count" });
    expect(rejected.headers.get("retry-after")).toBe("60");
    expect(cli("KEYS", `test:${process.pid}:limit-count:*`)).toContain("limit-count:fixed:60000:");
    state.redis?.close();
  });

  it.each([
    [true, null],
    [false, 503],
  ])("Redis stopped → failOpen %s answers %s; it counts again once Redis is back", async (failOpen, status) => {
    const state = createLimitState({ redis: parseRedisUrl(`redis://127.0.0.1:${redis.port}`), redisTimeoutMs: 200 }, nodeConnect, true);
    const plugin = createLimitCount(clusterConfig({ count: 1, failOpen }), state);
    expect(await plugin.access(pluginContext())).toBeNull();
    expect((await plugin.access(pluginContext()))?.status).toBe(429);

    await redis.stop();
    for (let i = 0; i < 3; i++) {
      const answer = await plugin.access(pluginContext());
      expect(answer?.status ?? null).toBe(status);
      if (answer)
        expect(await answer.json()).toEqual({ error: "rate_limit_unavailable", message: expect.any(String), plugin: "limit-count" });
    }
    expect(state.stats).toMatchObject({ failedOpen: failOpen ? 3 : 0, failedClosed: failOpen ? 0 : 3 });

    // Back, empty (no persistence): the client reconnects and counts from zero.
    await redis.start();
    expect(await plugin.access(pluginContext())).toBeNull();
    expect((await plugin.access(pluginContext()))?.status).toBe(429);
    state.redis?.close();
  });

  it("Redis frozen → the check gives up after REDIS_TIMEOUT_MS and fails as configured; recovers when it answers again", async () => {
    const state = createLimitState({ redis: parseRedisUrl(`redis://127.0.0.1:${redis.port}`), redisTimeoutMs: 100 }, nodeConnect, true);
    const plugin = createLimitCount(clusterConfig({ count: 5 }), state);
    expect(await plugin.access(pluginContext())).toBeNull();
    redis.freeze();
    try {
      const started = performance.now();
      const answer = await plugin.access(pluginContext());
      const took = performance.now() - started;
      expect(answer?.status).toBe(503);
      expect(took).toBeGreaterThanOrEqual(95);
      expect(took).toBeLessThan(400);
    } finally {
      redis.thaw();
    }
    const answer = await plugin.access(pluginContext());
    expect(answer).toBeNull();
    expect(state.stats.failedClosed).toBe(1);
    state.redis?.close();
  });
});
