/**
 * Process helpers for the benchmark: CPU accounting from Linux procfs (utime + stime of whole
 * processes, all threads, in clock ticks, so a run can charge its proxy processes µs of CPU per
 * request) and stopping the children the bench started, by PID.
 */
import { execFileSync } from "node:child_process";
import { constants, readdirSync, readFileSync } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";

/** Clock ticks per second (`getconf CLK_TCK`, almost always 100: 10 ms resolution). */
export const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/** The fields of /proc/<pid>/stat after the `(comm)` field, which may itself hold spaces. */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/**
 * @returns utime + stime summed over `pids`, in clock ticks (fields 14 and 15 of proc(5)).
 * @throws when a process has gone: a run that lost a process must not report its CPU.
 */
export function cpuTicks(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const fields = statFields(pid);
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks;
}

/** @returns CPU time all cores spent busy since boot, in clock ticks (/proc/stat `cpu` line, minus idle and iowait). */
export function systemBusyTicks(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0];
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return user + nice + system + irq + softirq + steal;
}

/** @returns the PIDs whose parent is `ppid` (e.g. nginx's workers), by scanning /proc. */
export function childPids(ppid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      if (Number(statFields(pid)[1]) === ppid) children.push(pid);
    } catch {
      // exited while scanning
    }
  }
  return children;
}

/** @returns the command name of `pid` (`comm`), or null when it has gone. */
export function commandName(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
  } catch {
    return null;
  }
}

export { freePort } from "../worker/launcher/ports.ts";
export { stopChild } from "../worker/launcher/supervisor.ts";

/**
 * The first executable `name` in a PATH directory, then in `alsoIn` (Debian puts nginx in
 * /usr/sbin, not on every user's PATH). @returns its path, or null when there is none.
 */
export async function findExecutable(name: string, alsoIn: string[] = []): Promise<string | null> {
  for (const dir of [...(process.env.PATH ?? "").split(delimiter), ...alsoIn]) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}
