/**
 * The scaler loop over a real database (PGlite) on a test clock: a step of load reported by
 * agents reaches ceil(concurrency ÷ (target × utilisation)) instances, spread over the live
 * nodes; when it stops the version goes to one instance for the scale-to-zero grace, then to
 * zero; a poke another replica stored is honoured at the next tick; and the function metrics
 * (instances, panic, cold starts, crashes, rejections, activation waits, buffered requests) are
 * on /metrics. Windows are the shortest Knative allows (6 s), with ticks driven by hand.
 */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { functionLoad, functionScale } from "../../../control/db/schema.ts";
import { resolveVersions } from "../../../control/functions/version-refs.ts";
import { backends } from "../../support/backends.ts";
import { ADMIN_TOKEN } from "../../support/client.ts";
import { parseExposition, sampleValue } from "../../support/exposition.ts";
import { instance, newFunction, report, useFunctionRuntime } from "../../support/function-runtime.ts";
import { emptyPush, latencies } from "../../support/metrics-push.ts";

const REPORT = "/v1/agents/functions/report";
const SCALING = { stableWindowMs: 6000, targetConcurrency: 10, targetUtilization: 0.5, scaleToZeroGraceMs: 4000 };

describe("the function scaler loop on pglite", () => {
  const f = useFunctionRuntime(backends()[0]);

  async function scaleOf(appkey: string) {
    const versionId = await versionIdOf(appkey);
    const [row] = await f.db.select().from(functionScale).where(eq(functionScale.versionId, versionId));
    return row;
  }

  it("scales a step of load to ceil(50 ÷ (10 × 0.5)) = 10 over two nodes, then to 1 for the grace, then to 0", async () => {
    const { appkey, agent } = await newFunction(f, SCALING);
    const [a, b] = [`a-${appkey}`, `b-${appkey}`];
    const second = async (concurrency: number) => {
      f.clock.now += 1000;
      expect((await agent.post(REPORT, report(a, [instance(appkey, "i1", "ready", { concurrency })]))).status).toBe(200);
      expect((await agent.post(REPORT, report(b, []))).status).toBe(200);
      if ((f.clock.now / 1000) % 2 === 0) await f.scaler.tick();
    };
    for (let s = 0; s < 8; s++) await second(50);
    const loaded = await scaleOf(appkey);
    expect(loaded?.desired).toBe(10);
    // Spread over the two live nodes in name order: 5 + 5.
    expect(f.runtime.board.get(a).assignments).toEqual([expect.objectContaining({ appkey, version: 1, desired: 5 })]);
    expect(f.runtime.board.get(b).assignments).toEqual([expect.objectContaining({ appkey, version: 1, desired: 5 })]);

    const seen: { atMs: number; desired: number; reason: string | null }[] = [];
    for (let s = 0; s < 40; s++) {
      await second(0);
      const row = await scaleOf(appkey);
      if (row && seen.at(-1)?.desired !== row.desired) seen.push({ atMs: f.clock.now, desired: row.desired, reason: row.reason });
    }
    expect(seen.at(-1)?.desired).toBe(0);
    const grace = seen.find((s) => s.reason === "zero-grace");
    expect(grace?.desired).toBe(1);
    // 0 comes only after zero was wanted for scaleToZeroGraceMs (4 s).
    expect((seen.at(-1)?.atMs ?? 0) - (grace?.atMs ?? 0)).toBeGreaterThanOrEqual(4000);
    expect(seen.map((s) => s.desired)).toEqual([...seen.map((s) => s.desired)].sort((x, y) => y - x));
    expect(f.runtime.board.get(a).assignments).toEqual([]);
  });

  it("honours a poke another replica stored (activation_requested_at) at the next tick: activationScale from zero", async () => {
    const { appkey, agent } = await newFunction(f, { ...SCALING, activationScale: 3 });
    const node = `a-${appkey}`;
    f.clock.now += 1000;
    await agent.post(REPORT, report(node, []));
    await f.scaler.tick();
    expect(f.runtime.board.get(node).assignments).toEqual([]);
    // As a follower's POST /v1/gateway/activations leaves it: only the stamp, no decision.
    const versionId = await versionIdOf(appkey);
    await f.db.insert(functionScale).values({ versionId, activationRequestedAt: new Date(f.clock.now) });
    f.clock.now += 100;
    await f.scaler.tick();
    expect(f.runtime.board.get(node).assignments).toEqual([expect.objectContaining({ appkey, desired: 3 })]);
    const [row] = await f.db.select().from(functionScale).where(eq(functionScale.versionId, versionId));
    expect(row).toMatchObject({ desired: 3 });
  });

  it("exposes the function metrics: instances by state, panic, cold starts, crashes, rejections, activation waits, buffered", async () => {
    const { appkey, agent } = await newFunction(f, SCALING);
    const node = `a-${appkey}`;
    f.clock.now += 1000;
    await agent.post(REPORT, report(node, [instance(appkey, "i1", "starting")]));
    await agent.post(
      REPORT,
      report(node, [
        instance(appkey, "i1", "ready", { coldStartMs: 40, concurrency: 50, rejected: 4 }),
        instance(appkey, "i2", "starting", { crashes: 1 }),
      ]),
    );
    // The same instance reported ready again is not a second cold start.
    await agent.post(
      REPORT,
      report(node, [instance(appkey, "i1", "ready", { coldStartMs: 40, concurrency: 50 }), instance(appkey, "i2", "starting")]),
    );
    const gatewayId = "3f1c2a4e-0000-4000-8000-0000000000f1";
    const push = emptyPush(gatewayId, 1, {
      intervalMs: 1000,
      functions: [
        {
          appkey,
          function: "hello",
          version: 1,
          concurrency: 12,
          buffered: 5,
          requests: 3,
          activations: 2,
          activationWait: latencies([0.03, 0.2]),
        },
      ],
    });
    expect((await f.gateway.post("/v1/gateway/metrics", push)).body).toEqual({ accepted: true });
    const [gatewayLoad] = await f.db
      .select()
      .from(functionLoad)
      .where(eq(functionLoad.source, `gateway:${gatewayId}`));
    expect(gatewayLoad).toMatchObject({ concurrency: 12, requests: 3, intervalMs: 1000 });
    await f.scaler.tick();

    const res = await f.app.request("/metrics", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    const samples = parseExposition(await res.text());
    const labels = { appkey, function: "hello", version: "1" };
    // 50 in flight ÷ (10 × 0.5) = 10 wanted against 1 ready: panic (10 ≥ 2 × 1).
    expect(sampleValue(samples, "sluice_function_instances", { ...labels, state: "desired" })).toBe(10);
    expect(sampleValue(samples, "sluice_function_instances", { ...labels, state: "ready" })).toBe(1);
    expect(sampleValue(samples, "sluice_function_instances", { ...labels, state: "starting" })).toBe(1);
    expect(sampleValue(samples, "sluice_function_panic", labels)).toBe(1);
    expect(sampleValue(samples, "sluice_function_cold_start_seconds_count", labels)).toBe(1);
    expect(sampleValue(samples, "sluice_function_cold_start_seconds_sum", labels)).toBeCloseTo(0.04);
    expect(sampleValue(samples, "sluice_function_instance_crashes_total", labels)).toBe(1);
    expect(sampleValue(samples, "sluice_function_rejected_requests_total", labels)).toBe(4);
    expect(sampleValue(samples, "sluice_function_activation_seconds_count", labels)).toBe(2);
    expect(sampleValue(samples, "sluice_function_activation_seconds_bucket", { ...labels, le: "0.05" })).toBe(1);
    expect(sampleValue(samples, "sluice_function_buffered_requests", labels)).toBe(5);
  });

  async function versionIdOf(appkey: string): Promise<number> {
    const refs = await resolveVersions(f.db, [{ appkey, function: "hello", version: 1 }]);
    const info = [...refs.values()][0];
    expect(info).toBeDefined();
    return info.id;
  }
});
