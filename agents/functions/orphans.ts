/**
 * Instances a previous agent left running. An agent that dies without draining (SIGKILL, OOM,
 * a crash) cannot stop its workerd processes, and Linux offers Node no parent-death signal, so
 * they would keep running unrouted (their lease lapses in control) until the host restarts. A
 * starting agent therefore ends every `workerd serve` whose config lies under its own data
 * directory: one agent per data directory, so those are all a dead predecessor's.
 * Linux only (/proc); elsewhere it finds nothing.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { basename, resolve, sep } from "node:path";

/**
 * The PIDs of `workerd serve <config>` processes whose config resolves (against the process's
 * working directory) to a path under `dataDir`.
 */
export function orphanInstancePids(dataDir: string): number[] {
  const root = resolve(dataDir) + sep;
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (basename(argv[0] ?? "") !== "workerd" || argv[1] !== "serve" || !argv[2]) continue;
      if (resolve(readlinkSync(`/proc/${pid}/cwd`), argv[2]).startsWith(root)) found.push(pid);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** SIGKILLs the orphans under `dataDir`. @returns how many were signalled. */
export function killOrphanInstances(dataDir: string): number {
  let killed = 0;
  for (const pid of orphanInstancePids(dataDir)) {
    try {
      process.kill(pid, "SIGKILL");
      killed += 1;
    } catch {
      // exited meanwhile, or another user's
    }
  }
  return killed;
}
