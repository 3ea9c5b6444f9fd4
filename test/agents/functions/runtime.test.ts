/**
 * The function runtime with real parts: real `workerd serve` processes behind real queue-proxies,
 * driven by a fake control (fake-control.ts) over HTTP, as `sluice-agent --functions` runs them.
 * Every test stops the runtime it started (which stops its processes) and is bounded in time.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ControlClient } from "../../../agents/control-client.ts";
import { FunctionsClient, type InstanceReport } from "../../../agents/functions/client.ts";
import { FunctionRuntime } from "../../../agents/functions/runtime.ts";
import { FakeControl, TOKEN, waitFor } from "./fake-control.ts";

/** The entry module: routes for each behaviour under test; imports a second module. */
const MAIN = `import { greet } from "./lib/greet.js";
let inFlight = 0;
let maxInFlight = 0;
export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    if (url.pathname === "/env") return Response.json({ GREETING: env.GREETING ?? null, token: env.SLUICE_AGENT_TOKEN ?? null, keys: Object.keys(env) });
    if (url.pathname === "/out") {
      try {
        const r = await fetch(url.searchParams.get("to"));
        return new Response("reached " + r.status);
      } catch (e) {
        return new Response("refused " + e.message, { status: 502 });
      }
    }
    if (url.pathname === "/slow") {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, Number(url.searchParams.get("ms") ?? 200)));
      inFlight--;
      return Response.json({ maxInFlight });
    }
    return new Response(greet(env.NAME), { headers: { "x-seen-request-id": req.headers.get("x-request-id") ?? "" } });
  },
};
`;
const GREET = `export const greet = (name) => "hello from " + name;`;
const THROWS = `throw new Error("boom at module start");
export default { fetch() { return new Response("never"); } };
`;

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
let control: FakeControl;
let dataDir: string;
let runtime: FunctionRuntime | null = null;
let helloSha: string;

beforeAll(async () => {
  control = new FakeControl();
  await control.listen();
  dataDir = await mkdtemp(join(tmpdir(), "sluice-fn-agent-"));
  helloSha = control.addBundle([
    { name: "main.js", type: "esm", content: MAIN },
    { name: "lib/greet.js", type: "esm", content: GREET },
  ]);
});

afterEach(async () => {
  // Every gateway "acknowledges" everything so the stop's drains finish at once.
  control.acknowledge(Number.MAX_SAFE_INTEGER);
  await runtime?.stop();
  runtime = null;
  control.setAssignments([]);
  control.resetAcknowledgements();
});

afterAll(async () => {
  await control.close();
  await rm(dataDir, { recursive: true, force: true });
});

function startRuntime(drainTimeoutMs = 10_000): FunctionRuntime {
  runtime = new FunctionRuntime(
    { node: "node-a", host: "127.0.0.1", dataDir, zone: "z1", region: "r1", cell: "", lane: "" },
    new FunctionsClient(control.url, TOKEN),
    new ControlClient(control.url, TOKEN),
    { timeoutMs: drainTimeoutMs, graceMs: 0 },
    logger,
  );
  runtime.start();
  return runtime;
}

function assignment(overrides: Record<string, unknown> = {}) {
  return {
    appkey: "com.example.shop",
    function: "hello",
    version: 1,
    desired: 1,
    sha256: helloSha,
    main: "main.js",
    compatibilityDate: "2026-07-01",
    env: { NAME: "hello@1" },
    allowOutbound: false,
    containerConcurrency: 0,
    ...overrides,
  };
}

/** The latest report's instances in `state` (of function `fn` when given). */
function reported(state: string, fn?: string): InstanceReport[] {
  return (control.last?.instances ?? []).filter((i) => i.state === state && (!fn || i.function === fn));
}

async function get(i: InstanceReport, path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`http://${i.host}:${i.port}${path}`, { headers, signal: AbortSignal.timeout(5000) });
}

describe("function runtime (real workerd, fake control)", () => {
  it("starts an assigned instance that answers through its queue-proxy, reports it with the node fields, then scales 1 → 2", async () => {
    startRuntime();
    control.setAssignments([assignment()]);
    const [ready] = await waitFor("a ready instance", () => reported("ready").length === 1 && reported("ready"));
    const res = await get(ready, "/", { "x-request-id": "req-42" });
    expect(await res.text()).toBe("hello from hello@1");
    expect(res.headers.get("x-seen-request-id")).toBe("req-42");
    expect(control.last).toMatchObject({ node: "node-a", zone: "z1", region: "r1", intervalMs: 200 });
    expect(ready).toMatchObject({ appkey: "com.example.shop", function: "hello", version: 1, host: "127.0.0.1", error: null, crashes: 0 });
    expect(ready.coldStartMs).toBeGreaterThan(0);
    console.log(`start → ready (bundle fetch + config + spawn + health answer): ${ready.coldStartMs} ms`);

    control.setAssignments([assignment({ desired: 2 })]);
    const both = await waitFor("two ready instances", () => reported("ready").length === 2 && reported("ready"));
    expect(new Set(both.map((i) => i.port)).size).toBe(2);
    const second = both.find((i) => i.key !== ready.key) as InstanceReport;
    console.log(`second instance (bundle cached): start → ready ${second.coldStartMs} ms`);
    for (const i of both) expect(await (await get(i, "/")).text()).toBe("hello from hello@1");
    // Load reaches control: the request above shows up in some report as answered.
    await waitFor("a reported request", () => control.reports.some((r) => r.instances.some((i) => i.requests > 0)));
  });

  it("drains on desired 0: draining until every gateway is past the revision, then gone", async () => {
    startRuntime();
    control.setAssignments([assignment()]);
    const [ready] = await waitFor("a ready instance", () => reported("ready").length === 1 && reported("ready"));
    const pid = runtime?.list()[0].pid as number;
    control.setAssignments([assignment({ desired: 0 })]);
    await waitFor("draining reported", () => reported("draining").length === 1);
    const revision = control.latestRevision;
    // Not acknowledged: the instance stays reported draining, its process alive and still answering.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(reported("draining").map((i) => i.key)).toEqual([ready.key]);
    expect(isAlive(pid)).toBe(true);
    expect((await get(ready, "/")).status).toBe(200);
    expect(control.requests.filter((p) => p === "/v1/propagation").length).toBeGreaterThan(1);
    control.acknowledge(revision);
    await waitFor("an empty report", () => control.last?.instances.length === 0);
    await waitFor("the process gone", () => !isAlive(pid));
  });

  it("refuses outbound fetches unless allowOutbound; passes env vars, never the agent's environment", async () => {
    process.env.SLUICE_AGENT_TOKEN = "sluice_agent_secret_in_agent_env";
    const target = http.createServer((_req, res) => res.end("target"));
    await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
    const to = `http://127.0.0.1:${(target.address() as AddressInfo).port}/`;
    try {
      startRuntime();
      const tricky = 'quote " backslash \\ newline \n tab \t é ✓';
      control.setAssignments([
        assignment({ function: "closed", env: { NAME: "closed", GREETING: tricky } }),
        assignment({ function: "open", env: { NAME: "open" }, allowOutbound: true }),
      ]);
      await waitFor("both ready", () => reported("ready").length === 2);
      const [closed] = reported("ready", "closed");
      const [open] = reported("ready", "open");
      const denied = await get(closed, `/out?to=${encodeURIComponent(to)}`);
      expect(denied.status).toBe(502);
      expect(await denied.text()).toMatch(/^refused/);
      const allowed = await get(open, `/out?to=${encodeURIComponent(to)}`);
      expect(await allowed.text()).toBe("reached 200");

      expect(await (await get(closed, "/env")).json()).toEqual({ GREETING: tricky, token: null, keys: ["NAME", "GREETING"] });
      for (const instance of runtime?.list() ?? []) {
        // The process environment itself is empty (Linux: NUL-separated KEY=VALUE pairs).
        expect(await readFile(`/proc/${instance.pid}/environ`, "utf8")).toBe("");
      }
    } finally {
      delete process.env.SLUICE_AGENT_TOKEN;
      target.closeAllConnections();
      target.close();
    }
  });

  it("reports a module that throws at start as failed with its error", async () => {
    const sha = control.addBundle([{ name: "main.js", type: "esm", content: THROWS }]);
    startRuntime();
    control.setAssignments([assignment({ function: "broken", sha256: sha })]);
    const [failed] = await waitFor("a failed instance", () => reported("failed").length === 1 && reported("failed"));
    expect(failed.error).toContain("boom at module start");
    expect(failed.readyAtMs).toBeNull();
    // It holds its slot (no respawn loop): still one instance, still failed.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(control.last?.instances.map((i) => i.state)).toEqual(["failed"]);
  });

  it("replaces a ready workerd killed with SIGKILL and counts the crash", async () => {
    startRuntime();
    control.setAssignments([assignment()]);
    const [ready] = await waitFor("a ready instance", () => reported("ready").length === 1 && reported("ready"));
    const pid = runtime?.list()[0].pid as number;
    process.kill(pid, "SIGKILL");
    // ~100 ms on a quiet machine; the full suite on 2 cores has stalled event loops for seconds.
    const [again] = await waitFor(
      "ready again with crashes 1",
      () => {
        const r = reported("ready");
        return r.length === 1 && r[0].crashes === 1 && r;
      },
      30_000,
    );
    expect(again.key).toBe(ready.key);
    expect(again.port).toBe(ready.port);
    expect(runtime?.list()[0].pid).not.toBe(pid);
    expect(await (await get(again, "/")).text()).toBe("hello from hello@1");
  }, 60_000);

  it("containerConcurrency 1: 12 concurrent slow requests → 1 in flight, 10 queued, 1 overflow 503", async () => {
    startRuntime();
    control.setAssignments([assignment({ containerConcurrency: 1 })]);
    const [ready] = await waitFor("a ready instance", () => reported("ready").length === 1 && reported("ready"));
    const answers = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const res = await get(ready, "/slow?ms=100");
        return { status: res.status, body: await res.json() };
      }),
    );
    const overflow = answers.filter((a) => a.status === 503);
    expect(overflow).toEqual([{ status: 503, body: expect.objectContaining({ error: "overflow" }) }]);
    const served = answers.filter((a) => a.status === 200);
    expect(served).toHaveLength(11);
    // The module saw at most one request at a time: the queue-proxy held the other ten.
    expect(Math.max(...served.map((a) => a.body.maxInFlight))).toBe(1);
    const load = await waitFor("load with the rejection", () => control.reports.find((r) => r.instances.some((i) => i.rejected === 1)));
    expect(load.instances[0].concurrency).toBeLessThanOrEqual(1);
    const totals = control.reports
      .flatMap((r) => r.instances)
      .reduce((t, i) => ({ requests: t.requests + i.requests, rejected: t.rejected + i.rejected }), { requests: 0, rejected: 0 });
    await waitFor("all requests reported", () => control.reports.flatMap((r) => r.instances).reduce((n, i) => n + i.requests, 0) >= 11);
    expect(totals.rejected).toBe(1);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
