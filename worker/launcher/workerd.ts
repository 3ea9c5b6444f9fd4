/**
 * Runs a Worker under self-hosted `workerd serve`, one process per core. workerd runs one
 * request thread per process and sets only SO_REUSEADDR, so a second process cannot bind the
 * same port itself; instead this launcher opens one SO_REUSEPORT listening socket per process
 * and hands each its own with `--socket-fd http=3` (the kernel then spreads connections evenly,
 * unlike one shared fd): a fetch() pass-through went from 5.7k to 9.7k req/s on 2 cores (wrk on
 * loopback, 2026-11-21, this 2-core machine kind).
 *
 * It also supervises them: a process that exits without being told to is logged and started
 * again on a fresh socket of the same port, after a back-off that doubles from 100 ms to 10 s
 * while it keeps crashing (Kubernetes' CrashLoopBackOff, reset after 10 s of running), so a
 * killed process costs capacity for a moment, not for good.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino, { type Logger } from "pino";

/** The workerd binary from the `workerd` npm package (pinned in package.json). */
export const WORKERD_BIN = fileURLToPath(new URL("../../node_modules/.bin/workerd", import.meta.url));

export interface WorkerdLaunch {
  /** Directory holding the config and the modules it embeds. */
  dir: string;
  /** Cap'n Proto config text (worker/launcher/capnp.ts). */
  config: string;
  /** Listening address (default 127.0.0.1); port 0 picks a free one. */
  host?: string;
  port: number;
  /** Processes (default: one per core). */
  processes?: number;
  /** Extra environment for workerd (fromEnvironment bindings). */
  env?: Record<string, string>;
  /** Where workerd's stdout/stderr go (default: inherit). */
  stdio?: "inherit" | "ignore";
  /** Where restarts are reported (default: pino to stdout, name `sluice-launcher`). */
  logger?: Logger;
}

export interface WorkerdCluster {
  /** e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
  /** PIDs of the running workerd processes, one per slot; updated in place when one is restarted. */
  pids: number[];
  /** Processes started again after an unplanned exit, since launch. */
  readonly restarts: number;
  /** Stops supervising; SIGTERM to our own processes, then SIGKILL after 3 s. */
  close(): Promise<void>;
}

/** First wait before starting a crashed process again, ms; doubles per crash in a row. */
export const RESTART_BACKOFF_MIN_MS = 100;
/** Longest wait between restarts, ms. */
export const RESTART_BACKOFF_MAX_MS = 10_000;
/** A process that ran this long before exiting starts its back-off from the minimum again, ms. */
const RESTART_BACKOFF_RESET_MS = 10_000;

/**
 * The wait before restart number `crashesInARow` (1 for the first), ms: 100, 200, 400 … 10 000.
 * @example restartDelayMs(1) // → 100; restartDelayMs(9) // → 10000
 */
export function restartDelayMs(crashesInARow: number): number {
  return Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_MIN_MS * 2 ** Math.max(0, crashesInARow - 1));
}

/** Launches by this process, to name each launch's config file. */
let launches = 0;

/**
 * Writes the config into `dir` (as `config-<pid>-<n>.capnp`, removed by `close()`), starts the
 * processes and waits until the port answers.
 * @throws when a process exits before the port answers, or after 15 s.
 */
export async function launchWorkerd(launch: WorkerdLaunch): Promise<WorkerdCluster> {
  const host = launch.host ?? "127.0.0.1";
  const count = launch.processes ?? availableParallelism();
  // One file per launch: concurrent launches (test files, benchmarks) share `dir`, and a workerd
  // starting while another launch rewrites a shared config.capnp would serve the wrong config.
  launches += 1;
  const configPath = join(launch.dir, `config-${process.pid}-${launches}.capnp`);
  await writeFile(configPath, launch.config, { mode: 0o600 });

  // The first socket fixes the port (port 0 picks one); the others and any restart reuse it.
  let port = launch.port;
  const sockets: net.Server[] = [];
  for (let i = 0; i < count; i++) {
    const server = await listenReusePort(host, port);
    port = (server.address() as net.AddressInfo).port;
    sockets.push(server);
  }
  const logger = launch.logger ?? pino({ name: "sluice-launcher" });
  const spawnOn = (server: net.Server): ChildProcess => {
    // The listening socket's descriptor, inherited by workerd as fd 3.
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    const child = spawn(WORKERD_BIN, ["serve", "--experimental", configPath, "--socket-fd", "http=3"], {
      stdio: ["ignore", launch.stdio ?? "inherit", launch.stdio ?? "inherit", fd],
      env: { ...process.env, ...launch.env },
    });
    // The child holds its own copy; closing ours stops this process from accepting.
    server.close();
    return child;
  };
  const children: ChildProcess[] = sockets.map(spawnOn);

  let closing = false;
  let restarts = 0;
  const pending = new Set<ReturnType<typeof setTimeout>>();
  /** Starts slot `slot` again after the back-off for `crashes` crashes in a row. */
  const restartLater = (slot: number, crashes: number) => {
    const timer = setTimeout(async () => {
      pending.delete(timer);
      if (closing) return;
      try {
        const next = spawnOn(await listenReusePort(host, port));
        children[slot] = next;
        cluster.pids[slot] = next.pid ?? -1;
        restarts += 1;
        logger.info({ pid: next.pid, slot }, "workerd restarted");
        supervise(slot, crashes);
      } catch (error) {
        logger.error({ err: error, slot }, "could not start workerd again; retrying");
        restartLater(slot, crashes + 1);
      }
    }, restartDelayMs(crashes));
    pending.add(timer);
  };
  /** Watches slot `slot`'s process: an exit nobody asked for is logged and restarted. */
  const supervise = (slot: number, crashesInARow: number) => {
    const child = children[slot] as ChildProcess;
    const startedAt = Date.now();
    child.once("exit", (code, signal) => {
      if (closing) return;
      const crashes = Date.now() - startedAt >= RESTART_BACKOFF_RESET_MS ? 1 : crashesInARow + 1;
      logger.warn(
        { pid: child.pid, code, signal, slot, restartInMs: restartDelayMs(crashes) },
        "workerd exited unexpectedly; restarting it",
      );
      restartLater(slot, crashes);
    });
  };

  const cluster: WorkerdCluster = {
    url: `http://${host}:${port}`,
    port,
    pids: children.map((c) => c.pid ?? -1),
    get restarts() {
      return restarts;
    },
    close: async () => {
      closing = true;
      for (const timer of pending) clearTimeout(timer);
      await stopChildren(children);
      await rm(configPath, { force: true });
    },
  };
  try {
    await waitForPort(host, port, children);
  } catch (err) {
    await cluster.close();
    throw err;
  }
  for (let slot = 0; slot < children.length; slot++) supervise(slot, 0);
  return cluster;
}

/** A listening socket on host:port with SO_REUSEPORT, so each process gets its own. */
async function listenReusePort(host: string, port: number): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, reusePort: true, exclusive: true }, () => resolve());
  });
  return server;
}

async function waitForPort(host: string, port: number, children: ChildProcess[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const exited = children.find((c) => c.exitCode !== null || c.signalCode !== null);
    if (exited) throw new Error(`workerd exited early (code ${exited.exitCode}, signal ${exited.signalCode})`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`workerd did not open ${host}:${port} within 15 s`);
}

async function stopChildren(children: ChildProcess[]): Promise<void> {
  await Promise.all(children.map(stopChild));
}

/** SIGTERM to `child` by its PID, SIGKILL after 3 s; resolves once it has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const killTimer = setTimeout(() => child.kill("SIGKILL"), 3000);
    child.once("exit", () => {
      clearTimeout(killTimer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
