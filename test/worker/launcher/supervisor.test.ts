/**
 * The launcher supervises its gateway processes on every runtime (issue 12, item 10; issue 13):
 * after `kill -9` of one, the exit is logged and a new process takes the slot on the same port,
 * so the cluster is back to full size without anyone noticing but the log. Each process is told
 * its place (slot, that slot's restarts, the cluster's restarts) through its bindings. Real
 * workerd, Bun and Deno processes on 127.0.0.1; plus the back-off table.
 */

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino, { type Logger } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBun } from "../../../worker/launcher/bun.ts";
import { renderWorkerdConfig } from "../../../worker/launcher/capnp.ts";
import { launchDeno } from "../../../worker/launcher/deno.ts";
import { COMPATIBILITY_DATE } from "../../../worker/launcher/gateway.ts";
import { type ProcessCluster, restartDelayMs } from "../../../worker/launcher/supervisor.ts";
import { launchWorkerd, processEnvBindings } from "../../../worker/launcher/workerd.ts";
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

/** A process's place as it reports it. */
interface Place {
  slot: number;
  restarts: number;
  clusterRestarts: number;
}

/** GET `path` on a new connection (so the kernel picks the process afresh): status and body text. */
function freshGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.once("error", reject);
    req.setTimeout(5000, () => req.destroy(new Error("no answer within 5 s")));
  });
}

/** How each runtime's cluster is started for the test, what a process answers, and where it says it is. */
interface RuntimeCase {
  name: "workerd" | "bun" | "deno";
  launch(dir: string, logger: Logger): Promise<ProcessCluster>;
  answers(url: string): Promise<boolean>;
  /** The place of the process a new connection reached. */
  place(url: string): Promise<Place>;
}

const runtimes: RuntimeCase[] = [
  {
    name: "workerd",
    async launch(dir, logger) {
      // Answers "ok", or at /place the place bindings the launcher gave it.
      await writeFile(
        join(dir, "hello.js"),
        `export default { fetch(request, env) {
          if (!request.url.endsWith("/place")) return new Response("ok");
          return Response.json({ slot: +env.PROCESS_SLOT, restarts: +env.PROCESS_RESTARTS, clusterRestarts: +env.CLUSTER_RESTARTS });
        } };\n`,
      );
      const config = renderWorkerdConfig({
        mainModule: "hello.js",
        compatibilityDate: COMPATIBILITY_DATE,
        textBindings: { GREETING: "ok" },
        envBindings: processEnvBindings(),
      });
      return launchWorkerd({ dir, config, port: 0, processes: 2, stdio: "ignore", logger });
    },
    answers: async (url) => (await (await fetch(url)).text()) === "ok",
    place: async (url) => JSON.parse((await freshGet(`${url}/place`)).text),
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
    place: async (url: string) => {
      const { process } = JSON.parse((await freshGet(`${url}/__sluice/status`, { authorization: `Bearer ${STATUS_TOKEN}` })).text);
      return { slot: process.slot, restarts: process.restarts, clusterRestarts: process.clusterRestarts };
    },
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
    expect(cluster.slotRestarts).toEqual([1, 0]);
  });

  it("tells each process its slot and restarts through its bindings", async () => {
    // New connections until both processes have answered, for up to 10 s: the kernel spreads
    // them, and the restarted process joins only once it listens ("restarted" is logged at its
    // spawn; Deno takes a few hundred ms to compile its entry).
    const seen = new Map<number, Place>();
    const deadline = Date.now() + 10_000;
    while (seen.size < 2 && Date.now() < deadline) {
      const place = await runtime.place(cluster.url);
      seen.set(place.slot, place);
      if (seen.size < 2) await new Promise((r) => setTimeout(r, 20));
    }
    expect(seen.get(0)).toEqual({ slot: 0, restarts: 1, clusterRestarts: 1 });
    expect(seen.get(1)).toEqual({ slot: 1, restarts: 0, clusterRestarts: 0 });
  });

  it("is not restarted once the cluster is closed", async () => {
    const pids = [...cluster.pids];
    await cluster.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(pids.filter(alive)).toEqual([]);
    expect(cluster.restarts).toBe(1);
  });
});
