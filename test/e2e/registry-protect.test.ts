/**
 * Must-show 5, the protect threshold, end to end: control + the gateway in workerd + five
 * upstreams registered as ephemeral instances (beat every 200 ms, unhealthy after 1000 ms,
 * removed after 2000 ms, threshold 50 %). When 3 of 5 (60 %) stop heartbeating at once — as when
 * a network partition or a registry stall cuts them off — they keep routing (the gateway still
 * reaches all five) and a `protect_threshold_engaged` event is raised; nothing is removed. When
 * they beat again the event is released; when then only 2 of 5 (40 %) stop, those 2 are marked
 * unhealthy and leave routing, as the threshold allows.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type UpstreamServer } from "../../control/demo/upstream-server.ts";
import { backends } from "../support/backends.ts";
import { type Client, clientFor, httpTarget } from "../support/client.ts";
import { eventually, type Stack, startStack, upstreamsSeen } from "../support/stack.ts";

describe.each(backends())("protect threshold on $name", (backend) => {
  let stack: Stack;
  let agent: Client;
  const upstreams: UpstreamServer[] = [];
  const ids: number[] = [];
  let beating = new Set<number>();
  let beatTimer: ReturnType<typeof setInterval> | undefined;

  const routedNames = async (requests = 50) => [...(await upstreamsSeen(`${stack.gateway.url}/p`, requests))].sort();
  const events = async () =>
    (await stack.admin.get("/v1/events?appkey=prot")).body.items as { kind: string; details: { heldBack?: number[] } }[];

  beforeAll(async () => {
    stack = await startStack(backend, 2, { control: { sweepIntervalMs: 100 } });
    const { admin } = stack;
    expect(
      (await admin.post("/v1/services", { appkey: "prot", heartbeatIntervalMs: 200, unhealthyAfterMs: 1000, removeAfterMs: 2000 })).status,
    ).toBe(201);
    expect((await admin.post("/v1/services/prot/groups", { name: "main" })).status).toBe(201);
    expect((await admin.post("/v1/routes", { appkey: "prot", path: "/p", defaultGroup: "main" })).status).toBe(201);
    agent = clientFor(
      httpTarget(stack.control.url),
      (await admin.post("/v1/agent-tokens", { name: "prot", appkeys: ["prot"] })).body.token,
    );
    for (let i = 0; i < 5; i++) {
      const upstream = await startUpstream(`p${i}`);
      upstreams.push(upstream);
      const r = await agent.post("/v1/registry/instances", { appkey: "prot", group: "main", host: "127.0.0.1", port: upstream.port });
      expect(r.status).toBe(201);
      ids.push(r.body.instance.id);
    }
    beating = new Set(ids);
    beatTimer = setInterval(() => {
      if (beating.size) void agent.post("/v1/registry/heartbeats", { beats: [...beating].map((id) => ({ id })) });
    }, 200);
    await eventually(async () => (await routedNames()).length === 5, 10_000);
  }, 60_000);

  afterAll(async () => {
    clearInterval(beatTimer);
    await stack?.close();
    await Promise.all(upstreams.map((u) => u.close()));
  });

  it("keeps routing to 3 of 5 instances that stop heartbeating at once, and raises an event", async () => {
    // One beat for all five, so the three fall silent at the same moment.
    expect((await agent.post("/v1/registry/heartbeats", { beats: ids.map((id) => ({ id })) })).body.accepted).toBe(5);
    beating = new Set(ids.slice(3)); // ids[0..2] fall silent: 3 / 5 = 60 % > 50 %
    await eventually(async () => (await events()).some((e) => e.kind === "protect_threshold_engaged"), 5000);
    // Past both the unhealthy (1000 ms) and the removal (2000 ms) timeouts.
    await new Promise((r) => setTimeout(r, 2500));
    const listed = (await stack.admin.get("/v1/services/prot/groups/main/instances")).body.items;
    expect(listed.map((i: { id: number; healthy: boolean }) => [i.id, i.healthy])).toEqual(ids.map((id) => [id, true]));
    expect(await routedNames()).toEqual(["p0", "p1", "p2", "p3", "p4"]);
    // Once per episode; a second only if a sweep stalled meanwhile (a loaded machine), which
    // restarts every silence and so releases the threshold first.
    const all = (await stack.admin.get("/v1/events")).body.items as { kind: string; details: { heldBack?: number[] } }[];
    const engaged = all.filter((e) => e.kind === "protect_threshold_engaged");
    const stalls = all.filter((e) => e.kind === "sweep_stalled").length;
    const detail = JSON.stringify(all.map((e) => [e.kind, e.details]));
    expect(engaged.length, detail).toBeGreaterThanOrEqual(1);
    expect(engaged.length - 1, detail).toBeLessThanOrEqual(stalls);
    expect(engaged[0].details.heldBack).toEqual(ids.slice(0, 3));
    expect(all.some((e) => e.kind === "instance_removed" || e.kind === "instance_unhealthy")).toBe(false);
  });

  it("releases when they beat again; then 2 of 5 (40 %) silent are marked unhealthy and leave routing", async () => {
    beating = new Set(ids);
    await eventually(async () => (await events()).some((e) => e.kind === "protect_threshold_released"), 5000);
    const engagedBefore = (await events()).filter((e) => e.kind === "protect_threshold_engaged").length;
    await agent.post("/v1/registry/heartbeats", { beats: ids.map((id) => ({ id })) });
    beating = new Set(ids.slice(2)); // ids[0..1] silent: 2 / 5 = 40 % ≤ 50 %
    await eventually(async () => {
      const listed = (await stack.admin.get("/v1/services/prot/groups/main/instances")).body.items;
      return listed.filter((i: { healthy: boolean }) => !i.healthy).length === 2;
    }, 5000);
    await eventually(async () => (await routedNames()).join() === "p2,p3,p4", 5000);
    // 40 % never trips the threshold.
    expect((await events()).filter((e) => e.kind === "protect_threshold_engaged")).toHaveLength(engagedBefore);
  });
});
