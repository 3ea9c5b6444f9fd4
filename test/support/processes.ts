/**
 * Child processes for end-to-end tests: test upstreams (upstream-child.ts) and `sluice-agent`
 * (agents/main.ts), run with this Node (24, from the `node` devDependency). Each records its
 * output; tests end only the processes they started, by PID, and `stopAll()` SIGKILLs whatever
 * is left in afterAll.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { childPids } from "../../bench/proc.ts";

const UPSTREAM_CHILD = fileURLToPath(new URL("./upstream-child.ts", import.meta.url));
const AGENT_MAIN = fileURLToPath(new URL("../../agents/main.ts", import.meta.url));

export interface Child {
  process: ChildProcess;
  pid: number;
  /** stdout + stderr lines so far. */
  lines: string[];
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  /** Resolves with the first line matching `pattern`. @throws after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends `signal` to this child's PID. */
  kill(signal: NodeJS.Signals): void;
}

const started: Child[] = [];

/** Wraps `child` as a Child (its output lines, waitFor, exited) and registers it for stopAll(). */
export function track(child: ChildProcess): Child {
  const lines: string[] = [];
  const watchers: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) {
      if (!line) continue;
      lines.push(line);
      for (const w of [...watchers]) {
        if (w.pattern.test(line)) {
          watchers.splice(watchers.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  const tracked: Child = {
    process: child,
    pid: child.pid ?? -1,
    lines,
    exited,
    waitFor(pattern, timeoutMs = 10_000) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${lines.join("\n")}`)),
          timeoutMs,
        );
        watchers.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null) process.kill(tracked.pid, signal);
    },
  };
  started.push(tracked);
  return tracked;
}

/** Starts a test upstream on 127.0.0.1:`port` (0: any); resolves once it listens. */
export async function spawnUpstream(name: string, port = 0): Promise<Child & { port: number }> {
  const child = track(spawn(process.execPath, [UPSTREAM_CHILD, name, String(port)], { stdio: ["ignore", "pipe", "pipe"] }));
  const line = await child.waitFor(/^listening \d+/);
  return Object.assign(child, { port: Number(line.split(" ")[1]) });
}

/** How a test upstream answers from now on (upstream-child.ts, `/__upstream/mode`). */
export interface UpstreamMode {
  /** Wait this long before answering, ms (0: at once). */
  delayMs?: number;
  /** Answer with this status (200: the normal JSON; otherwise `{"upstream", "error": "mode", "status"}`). */
  status?: number;
}

/**
 * Sets a test upstream's fault mode by calling it directly on 127.0.0.1:`port` (not through the
 * gateway); fields left out keep their value. Resolves once the child has applied it.
 */
export async function setUpstreamMode(port: number, mode: UpstreamMode): Promise<void> {
  const query = new URLSearchParams();
  if (mode.delayMs !== undefined) query.set("delay", String(mode.delayMs));
  if (mode.status !== undefined) query.set("status", String(mode.status));
  const res = await fetch(`http://127.0.0.1:${port}/__upstream/mode?${query}`);
  if (res.status !== 200) throw new Error(`upstream on port ${port} refused the mode: ${res.status}`);
  await res.text();
}

/** What a test upstream has answered: its request count and arrival times (ms since epoch). */
export interface UpstreamStats {
  upstream: string;
  count: number;
  arrivals: number[];
}

/** Reads a test upstream's request count and the arrival times at or after `sinceMs`, directly. */
export async function upstreamStats(port: number, sinceMs = 0): Promise<UpstreamStats> {
  const res = await fetch(`http://127.0.0.1:${port}/__upstream/stats?since=${sinceMs}`);
  return (await res.json()) as UpstreamStats;
}

/** Starts `sluice-agent` with `args`; the token goes in through the environment, never argv. */
export function spawnAgent(args: string[], token: string): Child {
  return track(
    spawn(process.execPath, [AGENT_MAIN, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, SLUICE_AGENT_TOKEN: token },
    }),
  );
}

/** Starts `command args` with this process's environment plus `env`, tracked like the others. */
export function spawnTracked(command: string, args: string[], env: Record<string, string> = {}): Child {
  return track(spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } }));
}

/** SIGKILLs every child still running that this module started (afterAll). */
export async function stopAll(): Promise<void> {
  for (const child of started.splice(0)) await killTree(child);
}

/**
 * Stops `child` with SIGTERM and waits up to `graceMs` for it to exit (an agent drains its
 * instances first); SIGKILLs it and its children when it does not.
 */
export async function stopGracefully(child: Child, graceMs = 10_000): Promise<void> {
  child.kill("SIGTERM");
  const late = new Promise<"late">((resolve) => setTimeout(() => resolve("late"), graceMs).unref());
  if ((await Promise.race([child.exited, late])) === "late") await killTree(child);
}

/** SIGKILLs `child` and its own children (an agent's workerd instances, which its death would orphan). */
async function killTree(child: Child): Promise<void> {
  const running = child.process.exitCode === null && child.process.signalCode === null;
  const grandchildren = running ? childPids(child.pid) : [];
  child.kill("SIGKILL");
  await child.exited;
  for (const pid of grandchildren) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}
