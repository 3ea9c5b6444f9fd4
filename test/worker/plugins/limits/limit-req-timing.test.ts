/**
 * limit-req's leaky bucket with real timers and the wall clock (worker/plugins/limits/limit-req.ts),
 * as APISIX's t/plugin/limit-req.t: rate 1 r/s burst 0 rejects the second request of a second
 * and admits one a second later; rate 1 burst 2 delays the excess by 1 s and 2 s (or lets it
 * through at once with nodelay) and rejects the fourth.
 */
import { describe, expect, it } from "vitest";
import type { LimitReqPlugin } from "../../../../wasm/plugins-section.ts";
import { createLimitReq } from "../../../../worker/plugins/limits/limit-req.ts";
import { LimitState } from "../../../../worker/plugins/limits/state.ts";
import { pluginContext } from "../plugin-context.ts";

const config = (over: Partial<LimitReqPlugin>): LimitReqPlugin => ({
  rate: 1,
  burst: 0,
  nodelay: false,
  key: { from: "ip" },
  rejectedCode: 503,
  rejectedMessage: "too many requests",
  scope: "route:1",
  ...over,
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("limit-req with real timers", () => {
  it("rate 1 burst 0: 200, 503 at once, 200 a second later", async () => {
    const plugin = createLimitReq(config({}), new LimitState());
    const status = async () => (await plugin.access(pluginContext({ nowMs: Date.now() })))?.status ?? 200;
    expect(await status()).toBe(200);
    expect(await status()).toBe(503);
    await sleep(1010);
    expect(await status()).toBe(200);
  });

  it("rate 1 burst 2: four at once → delays of 0, 1 and 2 s, the fourth rejected", async () => {
    const plugin = createLimitReq(config({ burst: 2 }), new LimitState());
    const started = performance.now();
    const done = await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const answer = await plugin.access(pluginContext({ nowMs: Date.now() }));
        return { status: answer?.status ?? 200, afterMs: performance.now() - started };
      }),
    );
    expect(done.map((d) => d.status)).toEqual([200, 200, 200, 503]);
    const [first, second, third, fourth] = done.map((d) => d.afterMs) as number[];
    expect(first).toBeLessThan(100);
    expect(fourth).toBeLessThan(100);
    expect(second).toBeGreaterThanOrEqual(990);
    expect(second).toBeLessThan(1300);
    expect(third).toBeGreaterThanOrEqual(1990);
    expect(third).toBeLessThan(2300);
  });

  it("rate 1 burst 2 nodelay: three at once without waiting, the fourth rejected", async () => {
    const plugin = createLimitReq(config({ burst: 2, nodelay: true }), new LimitState());
    const started = performance.now();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await plugin.access(pluginContext({ nowMs: Date.now() })))?.status ?? 200);
    expect(statuses).toEqual([200, 200, 200, 503]);
    expect(performance.now() - started).toBeLessThan(100);
  });
});
