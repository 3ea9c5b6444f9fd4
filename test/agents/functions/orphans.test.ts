/**
 * An agent that died without draining leaves its workerd instances running; the next agent on the
 * same data directory ends them (agents/functions/orphans.ts), and only them.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { killOrphanInstances, orphanInstancePids } from "../../../agents/functions/orphans.ts";
import { WORKERD_BIN } from "../../../agents/functions/workerd-process.ts";

const CONFIG = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (services = [(name = "main", worker = .w)], sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")]);
const w :Workerd.Worker = (modules = [(name = "w.js", esModule = embed "w.js")], compatibilityDate = "2025-01-01");
`;

/** A workerd serving a trivial worker from `dir`, started with `cwd` and a config path relative to it. */
async function startWorkerd(dir: string, cwd: string, relativeConfig: string): Promise<ChildProcess> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "w.js"), "export default { fetch() { return new Response('x'); } };");
  await writeFile(join(dir, "instance.capnp"), CONFIG);
  const child = spawn(WORKERD_BIN, ["serve", relativeConfig], { cwd, env: {}, stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 300));
  expect(child.exitCode).toBeNull();
  return child;
}

describe("orphan instances", () => {
  const children: ChildProcess[] = [];
  let base = "";
  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    if (base) await rm(base, { recursive: true, force: true });
  });

  it("finds and ends the workerd processes whose config is under the data directory, and no other", async () => {
    base = await mkdtemp(join(tmpdir(), "sluice-orphans-"));
    const dataDir = join(base, "agent-data");
    const orphan = await startWorkerd(join(dataDir, "bundles", "abc"), base, "agent-data/bundles/abc/instance.capnp");
    const other = await startWorkerd(join(base, "elsewhere"), join(base, "elsewhere"), "instance.capnp");
    children.push(orphan, other);

    expect(orphanInstancePids(dataDir)).toEqual([orphan.pid]);
    const exited = new Promise((resolve) => orphan.once("exit", resolve));
    expect(killOrphanInstances(dataDir)).toBe(1);
    await exited;
    expect(orphan.signalCode).toBe("SIGKILL");
    expect(other.exitCode).toBeNull();
    expect(orphanInstancePids(dataDir)).toEqual([]);
  });
});
