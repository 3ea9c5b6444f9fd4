/**
 * Issue 15, must-show 1, with real processes on 127.0.0.1: control (in this process, the scaler
 * ticking every 500 ms), two gateway processes on DEFAULT_RUNTIME, one `sluice-agent --functions`
 * process running the instances as workerd processes behind its queue-proxies.
 * Windows are shortened by the function's settings: stable window 6 s (Knative's minimum; panic
 * window 0.6 s), scale-to-zero grace 1 s. In order, on one function:
 *  - v1 deployed at zero, called → scales from 0 and answers;
 *  - back at zero, 20 concurrent requests → all 200; instances started = what the scaler asked;
 *  - a step load (6 clients, 300 ms requests, target 2 per instance) → 3 instances;
 *  - load stops → back to 0 after the window and the grace; 0 failed requests throughout;
 *  - v2 at 10 % → its share within ±3 % over 2,000 requests; a tag reaches v2 whatever its share;
 *  - blue-green: one write moves 100 % to v2 under load → 0 failed requests, then only v2;
 *  - a lane: v3 takes the `gray` lane's requests at 0 % of the split;
 *  - a version whose module throws at start → marked failed with its error; traffic unchanged;
 *  - an instance's process killed under load → replaced; the crash is counted on /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { childPids, commandName } from "../../bench/proc.ts";
import { DEFAULT_RUNTIME } from "../../worker/launcher/gateway.ts";
import { backends } from "../support/backends.ts";
import { startLoad } from "../support/load.ts";
import { type Child, spawnAgent, stopAll, stopGracefully } from "../support/processes.ts";
import { eventually, gatewayStatus, type Stack, startStack } from "../support/stack.ts";

const APPKEY = "fnshop";
/** Answers `{"upstream": "v<VERSION>"}` after `?ms=` ms (startLoad counts answers by `upstream`). */
const CODE = `export default {
  async fetch(request, env) {
    const ms = Number(new URL(request.url).searchParams.get("ms") ?? 0);
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
    return Response.json({ upstream: "v" + env.VERSION });
  },
};`;
const THROWS = 'throw new Error("bad module: refusing to start");\nexport default { fetch() { return new Response("never"); } };';
const b64 = (text: string) => Buffer.from(text).toString("base64");
const SCALING = {
  initialScale: 0,
  minInstances: 0,
  targetConcurrency: 2,
  targetUtilization: 1,
  stableWindowMs: 6000,
  scaleToZeroGraceMs: 1000,
};

describe.each(backends().slice(0, 1))(`functions end to end on $name, ${DEFAULT_RUNTIME}`, (backend) => {
  let stack: Stack;
  let agent: Child;
  const base = `/v1/services/${APPKEY}/functions/hello`;

  const upload = async (version: string, code = CODE) => {
    const r = await stack.admin.post(`${base}/versions`, {
      modules: [{ name: "worker.js", type: "esm", content: b64(code) }],
      main: "worker.js",
      env: { VERSION: version },
      compatibilityDate: "2025-01-01",
    });
    expect(r.status).toBe(201);
    return r.body.version as number;
  };
  /** Control's /metrics value of `series` with every label in `labels`, 0 when absent. */
  const metric = async (series: string, labels: Record<string, string>) => {
    const res = await fetch(`${stack.control.url}/metrics`, { headers: { authorization: `Bearer ${stack.control.tokens.adminToken}` } });
    const text = await res.text();
    const line = text
      .split("\n")
      .find((l) => l.startsWith(`${series}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
    return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
  };
  /**
   * Version `n`'s group in the snapshot of the gateway process that answers (its status
   * document), undefined when absent. A routed request first keeps that isolate's snapshot poll
   * running (the status document does not), which works when both go to one process.
   */
  const versionGroup = async (n: number) => {
    await fetch(`${stack.gateway.url}/__wake`).then((r) => r.text());
    const doc = await gatewayStatus(stack.gateway.url);
    return doc.balancing.groups.find((g: { name: string }) => g.name === `fn:hello@${n}`) as
      | { instances: { address: string }[] }
      | undefined;
  };
  /** Instances of version `n` in `state` as control counts them (its /metrics): the source of truth the snapshots follow. */
  const instances = (n: number, state: "ready" | "desired" = "ready") =>
    metric("sluice_function_instances", { function: "hello", version: String(n), state });
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${stack.gateway.url}${path}`, { headers });
    const text = await res.text();
    return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : text };
  };

  beforeAll(async () => {
    stack = await startStack(backend, 2, {
      control: { autoscalerTickMs: 500 },
      gateway: { runtime: DEFAULT_RUNTIME, telemetry: { METRICS_PUSH_MS: "1000" } },
    });
    expect((await stack.admin.post("/v1/services", { appkey: APPKEY })).status).toBe(201);
    const token = (await stack.admin.post("/v1/agent-tokens", { name: "fn-node", appkeys: [APPKEY] })).body.token;
    agent = spawnAgent(["--control", stack.control.url, "--functions", "--node", "node-1"], token);
    expect((await stack.admin.post(`/v1/services/${APPKEY}/functions`, { name: "hello", scaling: SCALING })).status).toBe(201);
    expect((await stack.admin.post("/v1/routes", { appkey: APPKEY, path: "/hello", match: "prefix", function: "hello" })).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    if (agent) await stopGracefully(agent);
    await stack?.close();
    await stopAll();
  });

  it("scales v1 from zero on its first request and answers", async () => {
    expect(await upload("1")).toBe(1);
    expect(await instances(1)).toBe(0);
    // Until the gateway process that takes the request has the snapshot naming v1, the function
    // has no version to route to (503 no_instance); the first request that knows v1 activates it.
    let first = await get("/hello");
    for (const started = Date.now(); first.status !== 200 && Date.now() - started < 15_000; ) {
      expect(first.body.error).toBe("no_instance");
      first = await get("/hello");
    }
    expect(first).toEqual({ status: 200, body: { upstream: "v1" } });
    await eventually(async () => (await instances(1)) === 1, 10_000, "v1's instance reported ready");
  }, 30_000);

  it("goes back to zero, then answers 20 concurrent requests at zero with the instances the scaler asked for", async () => {
    await eventually(async () => (await instances(1)) === 0 && (await instances(1, "desired")) === 0, 20_000, "v1 at zero");
    const startedBefore = agent.lines.filter((l) => l.includes("starting function instance") && l.includes("fnshop/hello@1")).length;
    const answers = await Promise.all(Array.from({ length: 20 }, () => get("/hello?ms=200")));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    const desired = await metric("sluice_function_instances", { function: "hello", version: "1", state: "desired" });
    expect(desired).toBeGreaterThanOrEqual(1);
    // The agent started exactly what it was assigned: every start is ready, none beyond the desired count.
    const started =
      agent.lines.filter((l) => l.includes("starting function instance") && l.includes("fnshop/hello@1")).length - startedBefore;
    expect(started).toBeGreaterThanOrEqual(1);
    expect(started).toBeLessThanOrEqual(desired);
    await eventually(async () => (await instances(1)) === started, 5000, "every started instance ready");
  }, 60_000);

  it("follows a step load to ⌈concurrency ÷ (target × utilisation)⌉ and back to zero with no failed request", async () => {
    const load = startLoad(`${stack.gateway.url}/hello?ms=300`, 6);
    try {
      await eventually(async () => (await instances(1)) === 3, 20_000, "3 instances under 6 in flight");
    } finally {
      await load.stop();
    }
    expect(load.failures).toEqual([]);
    expect(load.byUpstream.get("v1")).toBeGreaterThan(0);
    await eventually(async () => (await instances(1)) === 0, 30_000, "back to zero after the window and grace");
  }, 70_000);

  it("splits 90/10 within ±3 % over 2,000 requests, and a tag reaches the 10 % version", async () => {
    expect(await upload("2")).toBe(2);
    const put = await stack.admin.put(`${base}/traffic`, {
      targets: [
        { version: 1, percent: 90 },
        { version: 2, percent: 10, tag: "next" },
      ],
    });
    expect(put.status).toBe(200);
    await eventually(
      async () => (await get("/hello", { "sluice-function-tag": "next" })).body.upstream === "v2",
      15_000,
      "tag route to v2",
    );
    const counts = new Map<string, number>();
    const queue = Array.from({ length: 2000 }, (_, i) => i);
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (queue.pop() !== undefined) {
          const a = await get("/hello");
          expect(a.status).toBe(200);
          counts.set(a.body.upstream, (counts.get(a.body.upstream) ?? 0) + 1);
        }
      }),
    );
    const share = (counts.get("v2") ?? 0) / 2000;
    expect(share).toBeGreaterThanOrEqual(0.07);
    expect(share).toBeLessThanOrEqual(0.13);
  }, 60_000);

  it("switches blue-green with one write under load: no failed request, then only v2", async () => {
    const load = startLoad(`${stack.gateway.url}/hello?ms=20`, 4, { record: true });
    try {
      await new Promise((r) => setTimeout(r, 500));
      expect((await stack.admin.put(`${base}/traffic`, { targets: [{ version: 2, percent: 100 }] })).status).toBe(200);
      await eventually(
        async () => {
          const tail = load.answers.slice(-20);
          return tail.length === 20 && tail.every((a) => a.upstream === "v2");
        },
        10_000,
        "only v2 after the switch",
      );
    } finally {
      await load.stop();
    }
    expect(load.failures).toEqual([]);
  }, 30_000);

  it("sends a lane's requests to the lane's version", async () => {
    expect(await upload("3")).toBe(3);
    const put = await stack.admin.put(`${base}/traffic`, {
      targets: [
        { version: 2, percent: 100 },
        { version: 3, percent: 0, lane: "gray" },
      ],
    });
    expect(put.status).toBe(200);
    await eventually(async () => (await get("/hello", { "sluice-lane": "gray" })).body.upstream === "v3", 15_000, "gray lane → v3");
    for (let i = 0; i < 20; i++) expect((await get("/hello")).body.upstream).toBe("v2");
  }, 30_000);

  it("marks a version whose module throws at start failed, with its error, and leaves traffic as it was", async () => {
    const bad = await upload("4", THROWS);
    const put = await stack.admin.put(`${base}/traffic`, {
      targets: [
        { version: 2, percent: 100 },
        { version: bad, percent: 0, tag: "bad" },
      ],
    });
    expect(put.status).toBe(200);
    await eventually(async () => (await versionGroup(bad)) !== undefined, 10_000, "the bad version in the gateway's snapshot");
    const tagged = await get("/hello", { "sluice-function-tag": "bad" });
    expect(tagged.status).toBe(503);
    await eventually(async () => (await stack.admin.get(`${base}/versions/${bad}`)).body.status === "failed", 15_000, "version failed");
    expect((await stack.admin.get(`${base}/versions/${bad}`)).body.error).toContain("bad module");
    expect((await stack.admin.get(`${base}/traffic`)).body.targets[0]).toMatchObject({ version: 2, percent: 100 });
    expect((await get("/hello")).body.upstream).toBe("v2");
  }, 30_000);

  it("replaces an instance whose process is killed under load and counts the crash", async () => {
    const load = startLoad(`${stack.gateway.url}/hello?ms=20`, 4);
    try {
      await eventually(async () => (await instances(2)) >= 1, 15_000, "v2 warm");
      const workerd = childPids(agent.pid).filter((pid) => commandName(pid) === "workerd");
      expect(workerd.length).toBeGreaterThan(0);
      process.kill(workerd[0] as number, "SIGKILL");
      await eventually(
        async () => (await metric("sluice_function_instance_crashes_total", { function: "hello" })) >= 1,
        15_000,
        "crash counted",
      );
      await eventually(async () => (await instances(2)) >= 1, 15_000, "replaced");
    } finally {
      await load.stop();
    }
    // The requests the dead process held failed (reported), the rest were answered.
    expect(load.byUpstream.get("v2")).toBeGreaterThan(0);
  }, 40_000);
});
