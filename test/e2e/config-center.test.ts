/**
 * The config center end to end (docs/config-center.md), issue 17's scenarios with real parts:
 * control on PGlite in this process (stopped and started again on the same data directory and
 * port), three `sluice-agent --config` child processes with different identities, each writing
 * the namespace's file and serving it on its own localhost port.
 *   - a gray release reaches exactly the agents its rules match and no other; merge hands its
 *     content to everyone; abandon hands main back; rollback republishes an older content;
 *   - Apollo #1677: a full release while a gray is active is refused; with `gray: "rebase"` the
 *     gray instances keep their own keys on top of the new main;
 *   - control stopped for 60 s: every agent keeps serving the last config, a restarted agent
 *     starts from its cache, and after control returns a new release reaches every agent.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningControl, startControl } from "../../control/server.ts";
import { clientFor, httpTarget } from "../support/client.ts";
import { type Child, spawnAgent, stopAll, stopGracefully } from "../support/processes.ts";
import { eventually } from "../support/stack.ts";

const ADMIN = "config-e2e-admin-token-0123456789abcdef";
const APPKEY = "com.example.orders";
const NS = `/v1/config/namespaces/${APPKEY}/prod/application`;
/** How long control stays down (the figure). */
const OUTAGE_MS = 60_000;

interface RunningAgent {
  child: Child;
  port: number;
  dir: string;
  args: string[];
}

describe("config center: gray release, #1677, rollback, and a control outage, with real agents", () => {
  const root = mkdtempSync(join(tmpdir(), "sluice-e2e-config-"));
  const dataDir = join(root, "control");
  let control: RunningControl;
  let port = 0;
  let agentToken = "";
  const agents: Record<string, RunningAgent> = {};

  /** An admin API call to the control running now (restarted on the same port after the outage). */
  const call = (method: string, path: string, body?: unknown) => clientFor(httpTarget(control.url), ADMIN).call(method, path, body);
  const startOurControl = () =>
    startControl({ dataDir, port, env: { SLUICE_ADMIN_TOKEN: ADMIN }, logger: pino({ level: "warn" }), debounceMs: 10 });

  /** Starts agent `name` with `identity` flags; resolves once its localhost port serves. */
  const startAgent = async (name: string, identity: string[]): Promise<RunningAgent> => {
    const dir = join(root, name);
    const args = ["--control", control.url, "--config", `${APPKEY}:prod:application`, "--config-dir", dir, "--config-port", "0"];
    const child = spawnAgent([...args, "--log-level", "info", ...identity], agentToken);
    const line = await child.waitFor(/"config served"/, 15_000);
    const agent = { child, port: JSON.parse(line).port as number, dir, args: [...args, ...identity] };
    agents[name] = agent;
    return agent;
  };
  /** What agent `name` serves on its localhost port (null when it has nothing yet). */
  const served = async (name: string): Promise<{ release: number; content: string } | null> => {
    const res = await fetch(`http://127.0.0.1:${(agents[name] as RunningAgent).port}/config/application`);
    return res.status === 200 ? ((await res.json()) as { release: number; content: string }) : null;
  };
  const everyAgentServes = async (expected: Record<string, string>, what: string) =>
    eventually(
      async () => {
        for (const [name, content] of Object.entries(expected)) if ((await served(name))?.content !== content) return false;
        return true;
      },
      5000,
      what,
    );
  const release = async (path: string, body: unknown = {}) => {
    const r = await call("POST", path, body);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.id as number;
  };

  beforeAll(async () => {
    control = await startOurControl();
    port = Number(new URL(control.url).port);
    expect((await call("POST", "/v1/services", { appkey: APPKEY })).status).toBe(201);
    agentToken = (await call("POST", "/v1/agent-tokens", { name: "config-e2e", appkeys: [APPKEY] })).body.token as string;
    expect(agentToken).toBeTruthy();
    const created = await call("POST", "/v1/config/namespaces", {
      appkey: APPKEY,
      env: "prod",
      name: "application",
      format: "properties",
      content: "pool=10\ntimeout=1s\n",
    });
    expect(created.status).toBe(201);
    await release(`${NS}/releases`);
    await startAgent("z1", ["--zone", "z1"]);
    await startAgent("z2", ["--zone", "z2"]);
    await startAgent("lane", ["--zone", "z2", "--lane", "blue"]);
    await everyAgentServes(
      { z1: "pool=10\ntimeout=1s\n", z2: "pool=10\ntimeout=1s\n", lane: "pool=10\ntimeout=1s\n" },
      "the first release",
    );
  }, 60_000);

  afterAll(async () => {
    await stopAll();
    await control?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("a gray release reaches exactly the matching agents; abandon hands main back; merge hands its content to all", async () => {
    // zone z2 AND lane blue: only the "lane" agent.
    expect(
      (await call("POST", `${NS}/gray`, { rules: { labels: { zone: ["z2"], lane: ["blue"] } }, content: "pool=20\ntimeout=1s\n" })).status,
    ).toBe(201);
    await release(`${NS}/gray/releases`);
    await everyAgentServes({ lane: "pool=20\ntimeout=1s\n" }, "the gray release on the matching agent");
    await new Promise((r) => setTimeout(r, 500));
    expect((await served("z1"))?.content).toBe("pool=10\ntimeout=1s\n");
    expect((await served("z2"))?.content).toBe("pool=10\ntimeout=1s\n");
    expect(readFileSync(join(agents.lane?.dir as string, "application.properties"), "utf8")).toBe("pool=20\ntimeout=1s\n");

    expect((await call("POST", `${NS}/gray/abandon`)).status).toBe(200);
    await everyAgentServes({ lane: "pool=10\ntimeout=1s\n" }, "main again after abandon");

    expect((await call("POST", `${NS}/gray`, { rules: { labels: { zone: ["z1"] } }, content: "pool=30\ntimeout=1s\n" })).status).toBe(201);
    await release(`${NS}/gray/releases`);
    await everyAgentServes({ z1: "pool=30\ntimeout=1s\n", z2: "pool=10\ntimeout=1s\n" }, "the second gray");
    await release(`${NS}/gray/merge`);
    await everyAgentServes({ z1: "pool=30\ntimeout=1s\n", z2: "pool=30\ntimeout=1s\n", lane: "pool=30\ntimeout=1s\n" }, "the merge");
  });

  it("#1677: a full release while a gray is active is refused; a rebase keeps the gray's own keys on the new main", async () => {
    expect((await call("POST", `${NS}/gray`, { rules: { labels: { zone: ["z1"] } }, content: "pool=40\ntimeout=1s\n" })).status).toBe(201);
    await release(`${NS}/gray/releases`);
    await everyAgentServes({ z1: "pool=40\ntimeout=1s\n" }, "the gray");
    expect((await call("PUT", `${NS}/draft`, { content: "pool=30\ntimeout=2s\n" })).status).toBe(200);
    const refused = await call("POST", `${NS}/releases`, {});
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe("gray_active");
    await release(`${NS}/releases`, { gray: "rebase" });
    // Main's new timeout everywhere; the gray keeps its own pool on top of it.
    await everyAgentServes({ z1: "pool=40\ntimeout=2s\n", z2: "pool=30\ntimeout=2s\n", lane: "pool=30\ntimeout=2s\n" }, "the rebase");
    expect((await call("POST", `${NS}/gray/abandon`)).status).toBe(200);
    await everyAgentServes({ z1: "pool=30\ntimeout=2s\n" }, "main after abandoning the rebased gray");
  });

  it("rollback publishes an older release's content as a new release", async () => {
    const list = await call("GET", `${NS}/releases?limit=100`);
    const first = (list.body.items as { id: number; kind: string }[]).at(-1) as { id: number };
    const rolledBack = await release(`${NS}/rollback`, { release: first.id, comment: "back to the first" });
    expect(rolledBack).toBeGreaterThan(first.id);
    await everyAgentServes({ z1: "pool=10\ntimeout=1s\n", z2: "pool=10\ntimeout=1s\n", lane: "pool=10\ntimeout=1s\n" }, "the rollback");
  });

  it(
    "control down 60 s: agents keep serving, a restarted agent starts from its cache, and all converge when control returns",
    async () => {
      const before = (await served("z2"))?.release;
      await control.close();
      const downAt = Date.now();
      // A restarted instance starts from the cache while control is down.
      const restarted = agents.z2 as RunningAgent;
      await stopGracefully(restarted.child);
      const child = spawnAgent([...restarted.args, "--log-level", "info"], agentToken);
      const line = await child.waitFor(/"config served"/, 15_000);
      agents.z2 = { ...restarted, child, port: JSON.parse(line).port as number };
      while (Date.now() - downAt < OUTAGE_MS) {
        for (const name of ["z1", "z2", "lane"])
          expect((await served(name))?.content, `${name} while control is down`).toBe("pool=10\ntimeout=1s\n");
        await new Promise((r) => setTimeout(r, 5000));
      }
      expect((await served("z2"))?.release).toBe(before);
      control = await startOurControl();
      expect((await call("PUT", `${NS}/draft`, { content: "pool=50\ntimeout=1s\n" })).status).toBe(200);
      await release(`${NS}/releases`);
      // Each agent's watch backs off at most 30 s while control was down; then it converges.
      await eventually(
        async () => {
          for (const name of ["z1", "z2", "lane"]) if ((await served(name))?.content !== "pool=50\ntimeout=1s\n") return false;
          return true;
        },
        45_000,
        "every agent after control returned",
      );
    },
    OUTAGE_MS + 90_000,
  );
});
