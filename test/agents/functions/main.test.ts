/**
 * `sluice-agent --functions` as a process (agents/main.ts), against the fake control: the agent
 * token is in the agent's environment and nowhere in its workerd's; SIGTERM drains (report
 * `draining`, wait for propagation) and exits 0 with no workerd left. Also static stability:
 * with control down, the instance keeps serving and the agent keeps trying.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeControl, TOKEN, waitFor } from "./fake-control.ts";

const MAIN = `export default { fetch(req, env) { return new Response("hi from " + env.NAME); } };`;

let control: FakeControl;
let dataDir: string;
let agent: ChildProcess | null = null;

beforeAll(async () => {
  control = new FakeControl();
  await control.listen();
  dataDir = await mkdtemp(join(tmpdir(), "sluice-fn-main-"));
});

afterAll(async () => {
  agent?.kill("SIGKILL");
  await control.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** The pids of `pid`'s child processes (Linux /proc). */
async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => "");
  return text.trim().split(/\s+/).filter(Boolean).map(Number);
}

describe("sluice-agent --functions (process)", () => {
  it("keeps its token from workerd, serves through control outages, drains on SIGTERM and exits 0", async () => {
    const sha = control.addBundle([{ name: "main.js", type: "esm", content: MAIN }]);
    control.setAssignments([
      {
        appkey: "com.example.shop",
        function: "hello",
        version: 7,
        desired: 1,
        sha256: sha,
        main: "main.js",
        compatibilityDate: "2026-07-01",
        env: { NAME: "v7" },
        allowOutbound: false,
        containerConcurrency: 0,
      },
    ]);
    agent = spawn(
      process.execPath,
      [
        "agents/main.ts",
        "--control",
        control.url,
        "--functions",
        "--node",
        "node-main",
        "--data-dir",
        dataDir,
        "--zone",
        "z9",
        "--log-level",
        "warn",
      ],
      { env: { ...process.env, SLUICE_AGENT_TOKEN: TOKEN }, stdio: ["ignore", "inherit", "inherit"] },
    );
    const exited = new Promise<number | null>((resolve) => agent?.once("exit", (code) => resolve(code)));
    const [ready] = await waitFor(
      "a ready instance",
      () => control.last?.instances.filter((i) => i.state === "ready").length === 1 && control.last.instances,
      15_000,
    );
    expect(control.last).toMatchObject({ node: "node-main", zone: "z9" });
    const url = `http://${ready.host}:${ready.port}/`;
    expect(await (await fetch(url)).text()).toBe("hi from v7");

    const [workerd] = await childrenOf(agent.pid as number);
    expect(await readFile(`/proc/${agent.pid}/environ`, "utf8")).toContain(TOKEN);
    expect(await readFile(`/proc/${workerd}/environ`, "utf8")).toBe("");

    // Control down: assignments and reports fail; the instance keeps serving on what it had.
    control.down = true;
    const reportsBefore = control.reports.length;
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(await (await fetch(url)).text()).toBe("hi from v7");
    expect(control.reports.length).toBe(reportsBefore);
    control.down = false;
    await waitFor("reports again", () => control.reports.length > reportsBefore, 5000);

    agent.kill("SIGTERM");
    await waitFor("draining reported", () => control.last?.instances[0]?.state === "draining", 5000);
    // Still serving while gateways may route to it.
    expect(await (await fetch(url)).text()).toBe("hi from v7");
    control.acknowledge(control.latestRevision);
    expect(await exited).toBe(0);
    agent = null;
    expect(control.last?.instances).toEqual([]);
    await expect(readFile(`/proc/${workerd}/environ`, "utf8")).rejects.toThrow();
  });
});
