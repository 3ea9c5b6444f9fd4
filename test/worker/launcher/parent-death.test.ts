/**
 * A Bun or Deno gateway process ends when its launcher is gone, however the launcher ended
 * (worker/runtime/parent-guard.ts): the launcher, in a process of its own, is SIGKILLed — it runs
 * no cleanup — and every gateway process it started must exit within a few seconds rather than
 * serve on as an orphan. (workerd runs no code of ours before serving; its processes are ended by
 * the launcher's close() only.)
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { type Child, stopAll, track } from "../../support/processes.ts";

const LAUNCHER_CHILD = fileURLToPath(new URL("../../support/launcher-child.ts", import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterAll(() => stopAll());

describe.each(["bun", "deno"])("a %s gateway process whose launcher is killed", (runtime) => {
  it("exits by itself within 5 s", async () => {
    const launcher: Child = track(spawn(process.execPath, [LAUNCHER_CHILD, runtime], { stdio: ["ignore", "pipe", "pipe"] }));
    const line = await launcher.waitFor(/^pids /, 30_000);
    const pids = JSON.parse(line.slice("pids ".length)) as number[];
    expect(pids).toHaveLength(2);
    expect(pids.every(alive)).toBe(true);
    launcher.kill("SIGKILL");
    await launcher.exited;
    const deadline = Date.now() + 5000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const left = pids.filter(alive);
    for (const pid of left) process.kill(pid, "SIGKILL"); // ours: never leave them behind
    expect(left).toEqual([]);
  }, 40_000);
});
