/**
 * The launcher supervises its gateway processes on every runtime (issue 12, item 10; issue 13):
 * after `kill -9` of one, the exit is logged and a new process takes the slot on the same port,
 * so the cluster is back to full size without anyone noticing but the log. Real workerd, Bun and
 * Deno processes on 127.0.0.1; plus the back-off table.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino, { type Logger } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBun } from "../../../worker/launcher/bun.ts";
import { renderWorkerdConfig } from "../../../worker/launcher/capnp.ts";
import { launchDeno } from "../../../worker/launcher/deno.ts";
import { COMPATIBILITY_DATE } from "../../../worker/launcher/gateway.ts";
import { type ProcessCluster, restartDelayMs } from "../../../worker/launcher/supervisor.ts";
import { launchWorkerd } from "../../../worker/launcher/workerd.ts";
import { STATUS_TOKEN } from "../../support/client.ts";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("restart back-off", () => {
  it.each([
    [1, 100],
    [2, 200],
    [3, 400],
    [7, 6400],
    [8, 10_000],
    [40, 10_000],
  ])("crash %i in a row waits %i ms", (crashes, ms) => {
    expect(restartDelayMs(crashes)).toBe(ms);
  });
});

/** How each runtime's cluster is started for the test, and what a process answers. */
interface RuntimeCase {
  name: "workerd" | "bun" | "deno";
  launch(dir: string, logger: Logger): Promise<ProcessCluster>;
  answers(url: string): Promise<boolean>;
}

const runtimes: RuntimeCase[] = [
  {
    name: "workerd",
    async launch(dir, logger) {
      await writeFile(join(dir, "hello.js"), `export default { fetch() { return new Response("ok"); } };\n`);
      const config = renderWorkerdConfig({
        mainModule: "hello.js",
        compatibilityDate: COMPATIBILITY_DATE,
        textBindings: { GREETING: "ok" },
        envBindings: {},
      });
      return launchWorkerd({ dir, config, port: 0, processes: 2, stdio: "ignore", logger });
    },
    answers: async (url) => (await (await fetch(url)).text()) === "ok",
  },
  ...(["bun", "deno"] as const).map((name) => ({
    // The gateway itself, with no control to reach: its status document answers all the same.
    name,
    launch: (_dir: string, logger: Logger) =>
      (name === "bun" ? launchBun : launchDeno)({
        bindings: {
          CONTROL_URL: "http://127.0.0.1:1",
          GATEWAY_TOKEN: "unused",
          SNAPSHOT_PUBLIC_KEY: Buffer.alloc(32).toString("base64"),
          STATUS_TOKEN,
        },
        port: 0,
        processes: 2,
        stdio: "ignore",
        logger,
      }),
    answers: async (url: string) =>
      (await fetch(`${url}/__sluice/status`, { headers: { authorization: `Bearer ${STATUS_TOKEN}` } })).status === 200,
  })),
];

describe.each(runtimes)("a killed $name process", (runtime) => {
  let dir: string;
  let cluster: ProcessCluster;
  const logged: { msg: string; pid?: number; signal?: string }[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-supervise-"));
    const logger = pino({ level: "info" }, { write: (line: string) => logged.push(JSON.parse(line)) });
    cluster = await runtime.launch(dir, logger);
  });

  afterAll(async () => {
    await cluster?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("is logged and replaced on the same port; requests keep being answered", async () => {
    const [victim, survivor] = cluster.pids as [number, number];
    process.kill(victim, "SIGKILL");
    await until(() => cluster.restarts === 1 && cluster.pids[0] !== victim, 5000);
    const replacement = cluster.pids[0] as number;
    expect(alive(replacement)).toBe(true);
    expect(alive(survivor)).toBe(true);
    expect(cluster.pids).toEqual([replacement, survivor]);
    expect(logged.find((l) => l.msg.includes("exited unexpectedly"))).toMatchObject({ pid: victim, signal: "SIGKILL" });
    await until(() => logged.some((l) => l.msg === `${runtime.name} restarted` && l.pid === replacement), 5000);
    for (let i = 0; i < 20; i++) expect(await runtime.answers(cluster.url)).toBe(true);
  });

  it("is not restarted once the cluster is closed", async () => {
    const pids = [...cluster.pids];
    await cluster.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(pids.filter(alive)).toEqual([]);
    expect(cluster.restarts).toBe(1);
  });
});
